#!/usr/bin/env bash
# A training job requeued by the real (local, single-node) Slurm while it runs: `gendec submit --only train`
# submits the train stage (jobs/ templates, 2 MPI tasks through srun); once its first checkpoint is on disk,
# `scontrol requeue` stops it (Slurm sends SIGTERM: gendec saves a checkpoint and exits 75), Slurm runs it again
# with SLURM_RESTART_COUNT=1 and the template passes --resume; the job completes, and model.h5 equals, bit for
# bit, that of an uninterrupted 2-rank run. Skipped (77) without the Slurm packages or root.
set -euo pipefail
me="test_slurm_requeue"
source "${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}/tests/slurm/slurm_lib.sh"
set +e
command -v h5dump >/dev/null || skip "h5dump (hdf5-tools) is needed"
export OPENBLAS_NUM_THREADS=1
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1; }
same() { # FILE_A FILE_B DATASET...: the same bytes
  local a=$1 b=$2 d
  shift 2
  for d in "$@"; do
    h5dump -d "$d" -b LE -o "$work/a.bin" "$a" >/dev/null 2>&1 && h5dump -d "$d" -b LE -o "$work/b.bin" "$b" >/dev/null 2>&1 &&
      [ -s "$work/a.bin" ] && cmp -s "$work/a.bin" "$work/b.bin" || { echo "$d differs between $a and $b" >&2; return 1; }
  done
}
cd "$work"
source "$GD_SOURCE_DIR/tests/ts_tiny.sh"
ts_tiny_yaml ts.yaml name=ts_requeue max_steps=600 checkpoint_every=40 log_every=20
run="$work/run"
"$bin" submit ts.yaml --only train --out "$run" --set slurm.tasks=2 --set slurm.nodes=1 --set slurm.time=00:05:00 \
  >submit.log 2>&1 || { cat submit.log >&2; fail "gendec submit failed"; }
job=$(grep -v '^#' "$run/jobs/submitted.tsv" | awk '$1 == "train" { print $2 }')
[ -n "$job" ] || fail "no train job in $run/jobs/submitted.tsv: $(cat "$run/jobs/submitted.tsv")"
jobs_submitted+=("$job")
grep -q -- '--requeue' "$run/jobs/train.sbatch" || fail "the train job is not requeueable: $run/jobs/train.sbatch"
echo "$me: submitted train job $job"

# requeue it once the first checkpoint is written and before it is done
t=$SECONDS
until [ -e "$run/model.h5" ]; do
  [ $((SECONDS - t)) -lt 120 ] || { squeue >&2; cat "$run"/logs/* >&2; fail "no checkpoint after 120 s"; }
  state=$(field "$job" JobState)
  case "$state" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
      cat "$run"/logs/* >&2
      fail "job $job is $state before its first checkpoint" ;;
  esac
  sleep 0.1
done
scontrol requeue "$job" || fail "scontrol requeue $job failed"
echo "$me: requeued job $job at checkpoint step $(attr "$run/model.h5" /train/steps)"
wait_done 240 "$job"
expect_completed "$job"
[ "$(field "$job" Restarts)" = 1 ] || fail "Restarts=$(field "$job" Restarts), expected 1"
log=$(cat "$run"/logs/train-*.out)
grep -q 'exit 75' <<<"$log" || fail "the first run did not save and exit 75: $log"
grep -q -- 'train .*--resume' <<<"$log" || fail "the restarted run had no --resume: $log"
grep -q 'resuming' <<<"$log" || fail "the restarted run did not resume from the checkpoint: $log"
[ "$(attr "$run/model.h5" /train/done)" = 1 ] && [ "$(attr "$run/model.h5" /train/steps)" = 600 ] ||
  fail "model.h5: done=$(attr "$run/model.h5" /train/done) steps=$(attr "$run/model.h5" /train/steps)"

# the uninterrupted 2-rank run
"${GD_MPIEXEC:-mpiexec}" --allow-run-as-root --oversubscribe -n 2 "$bin" train "$run/config.yaml" --out "$work/straight" \
  2>straight.log || { cat straight.log >&2; fail "the uninterrupted run failed"; }
same "$run/model.h5" "$work/straight/model.h5" /ckpt/params /ckpt/adam_m /ckpt/adam_v /train/epoch_metrics ||
  fail "requeued + resumed job != uninterrupted run"
echo "$me: ok: requeued job resumed and completed with the uninterrupted run's weights, bit for bit ($((SECONDS - t0)) s)"
