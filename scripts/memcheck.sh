#!/usr/bin/env bash
# valgrind memcheck of a quick experiment, one process, no MPI launcher (MPI starts as a singleton): gendec train
# (a few steps, then --resume for a few more), gendec eval (a few images; then one stopped by SIGTERM, which saves
# eval.partial.h5 and exits 75, and its --resume), gendec sample and gendec report, each under
#   valgrind --leak-check=full --error-exitcode=1 --suppressions=tests/reliability/valgrind.supp
# The suppressions cover only memory Open MPI allocates inside MPI_Init/MPI_Finalize. Prints, per command, the
# error count and the definitely / indirectly / possibly lost bytes; exits 1 if any command had an error or a
# leak. Not part of ctest (minutes under valgrind); run once per release.
#   usage: bash scripts/memcheck.sh [BUILD_DIR]      (default: build; the logs stay in a temporary folder)
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
bin="$(cd "${1:-build}" && pwd)/gendec"
[ -x "$bin" ] || { echo "memcheck: no $bin (bash scripts/build.sh first)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/gendec-memcheck.XXXXXX)
source "$src/tests/ts_tiny.sh"
ts_tiny_yaml "$work/ts.yaml" name=memcheck n_train=48 n_val=8 n_test=8 n_test_seen=8 max_steps=4 checkpoint_every=2 \
  log_every=2 more="infer: {steps: 10, refine_steps: 5, restarts: 1, batch: 2}"
vg=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
    --error-exitcode=1 --keep-debuginfo=yes --num-callers=40 --track-origins=yes
    --suppressions="$src/tests/reliability/valgrind.supp")
bad=0
# step NAME ARGS...: one gendec command under valgrind, its log in $work/NAME.vg.
step() {
  local name=$1 rc
  shift
  "${vg[@]}" --log-file="$work/$name.vg" "$bin" "$@" >"$work/$name.out" 2>&1
  rc=$?
  local errors lost
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$work/$name.vg" | tail -1)
  lost=$(for k in definitely indirectly possibly; do
           v=$(sed -n "s/.* $k lost: \([0-9,]*\) bytes.*/\1/p" "$work/$name.vg" | tail -1)
           printf '%s %s, ' "$k" "${v:-0}"
         done)
  printf 'memcheck: %-14s exit %d, errors %s, %sbytes lost\n' "$name" "$rc" "${errors:-?}" "$lost"
  if [ "$rc" -ne 0 ] && { [ "$rc" -ne 75 ] || [ "$name" != eval-stopped ]; }; then
    bad=1
    echo "  see $work/$name.vg and $work/$name.out"
  fi
}
cd "$work"
step train train ts.yaml --out run
step train-resume train ts.yaml --out run --set train.max_steps=6 --resume
step eval eval ts.yaml --out run --results results --n 4
# stopped by SIGTERM once it classifies (its first progress line, after 10 s of classifying), then resumed
step eval-stopped eval ts.yaml --out run --results results --set infer.steps=200 &
pid=$!
for _ in $(seq 1 3000); do grep -q '^eval: ' "$work/eval-stopped.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$(pgrep -n -P $pid)" 2>/dev/null
wait $pid
grep -q 'stopped by a signal after' "$work/eval-stopped.out" || { echo "  eval was not stopped by the signal"; bad=1; }
step eval-resume eval ts.yaml --out run --results results --set infer.steps=200 --resume
step sample sample run/model.h5 -o run/fig2.png
step report report run -o report
if [ $bad = 0 ]; then
  echo "memcheck: clean (valgrind $(valgrind --version | sed 's/valgrind-//'), suppressions: tests/reliability/valgrind.supp)"
  rm -rf "$work"
else
  echo "memcheck: errors or leaks; logs in $work"
fi
exit $bad
