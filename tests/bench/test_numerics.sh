#!/usr/bin/env bash
# Numerics check against the PyTorch reference (bench/reference.py, llm.c's pattern): for a fixed batch, noise
# and weights, gendec and PyTorch agree on the loss terms, every parameter gradient, 10 Adam steps, 50 Eq. 3
# steps of (z, y) and an Eq. 2 refinement, for the MNIST mlp and conv models and two small variants that cover
# the other options (bce_logits, mse_sigmoid, mean KL, ELU, C != 1, "same"-padded output conv, kernel 5). Tolerances and why:
# bench/README.md. Skipped (77) when /usr/bin/python3 lacks torch, h5py or numpy. A tampered dump must fail.
set -euo pipefail
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c "import torch, h5py, numpy" 2>/dev/null; then
    echo "skipped: $py cannot import torch, h5py and numpy (apt-get install python3-torch python3-h5py" \
         "python3-numpy) - the numerics check against PyTorch did not run" >&2
    exit 77
fi
: "${GD_BINARY:?GD_BINARY must name the gendec executable}" "${GD_SOURCE_DIR:?GD_SOURCE_DIR must name the source tree}"
ref="$GD_SOURCE_DIR/bench/reference.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

specs=(
    "arch=mlp h=28 w=28 n=10 k=4 recon=mse kl=gated C=1 act=relu enc=512,256 dec=256,512"
    "arch=conv h=28 w=28 n=10 k=4 recon=mse kl=gated C=1 act=relu ch=16,32,64 kernel=3 dec_start=4 out_kernel=5"
    "arch=mlp h=12 w=10 n=3 k=2 recon=bce_logits kl=mean C=0.5 act=elu enc=64 dec=32,48"
    "arch=conv h=16 w=16 n=4 k=3 recon=bce_logits kl=gated C=2 act=elu ch=8,16 kernel=5 dec_start=4 out_kernel=3"
    "arch=mlp h=12 w=10 n=3 k=2 recon=mse_sigmoid kl=gated C=1 act=relu enc=64 dec=32,48"
    "arch=conv h=16 w=16 n=4 k=3 recon=mse_sigmoid kl=mean C=1 act=elu ch=8,16 kernel=5 dec_start=4 out_kernel=3"
)
for spec in "${specs[@]}"; do
    "$GD_BINARY" bench dump --spec "$spec" --out "$tmp/dump.h5"
    "$py" "$ref" check "$tmp/dump.h5"
    [ -e "$tmp/relu.h5" ] || cp "$tmp/dump.h5" "$tmp/relu.h5" # the first (ReLU) model, for the Eq. 3 tamper below
    echo
done

# The check must be able to fail: one gradient entry of the last dump off by 1% of its view's largest value.
"$py" - "$tmp/dump.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    g = f["train/grad"]
    v = g[()]
    i = int(np.abs(v).argmax())
    v[i] *= 1.01
    g[...] = v
PY
if "$py" "$ref" check --parts grad "$tmp/dump.h5" >"$tmp/tampered.log"; then
    cat "$tmp/tampered.log"
    echo "FAIL: the check accepted a gradient with one entry off by 1%" >&2
    exit 1
fi
grep -q "FAIL" "$tmp/tampered.log"
echo "a tampered gradient is rejected: ok"

# ... and one Eq. 3 gradient entry off by 1% (a ReLU model: the ReLU-kink allowance must not excuse it).
"$py" - "$tmp/relu.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    g = f["infer/dz"]
    v = g[()]
    i = np.unravel_index(int(np.abs(v).argmax()), v.shape)
    v[i] *= 1.01
    g[...] = v
PY
if "$py" "$ref" check --parts infer "$tmp/relu.h5" >"$tmp/tampered.log"; then
    cat "$tmp/tampered.log"
    echo "FAIL: the check accepted an Eq. 3 gradient with one entry off by 1%" >&2
    exit 1
fi
grep -q "dF/dz.*FAIL" "$tmp/tampered.log"
echo "a tampered Eq. 3 gradient is rejected: ok"
