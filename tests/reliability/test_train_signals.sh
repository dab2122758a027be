#!/usr/bin/env bash
# SIGTERM and SIGUSR2 during `gendec train`: a checkpoint is written, the process exits 75 (what the jobs/
# templates requeue on) and `--resume` continues to the same weights and Adam state, bit for bit, as an
# uninterrupted run. On 1 rank (the signal to the process) and on 2 ranks (SIGTERM to every rank, as Slurm sends
# it; SIGUSR2 to mpiexec, which forwards it). (SIGUSR1 on 1 rank: tests/train/test_train_cli.sh.)
me=test_train_signals
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
TR=("$G" train "$T/ts.yaml" --set train.checkpoint_every=0 --out)

# stopped NAME RANKS HOW SIGNAL: a long run signalled once it trains, resumed to 30 steps past the stop and
# compared with an uninterrupted run of as many steps.
stopped() {
  local name=$1 n=$2 how=$3 sig=$4 launch=()
  [ "$n" = 2 ] && launch=("${MPI2[@]}")
  signalled "$n" "$how" "$sig" "$T/$name.log" "${TR[@]}" "$T/$name" --set train.max_steps=1000000
  check "$name: SIG$sig -> exit 75 (got $rc)" test "$rc" -eq 75
  local at
  at=$(attr "$T/$name/model.h5" /train/steps)
  check "$name: checkpoint written (complete, done=0, step ${at:-?})" \
    test "$(attr "$T/$name/model.h5" /complete)" = 1 -a "$(attr "$T/$name/model.h5" /train/done)" = 0 -a "${at:-0}" -gt 0
  check "$name: the message says how to go on" grep -q 'stopped on request after step .*--resume' "$T/$name.log"
  local end=$((${at:-0} + 30))
  "${launch[@]}" "${TR[@]}" "$T/$name" --set train.max_steps=$end --resume >"$T/$name.resume.log" 2>&1
  check "$name: --resume exits 0" test $? -eq 0
  "${launch[@]}" "${TR[@]}" "$T/$name.straight" --set train.max_steps=$end >"$T/$name.straight.log" 2>&1
  check "$name: stopped + resumed == uninterrupted ($end steps, bit for bit)" \
    same_weights "$T/$name/model.h5" "$T/$name.straight/model.h5"
  check "$name: same per-epoch losses" same_data "$T/$name/model.h5" "$T/$name.straight/model.h5" /train/epoch_metrics
}
stopped one_term 1 process TERM
stopped one_usr2 1 process USR2
if have_mpi; then
  stopped two_term 2 process TERM
  stopped two_usr2 2 mpiexec USR2
fi
finish
