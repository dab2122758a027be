#!/usr/bin/env bash
# SIGTERM and SIGUSR2 during `gendec eval`: the images finished so far are saved in eval.partial.h5, the process
# exits 75 (what the jobs/ templates requeue on), and `--resume` classifies the rest, giving an eval.h5 identical
# (every per-image dataset, bit for bit) to an uninterrupted run's. On 1 rank (SIGTERM to the process) and on
# 2 ranks (SIGUSR2 to mpiexec, which forwards it; SIGTERM to every rank, as Slurm sends it). SIGUSR1 and SIGUSR2
# go through the same handler as SIGTERM. A partial
# evaluation of other options is refused on --resume; without --resume it is ignored and removed at the end.
me=test_eval_signals
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
per_image=(/eval/index /eval/labels /eval/y_star /eval/z_star /eval/y_dec /eval/loss3 /eval/loss2 /eval/steps
           /eval/noise /eval/n_ambiguous /eval/n_candidates /eval_alt/y_dec /eval_alt/loss2 /eval_alt/noise
           /eval_alt/n_candidates /eval_alt/steps)
"$G" train "$T/ts.yaml" --out "$T/run" 2>"$T/train.log" || { cat "$T/train.log"; exit 1; }
# "${EV[@]}" DIR [ARGS]: gendec eval of the experiment with run folder DIR
EV=("$G" eval "$T/ts.yaml" --results "$T/results" --out)
"${EV[@]}" "$T/run" >"$T/straight.log" 2>&1
check "uninterrupted eval exits 0" test $? -eq 0
cp "$T/run/eval.h5" "$T/straight.h5"
count=$(attr "$T/straight.h5" /eval/count)

# interrupted ARGS: an evaluation of run folder $T/$name, signalled by `how` once it is busy classifying.
interrupted() { # name ranks how signal
  local name=$1 n=$2 how=$3 sig=$4
  mkdir -p "$T/$name" && cp "$T/run/model.h5" "$T/$name/"
  signalled "$n" "$how" "$sig" "$T/$name.log" "${EV[@]}" "$T/$name"
  check "$name: SIG$sig -> exit 75 (got $rc)" test "$rc" -eq 75
  check "$name: no eval.h5 from the stopped run" test ! -e "$T/$name/eval.h5"
  check "$name: eval.partial.h5 is complete" test "$(attr "$T/$name/eval.partial.h5" /complete)" = 1
  local done_
  done_=$(attr "$T/$name/eval.partial.h5" /partial/done)
  check "$name: stopped in the middle (${done_:-?} of $count images saved)" test "${done_:-0}" -gt 0 -a "${done_:-$count}" -lt "$count"
  check "$name: the message says how to go on" grep -q 'stopped by a signal after .* (run again with --resume)' "$T/$name.log"
  if [ "$n" = 1 ]; then "${EV[@]}" "$T/$name" --resume >"$T/$name.resume.log" 2>&1; else "${MPI2[@]}" "${EV[@]}" "$T/$name" --resume >"$T/$name.resume.log" 2>&1; fi
  check "$name: --resume exits 0" test $? -eq 0
  check "$name: --resume continued after $done_ images" grep -q "resuming after $done_ of $count images" "$T/$name.resume.log"
  check "$name: stopped + resumed == uninterrupted (every per-image dataset)" same_data "$T/$name/eval.h5" "$T/straight.h5" "${per_image[@]}"
  check "$name: the summary agrees" test "$(attr "$T/$name/eval.h5" /eval/exact_count)" = "$(attr "$T/straight.h5" /eval/exact_count)"
  check "$name: eval.partial.h5 removed" test ! -e "$T/$name/eval.partial.h5"
}
interrupted one_term 1 process TERM
if have_mpi; then
  interrupted two_usr2 2 mpiexec USR2
  interrupted two_term 2 process TERM
fi

# a partial evaluation of other options: refused on --resume, ignored (and removed) without it
mkdir -p "$T/other" && cp "$T/run/model.h5" "$T/other/"
"${EV[@]}" "$T/other" --set infer.steps=300 >"$T/other.log" 2>&1 &
pid=$!
p=$(wait_ranks $pid 1 15 60)
wait_busy "$p" 15 60
kill -TERM $pid
wait_exit $pid 60
check "other options: stopped with 75" test "$rc" -eq 75
"${EV[@]}" "$T/other" --resume >"$T/other.resume.log" 2>&1
check "--resume with other options -> exit 1" test $? -eq 1
check "... naming the partial file and what differs" grep -q 'eval.partial.h5.*a partial evaluation of other images, another model or other options' "$T/other.resume.log"
check "... and no eval.h5" test ! -e "$T/other/eval.h5"
"${EV[@]}" "$T/other" >"$T/other.fresh.log" 2>&1
check "without --resume: a fresh evaluation exits 0" test $? -eq 0
check "... equal to the uninterrupted one" same_data "$T/other/eval.h5" "$T/straight.h5" "${per_image[@]}"
check "... and the stale partial file is gone" test ! -e "$T/other/eval.partial.h5"
finish
