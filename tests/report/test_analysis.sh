#!/usr/bin/env bash
# `gendec report` on the command line, checked against a second implementation: test_report writes result files
# with known per-image outcomes, `gendec report` turns them into report.md, and analysis/tables.py (h5py +
# numpy, no gendec code) recounts every number from the same files; each of its k/n must appear in the same
# cell of report.md. Also: exit codes and the refusal of an incomplete file.
set -u
G="${GD_BINARY:?run through ctest}"
SRC="${GD_SOURCE_DIR:?run through ctest}"
fixtures="$(dirname "$G")/test_report"
[ -x "$fixtures" ] || { echo "test_report is not built next to $G" >&2; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import h5py, numpy' 2>/dev/null || { echo "h5py/numpy not installed (Debian python3-h5py python3-numpy)" >&2; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

"$fixtures" --fixtures "$T" >/dev/null || { echo "FAIL: writing the fixtures" >&2; exit 1; }
"$G" report "$T/results" -o "$T/out" >"$T/stdout" 2>"$T/stderr" || { cat "$T/stderr" >&2; fail "gendec report: exit $?"; }
grep -q "report of 6 runs: $T/out/report.md $T/out/tables.tex" "$T/stdout" || fail "summary line: $(head -1 "$T/stdout")"
[ -s "$T/out/report.md" ] && [ -s "$T/out/tables.tex" ] || fail "report.md / tables.tex missing"
ls "$T/out" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

"$PY" "$SRC/analysis/tables.py" "$T/results" >"$T/numbers.tsv" || fail "analysis/tables.py failed"
[ "$(wc -l <"$T/numbers.tsv")" -ge 20 ] || fail "analysis/tables.py printed $(wc -l <"$T/numbers.tsv") numbers"
"$PY" - "$T/out/report.md" "$T/numbers.tsv" <<'PY' || fail "report.md disagrees with analysis/tables.py"
import sys
md, tsv = sys.argv[1], sys.argv[2]
tables, header = [], None
for line in open(md, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.startswith("|"):
        header = None
        continue
    cells = [c.strip() for c in line.strip("|").split(" |")]
    if header is None:
        header = cells
    elif not set(line) <= set("|-"):
        tables.append((header, cells))
bad = 0
for row in open(tsv, encoding="utf-8"):
    label, col, k, n = row.rstrip("\n").split("\t")
    k, n = int(k), int(n)
    found = [c for h, c in tables if c[0].replace("\\|", "|") == label and col in h]
    if not found:
        print(f"no row '{label}' with column '{col}' in report.md"); bad += 1; continue
    h = [h for h, c in tables if c[0].replace("\\|", "|") == label and col in h][0]
    cell = found[0][h.index(col)]
    want = (f"{100 * k / n:.1f}%", f"{k / n:.3f}")
    if not cell.startswith(want) or f"n={n}" not in cell:
        print(f"'{label}' / '{col}': report.md has '{cell}', analysis/tables.py counts {k}/{n}"); bad += 1
sys.exit(1 if bad else 0)
PY

# The figures the files support were drawn and listed.
for f in fig3_traffic_signs.png fig5_mnist_fgm_fgm.png fig5_mnist_neat_neat.png; do
  [ -s "$T/out/$f" ] || fail "$f not written"
  grep -q "($f)" "$T/out/report.md" || fail "$f not listed in report.md"
done

# Refusals: an incomplete file (exit 1, naming it), nothing to report (exit 1), usage errors (exit 2).
"$PY" - "$T/results/mnist_neat/eeee/neat.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs.modify("complete", np.int64(0))
# a valid seal again (src/io/seal.c), so that the complete attribute is what gendec refuses
import zlib
b = open(sys.argv[1], "rb").read()
seal = ("GENDEC-SEAL 1\nbytes %d\ncrc32 %08x\n" % (len(b), zlib.crc32(b[512:]))).encode().ljust(512, b"\0")
open(sys.argv[1], "r+b").write(seal)
PY
"$G" report "$T/results" -o "$T/out2" >"$T/stdout" 2>"$T/stderr"; rc=$?
[ $rc = 1 ] || fail "incomplete file: exit $rc, want 1"
grep -q "neat.h5.*not a complete gendec neat file" "$T/stderr" || fail "incomplete file: '$(cat "$T/stderr")'"
[ ! -e "$T/out2/report.md" ] || fail "a report was written from an incomplete file"
# A file changed after it was written (one byte) is refused by its seal before HDF5 reads it.
cp "$T/results/mnist_neat/eeee/neat.h5" "$T/neat.bak"
printf '\x00' | dd of="$T/results/mnist_neat/eeee/neat.h5" bs=1 seek=2000 conv=notrunc status=none
"$G" report "$T/results" -o "$T/out3" >"$T/stdout" 2>"$T/stderr"; rc=$?
[ $rc = 1 ] && grep -q "neat.h5.*damaged: CRC-32" "$T/stderr" || fail "damaged file: exit $rc, '$(cat "$T/stderr")'"
cp "$T/neat.bak" "$T/results/mnist_neat/eeee/neat.h5"
mkdir -p "$T/empty"
"$G" report "$T/empty" >/dev/null 2>"$T/stderr"; rc=$?
[ $rc = 1 ] && grep -q "no result files" "$T/stderr" || fail "empty folder: exit $rc, '$(cat "$T/stderr")'"
"$G" report >/dev/null 2>&1; [ $? = 2 ] || fail "no path: want exit 2"
"$G" report "$T/results" --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"
"$G" report --help | grep -q "usage: gendec report" || fail "--help"

[ $fails = 0 ] || exit 1
echo "test_analysis: ok"
