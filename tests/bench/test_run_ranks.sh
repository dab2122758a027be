#!/usr/bin/env bash
# bench/run's multi-rank classification row, without PyTorch:
# 1. `mpiexec -n 2 gendec bench measure --task classify --mpi` (static and dynamic schedules) classifies the same
#    images through the evaluator with the same decisions as one process, both ranks working (4 chunks), CPU
#    time listed per rank; --mpi with --task train and a bad --schedule are usage errors.
# 2. bench/run's table() on hand-made rows: the 2-rank row, its ratio against PyTorch's best setting (no ratio
#    at T: not the same thread count), the 1-rank vs 2-rank decision line and the targets.
# Speed is not asserted (a test must not time anything).
set -euo pipefail
: "${GD_BINARY:?GD_BINARY must name the gendec executable}" "${GD_SOURCE_DIR:?GD_SOURCE_DIR must name the source tree}"
mpi="${GD_MPIEXEC:-mpiexec}"
if ! command -v "$mpi" >/dev/null; then echo "skipped: no mpiexec" >&2; exit 77; fi
py=/usr/bin/python3
if [ ! -x "$py" ]; then echo "skipped: no /usr/bin/python3" >&2; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1

"$GD_BINARY" bench dump --arch mlp --out "$tmp/m.h5" --adam-steps 1 --infer-steps 1 >/dev/null
# 16 images: smooth blobs at different places (an idx3 file), so that images differ
"$py" - "$tmp/img" <<'PY'
import math, struct, sys
n = 16
px = bytearray()
for i in range(n):
    cx, cy = 6 + (i * 5) % 16, 6 + (i * 3) % 16
    for r in range(28):
        for c in range(28):
            px.append(int(255 * math.exp(-((r - cy) ** 2 + (c - cx) ** 2) / 18.0)))
open(sys.argv[1], "wb").write(struct.pack(">IIII", 2051, n, 28, 28) + bytes(px))
PY
common=(bench measure --task classify --model "$tmp/m.h5" --images "$tmp/img" --n 14 --batch 4)
"$GD_BINARY" "${common[@]}" >"$tmp/one.json"
"$mpi" --allow-run-as-root --oversubscribe -n 2 "$GD_BINARY" "${common[@]}" --mpi >"$tmp/static.json"
"$mpi" --allow-run-as-root --oversubscribe -n 2 "$GD_BINARY" "${common[@]}" --mpi --schedule dynamic \
    >"$tmp/dynamic.json"
"$py" - "$tmp" <<'PY' || fail "bench measure --mpi"
import json, sys
d = sys.argv[1]
one, st, dy = (json.loads(open("%s/%s.json" % (d, k)).read().splitlines()[-1]) for k in ("one", "static", "dynamic"))
assert one["ranks"] == 1 and len(one["decisions"]) == 14, one
for r, sched in ((st, "static"), (dy, "dynamic")):
    assert r["ranks"] == 2 and r["schedule"] == sched and r["images"] == 14, r
    assert r["decisions"] == one["decisions"], (sched, r["decisions"], one["decisions"])
    assert len(r["rank_cpu_seconds"]) == 2 and min(r["rank_cpu_seconds"]) > 0, r
    assert min(r["rank_decoder_seconds"]) > 0, ("a rank did no decoder pass", sched, r["rank_decoder_seconds"])
    assert r["rss_mib"] > r["rss_mib_max_rank"] > 0, r
print("decisions", one["decisions"], "identical with 1 and 2 ranks (static, dynamic)")
PY
set +e
"$GD_BINARY" bench measure --task train --mpi >/dev/null 2>&1; rc1=$?
"$GD_BINARY" "${common[@]}" --schedule sometimes >/dev/null 2>&1; rc2=$?
set -e
[ "$rc1" -eq 2 ] || fail "--mpi with --task train: expected exit 2, got $rc1"
[ "$rc2" -eq 2 ] || fail "--schedule sometimes: expected exit 2, got $rc2"

"$py" - "$GD_SOURCE_DIR/bench/run" "$GD_BINARY" <<'PY' || fail "bench/run table"
import argparse, importlib.machinery, importlib.util, sys
loader = importlib.machinery.SourceFileLoader("bench_run", sys.argv[1])
spec = importlib.util.spec_from_loader("bench_run", loader)
br = importlib.util.module_from_spec(spec)
loader.exec_module(br)
a = argparse.Namespace(gendec=sys.argv[2], reps=3, seconds=4.0, n_all=256, n_conv=0, n=256, ranks=2,
                       image_source="MNIST test images", mpiexec="mpiexec")
spread = {w: (1.0, 2.0) for w in "gtbm"}
one = {"task": "classify", "arch": "mlp", "batch": 32, "gendec": 40.0, "torch_T": 20.0, "torch_best": 32.0,
       "cpu": {"g": 40.0, "t": 20.0, "b": 16.0, "m": 38.0}, "best": "torch 2 thr", "same": "torch 1 thr",
       "gflops": 30.0, "rss_g": 60.0, "rss_t": 300.0, "spread": spread, "dec_gflops": 30.0, "dec_gflops_cpu": 30.0,
       "dec_share": 0.8, "agree": 1.0, "noise": 0.0, "single": 0.9, "n": 256}
two = dict(one, ranks=2, gendec=76.0, cpu=dict(one["cpu"], g=38.0), rss_g=150.0, gflops=57.0, agree=1.0,
           same_as_one=1.0)
t = br.table(a, 1, [one, two], [(40.0, 50.0)], [1.0, 1.2], {"mlp": ("m.h5", "trained")}, "2026-11-30 00:00")
print(t)
lines = t.splitlines()
def row(prefix):
    hits = [l for l in lines if l.startswith(prefix)]
    assert len(hits) == 1, (prefix, hits)
    return [c.strip() for c in hits[0].strip("|").split("|")]
r1 = row("| classify | mlp | 32 | 1 x 1 |")
r2 = row("| classify | mlp | 32 | 2 x 1 |")
assert r1[4] == "40.0" and r1[7] == "2.00x" and r1[8] == "**1.25x**" and r1[9] == "2.50x", r1
assert r2[4] == "76.0" and r2[7] == "-" and r2[8] == "**2.38x**" and r2[9] == "2.38x", r2
assert r2[10] == "57.0 (71%)" and r2[12].startswith("150 / 300"), r2   # 57 of 2 x 40 GFLOP/s; summed RSS
assert "mlp b32 (2 ranks) 100.0%" in t and "identical to its 1-rank run" in t
assert "classify mlp b32 >= 1.5x: 1.25x NOT met" in t and "classify mlp b32 (2 ranks) >= 1.5x: 2.38x met" in t
assert "--ranks 2" in t
assert "No 2-rank row" not in t
a.skipped_multi = ["mlp b256"]   # what the loop records when --n < ranks x batch
t = br.table(a, 1, [one], [(40.0, 50.0)], [1.0, 1.2], {"mlp": ("m.h5", "trained")}, "2026-11-30 00:00")
assert "No 2-rank row for mlp b256: fewer images than 2 chunks" in t, t
PY
echo "bench run ranks: ok"
