#!/usr/bin/env bash
# SIGKILL of one rank in the middle of a 2-rank `mpiexec -n 2 gendec train`: the run ends by itself (bounded,
# not a hang) with an error naming the killed rank, the last checkpoint is a complete file, `--resume` finishes
# the run, and its final weights and Adam state equal those of an uninterrupted 2-rank run bit for bit.
me=test_train_kill
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
have_mpi || skip "no mpiexec"
steps=400
S=(--set train.max_steps=$steps --set train.checkpoint_every=20)

# the uninterrupted run
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/straight" "${S[@]}" 2>"$T/straight.log"
check "uninterrupted 2-rank run exits 0" test $? -eq 0

# the run that loses a rank: SIGKILL rank 1 once the first checkpoint is on disk
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/k" "${S[@]}" >"$T/k.log" 2>&1 &
pid=$!
wait_until 60 test -e "$T/k/model.h5" || echo "no checkpoint after 60 s"
ranks=($(gendec_pids $pid))
check "2 ranks found" test ${#ranks[@]} -eq 2
killed_at=$(attr "$T/k/model.h5" /train/steps)
kill -KILL "${ranks[1]}"
t0=$SECONDS
wait_exit $pid 60
echo "mpiexec ended $((SECONDS - t0)) s after the kill with exit code $rc"
check "the run ended by itself (no hang)" test "$rc" -ne 124
check "... with a failure exit code" test "$rc" -ne 0
check "... and a message naming the killed process" grep -q -E 'exited on signal 9|Killed' "$T/k.log"
check "the survivor is gone too" test -z "$(for p in "${ranks[@]}"; do alive "$p" && echo "$p"; done)"
done_=$(attr "$T/k/model.h5" /train/done)
at=$(attr "$T/k/model.h5" /train/steps)
check "the kill came before the end (checkpoint at step ${at:-?} of $steps, done=${done_:-?})" \
  test "${done_:-1}" = 0 -a "${at:-0}" -ge "${killed_at:-1}" -a "${at:-$steps}" -lt $steps
check "the checkpoint is a complete file" test "$(attr "$T/k/model.h5" /complete)" = 1

# resume on 2 ranks: the same final weights, bit for bit
"${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/k" "${S[@]}" --resume >"$T/resume.log" 2>&1
check "--resume exits 0" test $? -eq 0
check "--resume reports resuming" grep -q resuming "$T/resume.log"
check "resumed run finished (train/done=1, $steps steps)" \
  test "$(attr "$T/k/model.h5" /train/done)" = 1 -a "$(attr "$T/k/model.h5" /train/steps)" = $steps
check "killed + resumed == uninterrupted (params, adam_m, adam_v bit for bit)" \
  same_weights "$T/k/model.h5" "$T/straight/model.h5"
finish
