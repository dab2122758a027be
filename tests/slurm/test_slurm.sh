#!/usr/bin/env bash
# A real single-node Slurm (scripts/slurm-local.sh) runs the jobs/ templates:
#   (a) train.sbatch with 2 tasks: `srun -n 2` (PMIx) runs the MPI test test_mpi_dist, which must see 2 ranks;
#   (b) sweep.sbatch as a 3-task job array, each task with its --slice I --slices 3;
#   (c) report.sbatch depending on both (afterok), which must find their outputs when it runs;
#   (d) `scontrol requeue` of a running job: it runs again with SLURM_RESTART_COUNT=1 and --resume;
#   (e) the preemption warning (SIGUSR1 to the batch shell, what --signal=B:USR1@120 sends) reaches both
#       ranks through srun; the program exits 75, the job requeues itself and resumes with --resume.
# Starts Slurm if it is not running and stops what it started, even on failure. Skipped (77) without the
# Slurm packages or without root. Env: GD_BINARY (the gendec executable), GD_SOURCE_DIR; GD_TEST_KEEP=1 keeps
# the jobs' folder.
set -euo pipefail
me="test_slurm"
source "${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}/tests/slurm/slurm_lib.sh"
mpi_test="$(dirname "$bin")/test_mpi_dist"
[ -x "$mpi_test" ] || fail "$mpi_test is missing (build the tests)"

# fill TEMPLATE OUT KEY=VALUE...: the rules of jobs/README.md (what `gendec submit` does): a line that is only
# @KEY@ becomes VALUE (several lines, or none when VALUE is empty); elsewhere @KEY@ becomes VALUE; an #SBATCH
# line left without a value is dropped.
fill() {
  local template="$1" out="$2" line kv key val
  shift 2
  : >"$out"
  while IFS= read -r line || [ -n "$line" ]; do
    for kv in "$@"; do
      key="${kv%%=*}"
      val="${kv#*=}"
      if [ "$line" = "@$key@" ]; then
        line="$val"
        [ -n "$line" ] || continue 2
        break
      fi
      line="${line//"@$key@"/"$val"}"
    done
    case "$line" in
      "#SBATCH "*= | "#SBATCH" | "#SBATCH ") continue ;;
    esac
    printf '%s\n' "$line" >>"$out"
  done <"$src/jobs/$template"
  if grep -n '@[A-Z_]*@' "$out" >&2; then
    fail "$out: placeholders left unfilled"
  fi
}

common=(PARTITION= ACCOUNT= NODES=1 CPUS_PER_TASK=1 TIME=00:05:00 MEM= "WORKDIR=$work" "SIGNAL=B:USR1@120"
        REQUEUE=--requeue SBATCH_EXTRA= "LAUNCH=srun --mpi=pmix --kill-on-bad-exit=1" 'RESUME=$(gd_job_resume)'
        "GD_JOB_LIB=$(cat "$src/jobs/lib.sh")")

cd "$work"

# The programs the jobs run: a sweep slice, a report, and two that get interrupted.
cat >slice.sh <<'EOF'
#!/bin/bash
echo "task=$SLURM_ARRAY_TASK_ID args=$*" >"slice-out.$SLURM_ARRAY_TASK_ID"
EOF
cat >report.sh <<'EOF'
#!/bin/bash
# Runs only after train and the sweep have ended well: their outputs must already be there.
n=$(ls slice-out.* 2>/dev/null | wc -l)
ranks=$(cat train-*.out | grep -c 'dist/mpi rank [01]: [0-9]* checks, 0 failed')
echo "report slices=$n ranks=$ranks" >report.txt
EOF
cat >requeued.sh <<'EOF'
#!/bin/bash
# First run: waits to be requeued. A restarted run must have --resume.
echo "run restart=${SLURM_RESTART_COUNT:-0} args=$*" >>requeued.log
if [ "${SLURM_RESTART_COUNT:-0}" -eq 0 ]; then
  sleep 60 &
  wait
  exit 1
fi
EOF
cat >preempted.sh <<'EOF'
#!/bin/bash
# Every rank: first run, saves its state on SIGUSR1 and exits 75; restarted run: resumes (needs --resume).
r=${SLURM_PROCID:?}
if [ "${SLURM_RESTART_COUNT:-0}" -eq 0 ]; then
  trap 'echo "rank $r saved" >>preempted.log; exit 75' USR1
  echo "rank $r started" >>preempted.log
  for i in $(seq 1 600); do sleep 0.1; done
  echo "rank $r was never signalled" >>preempted.log
  exit 1
fi
echo "rank $r resumed restart=$SLURM_RESTART_COUNT args=$*" >>preempted.log
EOF
chmod +x ./*.sh

# (a) training template: a 2-rank MPI step.
fill train.sbatch train.sbatch JOB_NAME=gd-test-train NTASKS=2 "OUTPUT=$work/train-%j.out" \
  "COMMAND=$(printf '%q' "$mpi_test")" "${common[@]}"
bash -n train.sbatch || fail "train.sbatch: bash syntax"
# (b) sweep template: 3 array tasks.
fill sweep.sbatch sweep.sbatch JOB_NAME=gd-test-sweep NTASKS=1 ARRAY=0-2 "OUTPUT=$work/sweep-%A_%a.out" \
  "COMMAND=$work/slice.sh" "${common[@]}"
# (c) report template.
fill report.sbatch report.sbatch JOB_NAME=gd-test-report "OUTPUT=$work/report-%j.out" \
  "COMMAND=$work/report.sh" "${common[@]}"

t1=$SECONDS
a=$(submit train.sbatch)
b=$(submit sweep.sbatch)
c=$(submit --dependency="afterok:$a:$b" report.sbatch)
echo "$me: submitted train $a, sweep $b (3 tasks), report $c (afterok:$a:$b)"
wait_done 60 "$a" "$b" "$c"
echo "$me: (a)-(c) done in $((SECONDS - t1)) s"
expect_completed "$a"
expect_completed "$b"
expect_completed "$c"
[ "$(scontrol -o show job "$b" | grep -c 'JobState=COMPLETED')" -eq 3 ] || fail "the array did not run 3 tasks"

out=$(cat "train-$a.out")
grep -q 'dist/mpi rank 0: [0-9]* checks, 0 failed' <<<"$out" || fail "train: rank 0 did not pass: $out"
grep -q 'dist/mpi rank 1: [0-9]* checks, 0 failed' <<<"$out" || fail "train: rank 1 did not pass: $out"
! grep -q 'must run with 2 ranks' <<<"$out" || fail "train: the MPI step did not have 2 ranks: $out"
for i in 0 1 2; do
  [ "$(cat "slice-out.$i" 2>/dev/null)" = "task=$i args=--slice $i --slices 3" ] ||
    fail "array task $i: '$(cat "slice-out.$i" 2>/dev/null)' (expected 'task=$i args=--slice $i --slices 3')"
done
[ "$(cat report.txt 2>/dev/null)" = "report slices=3 ranks=2" ] ||
  fail "report: '$(cat report.txt 2>/dev/null)' (expected 'report slices=3 ranks=2': it ran before its dependencies ended?)"
echo "$me: ok: 2-rank srun step, 3-task array, afterok report"

# (d) scontrol requeue of a running job.
t1=$SECONDS
fill eval.sbatch requeued.sbatch JOB_NAME=gd-test-requeue NTASKS=1 "OUTPUT=$work/requeued-%j.out" \
  "COMMAND=$work/requeued.sh" "${common[@]}"
d=$(submit requeued.sbatch)
wait_file 30 requeued.log '^run restart=0'
scontrol requeue "$d" || fail "scontrol requeue $d failed"
wait_done 60 "$d"
expect_completed "$d"
[ "$(field "$d" Restarts)" = 1 ] || fail "requeue: Restarts=$(field "$d" Restarts), expected 1"
[ "$(cat requeued.log)" = "$(printf 'run restart=0 args=\nrun restart=1 args=--resume')" ] ||
  fail "requeue: the runs were: $(cat requeued.log)"
echo "$me: ok: scontrol requeue -> ran again with SLURM_RESTART_COUNT=1 --resume ($((SECONDS - t1)) s)"

# (e) preemption warning: SIGUSR1 to the batch shell only, as --signal=B:USR1@120 sends it.
t1=$SECONDS
fill train.sbatch preempted.sbatch JOB_NAME=gd-test-preempt NTASKS=2 "OUTPUT=$work/preempted-%j.out" \
  "COMMAND=$work/preempted.sh" "${common[@]}"
e=$(submit preempted.sbatch)
wait_file 30 preempted.log '^rank 0 started'
wait_file 30 preempted.log '^rank 1 started'
scancel --batch --signal=USR1 "$e" || fail "scancel --batch --signal=USR1 $e failed"
wait_done 60 "$e"
expect_completed "$e"
[ "$(field "$e" Restarts)" = 1 ] || fail "preemption: Restarts=$(field "$e" Restarts), expected 1"
for r in 0 1; do
  grep -q "^rank $r saved\$" preempted.log || fail "preemption: rank $r did not get SIGUSR1: $(cat preempted.log)"
  grep -q "^rank $r resumed restart=1 args=--resume\$" preempted.log ||
    fail "preemption: rank $r did not resume: $(cat preempted.log)"
done
grep -q 'requeueing job' "preempted-$e.out" || fail "preemption: the job did not requeue itself"
echo "$me: ok: SIGUSR1 -> both ranks saved (exit 75) -> job requeued itself -> resumed ($((SECONDS - t1)) s)"
echo "$me: all checks passed in $((SECONDS - t0)) s"
