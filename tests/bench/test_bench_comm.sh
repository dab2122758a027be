#!/usr/bin/env bash
# `gendec bench comm --quick` under 2 ranks: every size row, the three alpha-beta fits with a positive beta, the
# shared-memory note, and the gradient sizes of the MNIST c-VAEs (5,904,368 and 760,666 floats). One rank is
# refused with a usage error. Speed is not asserted (bench comm prints it; a test must not time anything).
set -euo pipefail
: "${GD_BINARY:?GD_BINARY must name the gendec executable}"
mpi="${GD_MPIEXEC:-mpiexec}"
if ! command -v "$mpi" >/dev/null; then echo "skipped: no mpiexec" >&2; exit 77; fi
out=$("$mpi" --allow-run-as-root --oversubscribe -n 2 "$GD_BINARY" bench comm --quick --max-mib 0.25 --reps 3)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q "SHARED MEMORY" <<<"$out" || fail "no shared-memory note"
# sizes 8 B (4 B rounded up to one float per rank) .. 256 KiB in powers of 4: 9 rows with 3 positive times each
rows=$(awk '$1 ~ /^[0-9]+$/ && NF == 7 && $2 > 0 && $4 > 0 && $6 > 0' <<<"$out" | wc -l)
[ "$rows" -eq 9 ] || fail "expected 9 size rows, got $rows"
for c in allreduce reduce_scatter allgather; do
    line=$(grep "^  fit $c " <<<"$out") || fail "no fit line for $c"
    beta=$(awk '{for (i = 1; i < NF; i++) if ($i == "beta") print $(i + 1)}' <<<"$line")
    awk -v b="$beta" 'BEGIN { exit !(b > 0) }' || fail "$c: beta $beta is not positive"
done
grep -q "c-VAE mlp  P =   5904368 floats" <<<"$out" || fail "mlp gradient size"
grep -q "c-VAE conv P =    760666 floats" <<<"$out" || fail "conv gradient size"
set +e
"$GD_BINARY" bench comm --quick >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "one rank: expected exit 2 (usage), got $rc"
echo "bench comm: ok"
