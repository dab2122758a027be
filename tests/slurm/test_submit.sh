#!/usr/bin/env bash
# `gendec submit` end to end on a real single-node Slurm (scripts/slurm-local.sh): the quick traffic-sign
# experiment with a 2-point sweep grid, 2 MPI tasks per stage. Checks that every job completes, that each
# stage starts only after the stages it depends on have ended, that the MPI stages run as 2-rank MPI steps,
# that the sweep array runs each slice once, and that the stages get <run>/config.yaml (which gendec accepts).
#
# The pre-flight stage runs the real `gendec version --mpi`. The other stage commands (gendec data prepare,
# train, sweep, eval, attack, report) are not all on main yet: the jobs run them through a stand-in
# executable (--gendec) that logs the command line and then runs `gendec version --mpi` (a real MPI step)
# in its place; it says its sweep takes --slice (so that the sweep is a job array) and that every stage takes
# --resume. A stage listed in real_stages runs the real gendec instead; add each stage there once its
# command exists and takes the arguments `gendec submit --help` lists.
set -euo pipefail
me="test_submit"
real_stages="check"
source "${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}/tests/slurm/slurm_lib.sh"

cd "$work"
run="$work/run"
log="$work/stages.log"

# The stand-in: the stage name from the command line, a log line at start and at end per rank.
cat >gendec-stages <<EOF
#!/bin/bash
real=$(printf '%q' "$bin")
log=$(printf '%q' "$log")
real_stages="$real_stages"
EOF
cat >>gendec-stages <<'EOF'
# gendec submit asks (--help) whether the sweep runs one slice per array task and which stages take --resume.
if [ "${!#}" = --help ]; then echo "  --slice I --slices N  --resume"; exit 0; fi
case "$1" in
  version) stage=check ;;
  data | attack) stage="$2" ;;
  train) stage=train; for a in "$@"; do [ "$a" = cnn ] && stage=cnn; done ;;
  *) stage="$1" ;;
esac
[ "$stage" = prepare ] && stage=data
for s in $real_stages; do [ "$s" = "$stage" ] && exec "$real" "$@"; done
rank=${SLURM_PROCID:-0}
echo "$(date +%s.%N) start $stage rank=$rank task=${SLURM_ARRAY_TASK_ID:--} args=$*" >>"$log"
rc=0 world=-
# In an MPI step (srun), a real MPI program in the stage's place: rank 0 notes the world size it sees.
if [ -n "${SLURM_STEP_ID:-}" ]; then
  out=$("$real" version --mpi) || rc=$?
  world=$(sed -n 's/.*MPI world: \([0-9]*\) rank.*/\1/p' <<<"$out")
fi
echo "$(date +%s.%N) end $stage rank=$rank task=${SLURM_ARRAY_TASK_ID:--} world=${world:--} rc=$rc" >>"$log"
exit $rc
EOF
chmod +x gendec-stages

t1=$SECONDS
plan=$("$bin" submit "$src/experiments/traffic_signs.yaml" --set scale=quick --out "$run" \
  --set 'sweep.beta=[5, 7]' --set 'sweep.c=[0.01]' --set slurm.tasks=2 --set slurm.nodes=1 \
  --set slurm.time=00:05:00 --gendec "$work/gendec-stages") || fail "gendec submit failed"
echo "$plan"
tsv="$run/jobs/submitted.tsv"
[ -s "$tsv" ] || fail "no $tsv"
mapfile -t ids < <(grep -v '^#' "$tsv" | cut -f2)
jobs_submitted+=("${ids[@]}")
stages=$(grep -v '^#' "$tsv" | cut -f1 | tr '\n' ' ')
[ "$stages" = "check data train cnn eval sweep report " ] || fail "submitted stages: '$stages'"
wait_done 120 "${ids[@]}"
echo "$me: all jobs ended $((SECONDS - t1)) s after submission"
for id in "${ids[@]}"; do expect_completed "$id"; done

# The pre-flight MPI step (real gendec).
check_log=$(cat "$run"/logs/check-*.out)
grep -q 'MPI world: 2 ranks on 1 node' <<<"$check_log" || fail "check: no 2-rank MPI world in its log: $check_log"

# Every MPI stage ran on 2 ranks; data and report on one process; the sweep's slices once each.
count() { grep -c -E "$1" "$log" || true; }
for s in train cnn eval; do
  [ "$(count " start $s rank=[01] ")" = 2 ] || fail "$s: expected 2 ranks, log: $(grep " $s " "$log")"
  [ "$(count " end $s rank=[01] .* rc=0$")" = 2 ] || fail "$s: the MPI step in its place failed: $(grep " $s " "$log")"
  [ "$(count " end $s rank=0 .* world=2 rc=0$")" = 1 ] || fail "$s: MPI did not see 2 ranks: $(grep " $s " "$log")"
done
for s in data report; do
  [ "$(count " start $s rank=0 ")" = 1 ] || fail "$s: expected one process, log: $(grep " $s " "$log")"
done
for i in 0 1; do
  [ "$(count " start sweep rank=[01] task=$i args=.* --slice $i --slices 2$")" = 2 ] ||
    fail "sweep slice $i: $(grep ' sweep ' "$log")"
done
[ "$(count ' start sweep ')" = 4 ] || fail "sweep: expected 2 slices x 2 ranks: $(grep ' sweep ' "$log")"

# The command lines: <run>/config.yaml --out <run> (the report: <run>), and the frozen config is valid.
grep -q " start train rank=0 task=- args=train $run/config.yaml --out $run\$" "$log" || fail "train args: $(grep ' start train' "$log")"
grep -q '^gd_job_run srun .* --out [^ ]* $(gd_job_resume)$' "$run/jobs/train.sbatch" || fail "train.sbatch: no resume"
grep -q " start cnn rank=0 task=- args=train $run/config.yaml --model cnn --out $run\$" "$log" || fail "cnn args"
cache="$work/results/traffic_signs/data-$("$bin" config "$run/config.yaml" --hash seed,data).h5"
grep -q " start data rank=0 task=- args=data prepare $run/config.yaml -o $cache\$" "$log" || fail "data args: $(grep ' start data' "$log")"
grep -q " start report rank=0 task=- args=report $run\$" "$log" || fail "report args: $(grep ' report ' "$log")"
"$bin" config "$run/config.yaml" >/dev/null || fail "gendec config rejects the frozen $run/config.yaml"

# Dependencies: a stage starts after every stage it waits for has ended.
first_start() { grep " start $1 " "$log" | cut -d' ' -f1 | sort -n | head -1; }
last_end() { grep " end $1 " "$log" | cut -d' ' -f1 | sort -n | tail -1; }
before() { # before A B: every A ended before B started
  local a b
  a=$(last_end "$1")
  b=$(first_start "$2")
  [ -n "$a" ] && [ -n "$b" ] || fail "no log of $1 or $2"
  awk -v a="$a" -v b="$b" 'BEGIN { exit !(a <= b) }' || fail "$2 started ($b) before $1 ended ($a)"
}
check_end=$(stat -c %Y "$(ls "$run"/logs/check-*.out)")
before data train
before data cnn
before train eval
before cnn eval
before train sweep
before eval report
before sweep report
awk -v a="$check_end" -v b="$(first_start train)" 'BEGIN { exit !(a <= b + 1) }' ||
  fail "train started before the pre-flight check ended"
echo "$me: ok: 7 stages, dependencies kept, 2-rank MPI steps, 2-slice sweep array ($((SECONDS - t1)) s)"
