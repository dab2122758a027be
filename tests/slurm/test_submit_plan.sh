#!/usr/bin/env bash
# `gendec submit` without a cluster: the plan and scripts of --dry-run (stages chosen from the experiment,
# #SBATCH values from slurm.*, arrays, launchers, no placeholder left, valid bash, nothing written), its
# errors, --templates, and a submission through a stand-in sbatch on PATH that records its arguments and
# prints job ids: dependencies carry the real ids, submitted.tsv and the frozen config.yaml are written, the
# default run folder is results/<name>/<hash of the result sections>, and a refused sbatch stops the chain.
# Env: GD_BINARY, GD_SOURCE_DIR.
set -euo pipefail
bin="${GD_BINARY:?set GD_BINARY to the gendec executable}"
src="${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}"
me=test_submit_plan
fail() {
  echo "$me: FAIL: $*" >&2
  exit 1
}
work=$(mktemp -d /tmp/gendec-submit-plan.XXXXXX)
trap 'rc=$?; if [ $rc -eq 0 ]; then rm -rf "$work"; else echo "$me: files in $work" >&2; fi' EXIT
cd "$work"
exp="$src/experiments/traffic_signs.yaml"

# stages OUTPUT: the stage column of the plan.
stages() { awk '/^  stage /{f=1; next} f && /^  [a-z]+ /{print $1} /^$/{f=0}' <<<"$1" | tr '\n' ' '; }
# script OUTPUT STAGE: that stage's script from the dry-run output.
script() { awk -v s="/jobs/$2.sbatch <==" 'index($0, "==> ") == 1 {f = index($0, s) > 0; next} f' <<<"$1"; }
# has TEXT LINE: TEXT has exactly this line.
has() { grep -qxF -- "$2" <<<"$1" || fail "no line '$2' in: $(head -30 <<<"$1")"; }
hasnt() { ! grep -qF -- "$2" <<<"$1" || fail "unexpected '$2'"; }

# res WORDS...: what the scripts append for a restart: " $(gd_job_resume)" when `gendec WORDS --help` offers
# --resume (train, eval, ... as they are in this build), else nothing.
res() { if "$bin" "$@" --help 2>/dev/null | grep -q -- --resume; then echo ' $(gd_job_resume)'; fi; }

# 1. The default stages of the traffic-sign experiment (no sweep grid, no attack keys); nothing written.
out=$("$bin" submit "$exp" --set scale=quick --dry-run --out "$work/run1")
[ "$(stages "$out")" = "check data train cnn eval report " ] || fail "stages: '$(stages "$out")'"
[ ! -e "$work/run1" ] || fail "--dry-run wrote $work/run1"
for s in check data train cnn eval report; do
  t=$(script "$out" "$s")
  [ -n "$t" ] || fail "no script for $s"
  bash -n <<<"$t" || fail "$s: bash syntax"
  ! grep -n '@[A-Z_]*@' <<<"$t" || fail "$s: placeholder left"
  grep -q '^gd_job_run() {' <<<"$t" || fail "$s: jobs/lib.sh not inlined"
done
t=$(script "$out" train)
has "$t" "#SBATCH --ntasks=2"
has "$t" "#SBATCH --time=01:00:00"
has "$t" "#SBATCH --requeue"
has "$t" "#SBATCH --signal=B:USR1@120"
has "$t" "#SBATCH --job-name=gd-traffic_signs-train"
has "$t" "#SBATCH --chdir=$work"
has "$t" "#SBATCH --output=$work/run1/logs/train-%j.out"
has "$t" "gd_job_run srun --mpi=\"\${SLURM_MPI_TYPE:-pmix}\" --kill-on-bad-exit=1 $bin train $work/run1/config.yaml --out $work/run1$(res train)"
hasnt "$t" "#SBATCH --partition"
hasnt "$t" "#SBATCH --account"
hasnt "$t" "#SBATCH --mem"
t=$(script "$out" report)
has "$t" "#SBATCH --ntasks=1"
has "$t" "gd_job_run $bin report $work/run1"
has "$(script "$out" check)" "#SBATCH --time=00:05:00"
has "$(script "$out" cnn)" "gd_job_run srun --mpi=\"\${SLURM_MPI_TYPE:-pmix}\" --kill-on-bad-exit=1 $bin train $work/run1/config.yaml --model cnn --out $work/run1$(res train)"
data_hash=$("$bin" config "$exp" --set scale=quick --hash seed,data)
has "$(script "$out" data)" "gd_job_run $bin data prepare $work/run1/config.yaml -o $work/results/traffic_signs/data-$data_hash.h5"
grep -q '^  report  -   afterany:check:data:train:cnn:eval .* gendec report <run>$' <<<"$out" || fail "report line: $out"
grep -q '^  eval    -   afterok:check:data:train ' <<<"$out" || fail "eval line: $out"

# 2. A sweep grid (2 x 3 points: an array of 6, at most 2 at once, since this executable's sweep offers --slice;
# and every stage offers --resume),
# experiment.stages, every slurm.* key.
printf '#!/bin/bash\nif [ "${!#}" = --help ]; then echo "  --slice I --slices N  --resume"; exit 0; fi\nexec %q "$@"\n' \
  "$bin" >gendec-slices
chmod +x gendec-slices
sl="$work/gendec-slices"
out=$("$bin" submit "$exp" --set scale=quick --dry-run --out "$work/run2" --set 'sweep.beta=[5, 7]' --gendec "$sl" \
  --set 'sweep.c=[0.001, 0.01, 0.1]' --set 'sweep.l=[0.1, 0.2]' --set slurm.array_parallel=2 \
  --set slurm.partition=batch --set slurm.account=proj1 --set slurm.mem=4G --set slurm.nodes=2 \
  --set slurm.tasks=8 --set slurm.cpus_per_task=3 --set slurm.time=1-02:00:00 --set slurm.signal_seconds=300 \
  --set 'slurm.extra_args=[--qos=short, --constraint=avx2]' --data-dir /srv/data \
  --set 'experiment.stages=[data, train, cnn, eval, sweep, fgm, report]')
[ "$(stages "$out")" = "check data train cnn sweep eval fgm report " ] || fail "stages: '$(stages "$out")'"
t=$(script "$out" sweep)
has "$t" "#SBATCH --array=0-5%2"
has "$t" "#SBATCH --output=$work/run2/logs/sweep-%A_%a.out"
for l in "--partition=batch" "--account=proj1" "--mem=4G" "--nodes=2" "--ntasks=8" "--cpus-per-task=3" \
  "--time=1-02:00:00" "--signal=B:USR1@300" "--qos=short" "--constraint=avx2"; do
  has "$t" "#SBATCH $l"
done
grep -q -- '--slice "${SLURM_ARRAY_TASK_ID:?not a job array task}" --slices "${SLURM_ARRAY_TASK_COUNT:?}" $(gd_job_resume)$' <<<"$t" ||
  fail "sweep: no --slice/--slices"
t=$(script "$out" data)
has "$t" "#SBATCH --nodes=1"
has "$t" "#SBATCH --ntasks=1"
has "$t" "#SBATCH --cpus-per-task=3"
has "$(script "$out" fgm)" "gd_job_run srun --mpi=\"\${SLURM_MPI_TYPE:-pmix}\" --kill-on-bad-exit=1 $sl attack fgm $work/run2/config.yaml --out $work/run2 \$(gd_job_resume)"
grep -q -- "data prepare $work/run2/config.yaml -o .* --data-dir /srv/data" <<<"$(script "$out" data)" || fail "data: no --data-dir"
grep -q '^  sweep   -   afterok:check:data:train ' <<<"$out" || fail "sweep waits for check, data, train: $out"
grep -q '^  eval    -   afterok:check:data:train:sweep ' <<<"$out" || fail "eval waits for the sweep too: $out"
grep -q '^  fgm     -   afterok:check:data:train:cnn:sweep ' <<<"$out" || fail "fgm waits for check, data, train, cnn, sweep (it takes the best point): $out"
grep -q '^  report  -   afterany:check:data:train:cnn:sweep:eval:fgm ' <<<"$out" || fail "report: $out"

# 3. No warning signal, no requeue, mpiexec; --only and --skip.
out=$("$bin" submit "$exp" --dry-run --out "$work/run3" --set slurm.signal_seconds=0 --set slurm.requeue=false \
  --set slurm.launcher=mpiexec --only train,eval,report --skip report)
[ "$(stages "$out")" = "train eval " ] || fail "--only/--skip: '$(stages "$out")'"
t=$(script "$out" train)
hasnt "$t" "#SBATCH --signal"
has "$t" "#SBATCH --no-requeue"
has "$t" "gd_job_run mpiexec $bin train $work/run3/config.yaml --out $work/run3$(res train)"
grep -q '^  train   -   -  ' <<<"$out" || fail "train alone waits for nothing: $out"
grep -q '^  eval    -   afterok:train ' <<<"$out" || fail "eval waits for the train job of the same submission: $out"

# 4. Errors.
expect_error() { # expect_error CODE PATTERN ARGS...
  local code="$1" pat="$2" rc=0 msg
  shift 2
  msg=$("$bin" submit "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$code" ] || fail "gendec submit $*: exit $rc, expected $code ($msg)"
  grep -q -- "$pat" <<<"$msg" || fail "gendec submit $*: '$msg' lacks '$pat'"
}
expect_error 2 "name an experiment file"
expect_error 2 "unknown option '--bogus'" "$exp" --bogus
expect_error 1 "'bogus' is not a stage" "$exp" --dry-run --only train,bogus
expect_error 1 "slurm.tasks: 0 is out of range" "$exp" --dry-run --set slurm.tasks=0
expect_error 1 "slurm.launcher" "$exp" --dry-run --set slurm.launcher=ssh
expect_error 1 "cannot go into #SBATCH lines" "$exp" --dry-run --out "$work/with space"
mkdir -p tpl
printf '#!/bin/bash\n#SBATCH --job-name=@JOB_NAME@\necho @BOGUS@\n' >tpl/train.sbatch
expect_error 1 "tpl/train.sbatch:3:6: unknown placeholder @BOGUS@" "$exp" --dry-run --templates tpl

# A sweep without a grid (named by --only) is an array of one task; with an executable whose sweep takes no
# --slice (this build, for now), one MPI job for the whole grid, said in the plan.
has "$(script "$("$bin" submit "$exp" --dry-run --only sweep --gendec "$sl")" sweep)" "#SBATCH --array=0-0"
out=$("$bin" submit "$exp" --dry-run --only sweep --set 'sweep.c=[0.1, 0.2]')
if "$bin" sweep --help | grep -q -- --slice; then
  has "$(script "$out" sweep)" "#SBATCH --array=0-1"
else
  hasnt "$(script "$out" sweep)" "#SBATCH --array"
  grep -q 'one job for the whole grid: this gendec sweep takes no --slice' <<<"$out" || fail "no note: $out"
  last=$(script "$out" sweep | tail -1)
  [[ "$last" == *" --out $(sed -n 's/.*run folder //p' <<<"$out")$(res sweep)" ]] || fail "single sweep job: $last"
  grep -q "^gd_job_run srun .* sweep $work/results/.*/config.yaml --out $work/results/" \
    <<<"$(script "$out" sweep)" || fail "single sweep job: $(script "$out" sweep | tail -2)"
fi

# 5. --templates: a template found in the folder replaces the built-in one; the others stay built in.
printf '#!/bin/bash\n#SBATCH --job-name=@JOB_NAME@\n#SBATCH --partition=@PARTITION@\n@GD_JOB_LIB@\n# site template\ngd_job_run @LAUNCH@ @COMMAND@\n' >tpl/train.sbatch
out=$("$bin" submit "$exp" --dry-run --out "$work/run5" --templates tpl)
t=$(script "$out" train)
has "$t" "# site template"
hasnt "$t" "#SBATCH --partition"
has "$(script "$out" eval)" "#SBATCH --open-mode=append"

# 6. A submission through a stand-in sbatch: ids 101, 102, ... in order.
mkdir -p bin
cat >bin/sbatch <<EOF
#!/bin/bash
n=\$(cat $work/next 2>/dev/null || echo 101)
echo \$((n + 1)) >$work/next
echo "\$n \$*" >>$work/sbatch.log
[ -n "\${FAIL_AT:-}" ] && [ "\$n" = "\$FAIL_AT" ] && { echo "sbatch: error: Batch job submission failed" >&2; exit 1; }
[ -r "\${@: -1}" ] || { echo "sbatch: error: no script" >&2; exit 1; }
echo "\$n;cluster"
EOF
chmod +x bin/sbatch
hash=$("$bin" config "$exp" --set scale=quick --set 'sweep.c=[0.01, 0.1]' --hash seed,data,model,cnn,train,infer,sweep,attack)
out=$(PATH="$work/bin:$PATH" "$bin" submit "$exp" --set scale=quick --set 'sweep.c=[0.01, 0.1]' --gendec "$sl")
run="$work/results/traffic_signs/$hash"
grep -q "run folder $run\$" <<<"$out" || fail "default run folder is not $run: $out"
tsv="$run/jobs/submitted.tsv"
[ "$(grep -v '^#' "$tsv" | cut -f1,2,3 | tr '\t' ' ' | tr '\n' '|')" = \
  "check 101 |data 102 |train 103 afterok:101:102|cnn 104 afterok:101:102|sweep 105 afterok:101:102:103|eval 106 afterok:101:102:103:105|report 107 afterany:101:102:103:104:105:106|" ] ||
  fail "submitted.tsv: $(cat "$tsv")"
grep -q "^# .* gendec submit $exp --set scale=quick --set 'sweep.c=\[0.01, 0.1\]' --gendec $sl\$" "$tsv" ||
  fail "tsv header: $(head -1 "$tsv")"
grep -qx "103 --parsable --dependency=afterok:101:102 --kill-on-invalid-dep=yes $run/jobs/train.sbatch" sbatch.log ||
  fail "sbatch arguments: $(cat sbatch.log)"
grep -qx "107 --parsable --dependency=afterany:101:102:103:104:105:106 $run/jobs/report.sbatch" sbatch.log ||
  fail "report: $(cat sbatch.log)"
grep -qx "101 --parsable $run/jobs/check.sbatch" sbatch.log || fail "check: $(cat sbatch.log)"
for s in check data train cnn eval sweep report; do
  [ -x "$run/jobs/$s.sbatch" ] || fail "$run/jobs/$s.sbatch is not an executable file"
  bash -n "$run/jobs/$s.sbatch" || fail "$s.sbatch: bash syntax"
done
grep -q '^#SBATCH --array=0-1$' "$run/jobs/sweep.sbatch" || fail "sweep array: $(grep array "$run/jobs/sweep.sbatch")"
[ -d "$run/logs" ] || fail "no logs folder"
# The frozen config resolves to the same values (same hash of every section), scale and all.
[ "$("$bin" config "$run/config.yaml" --hash seed,data,model,cnn,train,infer,sweep,attack)" = "$hash" ] ||
  fail "config.yaml does not reproduce the submitted configuration"
[ "$("$bin" config "$run/config.yaml" --show)" = \
  "$("$bin" config "$exp" --set scale=quick --set 'sweep.c=[0.01, 0.1]' --show)" ] || fail "config.yaml differs"
# Submitting again appends a second block.
PATH="$work/bin:$PATH" "$bin" submit "$exp" --set scale=quick --set 'sweep.c=[0.01, 0.1]' --only eval --gendec "$sl" \
  >/dev/null
[ "$(grep -c '^#' "$tsv")" = 2 ] && [ "$(tail -1 "$tsv" | cut -f1,2,3)" = "$(printf 'eval\t108\t')" ] ||
  fail "second submission: $(cat "$tsv")"

# 7. sbatch refuses the third job: exit 1 naming the stage; the first two are recorded and reported.
rm -f next sbatch.log
rc=0
msg=$(FAIL_AT=103 PATH="$work/bin:$PATH" "$bin" submit "$exp" --out "$work/run7" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "refused sbatch: exit $rc"
grep -q "sbatch refused the train job" <<<"$msg" || fail "refused sbatch: $msg"
grep -q "submitted before the failure: check=101 data=102" <<<"$msg" || fail "refused sbatch: $msg"
[ "$(grep -v '^#' "$work/run7/jobs/submitted.tsv" | cut -f1 | tr '\n' ' ')" = "check data " ] ||
  fail "refused sbatch: $(cat "$work/run7/jobs/submitted.tsv")"

# 8. No sbatch at all: a clear error.
rc=0
msg=$(PATH=/nonexistent "$bin" submit "$exp" --out "$work/run8" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "cannot run sbatch" <<<"$msg" || fail "no sbatch: exit $rc: $msg"
echo "$me: all checks passed"
