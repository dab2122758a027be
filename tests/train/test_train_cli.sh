#!/usr/bin/env bash
# gendec train / sample end to end on a tiny generated traffic-sign set: a run writes model.h5; SIGUSR1 stops a
# run with exit 75 and a checkpoint, --resume finishes it with the same weights as a straight run (bitwise);
# --resume before any checkpoint exists (a job requeued early) starts from step 0;
# 2 ranks under mpiexec; the CNN through the same command; bad configs and checkpoints fail clearly without
# overwriting anything; gendec sample writes the Fig. 2 grid.
set -u
GD=${GD_BINARY:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # check "what" condition...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1; }
params() { h5dump -d /ckpt/params -d /ckpt/adam_m -d /ckpt/adam_v "$1" 2>/dev/null | grep -v '^HDF5 "'; }
command -v h5dump >/dev/null || { echo "h5dump (hdf5-tools) is needed" >&2; exit 77; }

source "${GD_SOURCE_DIR:?}/tests/ts_tiny.sh"
ts_tiny_yaml "$T/ts.yaml" seed=3 more="cnn: {conv1: 4, conv2: 6, fc: 16, epochs: 2, batch: 16, lr: 0.003}"

# a straight run
"$GD" train "$T/ts.yaml" --out "$T/a" 2>"$T/a.log"
check "train exits 0" test $? -eq 0
check "model.h5 written" test -s "$T/a/model.h5"
check "train/done = 1" test "$(attr "$T/a/model.h5" /train/done)" = 1
check "train/steps = 40" test "$(attr "$T/a/model.h5" /train/steps)" = 40
check "config text stored" grep -q 'max_steps: 40' <(h5dump -a /config_yaml "$T/a/model.h5" 2>/dev/null)
check "progress lines on stderr" grep -q '^step 10/40' "$T/a.log"

# stopped by SIGUSR1 (as Slurm does before the time limit), then resumed: same bits as the straight run
"$GD" train "$T/ts.yaml" --set train.max_steps=4000 --out "$T/b" 2>"$T/b.log" &
pid=$!
for _ in $(seq 1 300); do grep -q '^step 10/' "$T/b.log" 2>/dev/null && break; sleep 0.1; done
kill -USR1 $pid
wait $pid
rc=$?
check "SIGUSR1 -> exit 75" test $rc -eq 75
check "checkpoint after the signal" test "$(attr "$T/b/model.h5" /train/done)" = 0
stopped=$(attr "$T/b/model.h5" /train/steps)
check "stopped before the end" test "${stopped:-0}" -gt 0 -a "${stopped:-4000}" -lt 4000
"$GD" train "$T/ts.yaml" --set train.max_steps=4000 --out "$T/c" --set train.max_steps="$stopped" 2>/dev/null
"$GD" train "$T/ts.yaml" --set train.max_steps=$((stopped + 30)) --out "$T/b" --resume 2>"$T/r.log"
check "resume exits 0" test $? -eq 0
"$GD" train "$T/ts.yaml" --set train.max_steps=$((stopped + 30)) --out "$T/c" --resume 2>/dev/null
"$GD" train "$T/ts.yaml" --set train.max_steps=$((stopped + 30)) --out "$T/d" 2>/dev/null
check "signal + resume == straight (weights and Adam, bitwise)" cmp -s <(params "$T/b/model.h5") <(params "$T/d/model.h5")
check "stop by steps + resume == straight" cmp -s <(params "$T/c/model.h5") <(params "$T/d/model.h5")

# --resume before any checkpoint exists (a job requeued early) starts from step 0
"$GD" train "$T/ts.yaml" --out "$T/e" --resume 2>"$T/e.log"
check "--resume without a checkpoint starts afresh" test $? -eq 0 -a "$(attr "$T/e/model.h5" /train/steps)" = 40
check "... and says so" grep -q 'starting from step 0' "$T/e.log"

# 2 ranks
if command -v "${GD_MPIEXEC:-mpiexec}" >/dev/null; then
  "${GD_MPIEXEC:-mpiexec}" --allow-run-as-root --oversubscribe -n 2 "$GD" train "$T/ts.yaml" --out "$T/m" \
    --check-sync 5 2>"$T/m.log"
  check "2 ranks exit 0" test $? -eq 0
  check "2-rank model.h5 says world size 2" test "$(attr "$T/m/model.h5" /train/train_world_size)" = 2
  # train.comm: the mpi path (reduce-scatter + allgather) gives the bits of the default shm path on 2 ranks
  "${GD_MPIEXEC:-mpiexec}" --allow-run-as-root --oversubscribe -n 2 "$GD" train "$T/ts.yaml" --out "$T/mm" \
    --check-sync 5 --set train.comm=mpi 2>"$T/mm.log"
  check "train.comm=mpi exits 0" test $? -eq 0
  check "train.comm=mpi == default (shm) on 2 ranks (weights and Adam, bitwise)" \
    cmp -s <(params "$T/m/model.h5") <(params "$T/mm/model.h5")
  "$GD" train "$T/ts.yaml" --out "$T/mb" --set train.comm=bogus >"$T/mb.log" 2>&1
  check "train.comm=bogus -> exit 1 naming the key" test $? -eq 1 -a -n "$(grep -l 'train.comm' "$T/mb.log")"
fi

# the CNN through the same command
"$GD" train "$T/ts.yaml" --model cnn --out "$T/a" 2>"$T/cnn.log"
check "cnn exits 0" test $? -eq 0
check "cnn.h5 written" test -s "$T/a/cnn.h5"

# bad input: nothing written, clear messages
sum_a=$(md5sum <"$T/a/model.h5")
"$GD" train "$T/ts.yaml" --out "$T/a" --set model.arch=conv 2>"$T/e1.log"
check "impossible conv shape -> exit 1" test $? -eq 1
check "... says why" grep -q 'impossible conv decoder shape' "$T/e1.log"
"$GD" train "$T/ts.yaml" --out "$T/a" --set model.arch=resnet 2>"$T/e2.log"
check "unknown architecture -> exit 1" test $? -eq 1
check "... names the key" grep -q 'model.arch' "$T/e2.log"
"$GD" train "$T/ts.yaml" --out "$T/a" --set 'model.dec_widths=[25]' --resume 2>"$T/e3.log"
check "resume into another architecture -> exit 1" test $? -eq 1
check "... says architecture" grep -q 'architecture' "$T/e3.log"
check "model.h5 untouched" test "$(md5sum <"$T/a/model.h5")" = "$sum_a"
head -c 3000 "$T/a/model.h5" >"$T/trunc.h5"
mkdir -p "$T/t" && cp "$T/trunc.h5" "$T/t/model.h5"
"$GD" train "$T/ts.yaml" --out "$T/t" --resume 2>"$T/e4.log"
check "truncated checkpoint -> exit 1" test $? -eq 1
check "truncated checkpoint untouched" cmp -s "$T/trunc.h5" "$T/t/model.h5"
"$GD" sample "$T/trunc.h5" -o "$T/x.png" 2>"$T/e5.log"
check "sample of a truncated file -> exit 1" test $? -eq 1
"$GD" sample "$T/a/cnn.h5" -o "$T/x.png" 2>"$T/e6.log"
check "sample of a CNN -> exit 1 naming it" grep -q 'CNN' "$T/e6.log"
check "no PNG from failed samples" test ! -e "$T/x.png"

# Fig. 2
"$GD" sample "$T/a/model.h5" -o "$T/fig2.png" --per-row 6 >"$T/s.log" 2>&1
rc=$?
if grep -q 'PNG not available' "$T/s.log"; then
  echo "skip: PNG writer not built yet"
else
  check "sample exits 0" test $rc -eq 0
  check "fig2.png written" test -s "$T/fig2.png"
fi

# --data-dir: the data root the files are looked for in (here one without MNIST: a clear error naming it)
cat >"$T/mn.yaml" <<EOF
experiment: {name: mn}
data: {set: mnist, n_train: 100, n_val: 10, n_test: 10}
model: {arch: mlp, n_components: 10, k: 2, enc_widths: [8], dec_widths: [8]}
train: {max_steps: 2}
EOF
mkdir -p "$T/nodata"
"$GD" train "$T/mn.yaml" --out "$T/dd" --data-dir "$T/nodata" >"$T/m.log" 2>&1
check "--data-dir without the files -> exit 1 naming the folder" test $? -eq 1 -a -n "$(grep "$T/nodata/mnist" "$T/m.log")"
check "... and writes no model" test ! -e "$T/dd/model.h5"

echo "$fails failed"
exit $((fails > 0))
