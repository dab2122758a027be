#!/usr/bin/env bash
# bench/scaling_model.py on synthetic measurements with a hand-computable answer: P = 10^6 floats, compute
# T_model(b) = b ms, no Adam, an interconnect with alpha = 0 and 4 GB/s, so T_comm(p) = 2 (p-1)/p ms.
# Strong, B = 256: p = 8 -> 256 / (8 (32 + 1.75)) = 94.8%, p = 16 -> 256 / (16 (16 + 1.875)) = 89.5%;
# weak, b = 32, p = 8 -> 32 / 33.75 = 94.8%; communication first >= compute at p = 256 (1.99 ms vs 1 ms; at
# p = 128, 1.98 ms < 2 ms); T_comm(8) = 1.75 ms, T_comm(512) = 2.00 ms; fewer images than ranks prints '-'.
set -euo pipefail
py=/usr/bin/python3
if [ ! -x "$py" ]; then echo "skipped: no /usr/bin/python3" >&2; exit 77; fi
: "${GD_SOURCE_DIR:?GD_SOURCE_DIR must name the source tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" - "$tmp/m.json" <<'PY'
import json, sys
rows = [{"model": "c-VAE x", "batch": b, "ranks": 1, "threads": 1, "model_s": b * 1e-3, "adam_s": 0.0}
        for b in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
rows.append({"model": "c-VAE x", "batch": 32, "ranks": 2, "threads": 1, "model_s": 0.016, "adam_s": 0.0,
             "comm_s": 0.002, "sync_s": 0.0, "step_s": 0.018})
m = {"loadavg_start": "0 0 0", "train": rows, "params": {"c-VAE x": 1000000},
     "comm": {k: {"alpha": 1e-6, "beta": 1e-10} for k in ("allreduce", "reduce_scatter", "allgather")}}
json.dump(m, open(sys.argv[1], "w"))
PY
out=$("$py" "$GD_SOURCE_DIR/bench/scaling_model.py" --measured "$tmp/m.json" --interconnect "test:0:4")
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -qF "| test | c-VAE x | strong | 256 | 95 | 90 | " <<<"$out" || fail "strong 256"
grep -E "^\| test \| c-VAE x \| strong \| 256 \|" <<<"$out" | grep -qF "| 256 | 1.75 / 2.00 |" || fail "strong 256: comm from p = 256, T_comm 1.75 / 2.00 ms"
grep -qF "| test | c-VAE x | strong | 32 | " <<<"$out" || fail "strong 32 row"
grep -E "^\| test \| c-VAE x \| strong \| 32 \|" <<<"$out" | grep -qF "| - | - |" || fail "strong 32: '-' beyond 32 ranks"
grep -qF "| test | c-VAE x | weak | 32 | 95 | " <<<"$out" || fail "weak 32"
grep -qE "^\| c-VAE x \| 32 \| " <<<"$out" || fail "the p = 2 check row"
echo "scaling model: ok"
