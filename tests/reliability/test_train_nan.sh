#!/usr/bin/env bash
# A non-finite loss (train.lr = 10, the largest the config accepts, diverges at once): training stops with
# exit 1 and an error naming the step, the last good checkpoint is kept (complete, finite weights, its step <= the failing step), a finished model of an earlier
# run is never replaced by a diverged one, and on 2 ranks both stop together (no hang).
me=test_train_nan
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
finite() { ! h5dump -d /ckpt/params "$1" | grep -q -i -E 'nan|inf'; }

# a good run of 30 steps, then continued with an absurd learning rate, a checkpoint every step
"$G" train "$T/ts.yaml" --out "$T/a" --set train.max_steps=30 2>"$T/a.log"
check "good run exits 0" test $? -eq 0
"$G" train "$T/ts.yaml" --out "$T/a" --set train.max_steps=200 --set train.lr=10 --set train.checkpoint_every=1 \
  --resume >"$T/nan.log" 2>&1
rc=$?
check "diverged run -> exit 1 (got $rc)" test $rc -eq 1
step=$(sed -n 's/.*non-finite loss at step \([0-9]*\).*/\1/p' "$T/nan.log" | head -1)
check "the error names the step (${step:-none})" test -n "$step"
check "... and what to do" grep -q 'lower the learning rate' "$T/nan.log"
at=$(attr "$T/a/model.h5" /train/steps)
check "the last good checkpoint is kept (step ${at:-?} <= ${step:-?}, done=0, complete)" \
  test -n "$step" -a "${at:-999}" -le "${step:-0}" -a "${at:-0}" -ge 30 -a "$(attr "$T/a/model.h5" /train/done)" = 0 \
  -a "$(attr "$T/a/model.h5" /complete)" = 1
check "... with finite weights" finite "$T/a/model.h5"
check "no temporary file left" test -z "$(ls "$T/a" | grep '\.tmp')"

# a finished model is not replaced by a run that diverges before its first checkpoint
"$G" train "$T/ts.yaml" --out "$T/b" --set train.max_steps=30 2>/dev/null
sum=$(md5sum <"$T/b/model.h5")
"$G" train "$T/ts.yaml" --out "$T/b" --set train.max_steps=200 --set train.lr=10 >"$T/nan2.log" 2>&1
check "fresh diverged run -> exit 1" test $? -eq 1
check "... naming the step" grep -q 'non-finite loss at step [0-9]' "$T/nan2.log"
check "the finished model.h5 is untouched" test "$(md5sum <"$T/b/model.h5")" = "$sum"

# 2 ranks: both see the non-finite loss at the same step and stop together
if have_mpi; then
  "${MPI2[@]}" "$G" train "$T/ts.yaml" --out "$T/c" --set train.max_steps=200 --set train.lr=10 >"$T/nan3.log" 2>&1 &
  pid=$!
  wait_exit $pid 60
  check "2 ranks: ended by itself with exit 1 (got $rc)" test "$rc" -eq 1
  check "... naming the step" grep -q 'non-finite loss at step [0-9]' "$T/nan3.log"
fi
finish
