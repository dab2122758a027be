#!/usr/bin/env bash
# SIGKILL of one rank in the middle of a 2-rank `mpiexec -n 2 gendec train`: the run ends by itself (bounded,
# not a hang) with an error naming the killed rank, the last checkpoint is a complete file, `--resume` finishes
# the run, and its final weights and Adam state equal those of an uninterrupted 2-rank run bit for bit.
# A run killed before its first checkpoint restarts from step 0 under --resume (what a requeued job does).
me=test_train_kill
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
have_mpi || skip "no mpiexec"
S=(--set train.max_steps=100000 --set train.checkpoint_every=20)

# the run that loses a rank: SIGKILL rank 1 once the first checkpoint is on disk
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/k" "${S[@]}" >"$T/k.log" 2>&1 &
pid=$!
wait_until 60 test -e "$T/k/model.h5" || echo "no checkpoint after 60 s"
ranks=($(gendec_pids $pid))
check "2 ranks found" test ${#ranks[@]} -eq 2
kill -KILL "${ranks[1]}"
t0=$SECONDS
wait_exit $pid 60
echo "mpiexec ended $((SECONDS - t0)) s after the kill with exit code $rc"
check "the run ended by itself (no hang)" test "$rc" -ne 124
check "... with a failure exit code" test "$rc" -ne 0 -a "$rc" -ne 75
check "... and a message naming the killed process" grep -q -E 'rank 1 .*exited on signal 9' "$T/k.log"
check "the survivor is gone too" test -z "$(for p in "${ranks[@]}"; do alive "$p" && echo "$p"; done)"
at=$(attr "$T/k/model.h5" /train/steps)
check "the last checkpoint is complete, of an unfinished run (step ${at:-?})" \
  test "$(attr "$T/k/model.h5" /complete)" = 1 -a "$(attr "$T/k/model.h5" /train/done)" = 0 -a "${at:-0}" -ge 20
end=$((${at:-0} + 30))

# resume on 2 ranks to step at + 30, and an uninterrupted run to the same step: the same bits
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/k" "${S[@]}" --set train.max_steps=$end --resume >"$T/resume.log" 2>&1
check "--resume exits 0" test $? -eq 0
check "--resume reports resuming" grep -q resuming "$T/resume.log"
check "resumed run finished (train/done=1, $end steps)" \
  test "$(attr "$T/k/model.h5" /train/done)" = 1 -a "$(attr "$T/k/model.h5" /train/steps)" = $end
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/straight" "${S[@]}" --set train.max_steps=$end 2>"$T/straight.log"
check "uninterrupted 2-rank run exits 0" test $? -eq 0
check "killed + resumed == uninterrupted (params, adam_m, adam_v bit for bit)" \
  same_weights "$T/k/model.h5" "$T/straight/model.h5"

# killed before the first checkpoint: --resume has nothing to read and starts from step 0
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/early" "${S[@]}" --set train.checkpoint_every=0 >"$T/early.log" 2>&1 &
pid=$!
ranks=($(wait_ranks $pid 2 15 60))
kill -KILL "${ranks[0]}"
wait_exit $pid 60
check "killed before any checkpoint: ended by itself with a failure" test "$rc" -ne 124 -a "$rc" -ne 0
check "... and left no model.h5" test ! -e "$T/early/model.h5"
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/early" "${S[@]}" --set train.max_steps=$end --resume >"$T/early2.log" 2>&1
check "--resume without a checkpoint starts from step 0 and exits 0" test $? -eq 0
check "... saying so" grep -q 'no checkpoint .* yet, starting from step 0' "$T/early2.log"
check "... with the uninterrupted run's weights" same_weights "$T/early/model.h5" "$T/straight/model.h5"
finish
