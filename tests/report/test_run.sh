#!/usr/bin/env bash
# gendec run end to end: experiments/traffic_signs.yaml at scale quick through every stage (data, train, cnn,
# eval, report), then the skip rules: a second run recomputes nothing; a changed infer.* value re-runs eval only;
# a deleted model re-runs train and what reads it; an incomplete file is rebuilt; --dry-run computes nothing;
# without --out the run folder is results/<experiment>/<config hash> and is reused.
set -u
G="${GD_BINARY:?run through ctest}"
SRC="${GD_SOURCE_DIR:?run through ctest}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
EXP="$SRC/experiments/traffic_signs.yaml"
R="$T/run"
# the plan line of a stage: "  N. <stage> run|skip ..."
decision() { grep -E "^  [0-9]+\. $1 " "$2" | awk '{print $3}'; }
mtime() { stat -c %Y.%y "$1" 2>/dev/null; }

# 1. The whole pipeline.
"$G" run "$EXP" --set scale=quick --out "$R" >"$T/out1" 2>"$T/err1" || { cat "$T/err1" >&2; fail "first run: exit $?"; }
for s in data train cnn eval report; do [ "$(decision $s "$T/out1")" = run ] || fail "first run: $s not run"; done
for f in config.yaml model.h5 cnn.h5 eval.h5 report.md tables.tex fig2_traffic_signs.png fig3_traffic_signs.png; do
  [ -s "$R/$f" ] || fail "first run: no $f"
done
ls "$R" | grep -q '\.tmp\.' && fail "a temporary file was left in the run folder"
ls "$T"/results/traffic_signs/data-*.h5 >/dev/null 2>&1 || fail "no data cache under results/traffic_signs/"
grep -q '^| traffic_signs: proposed, correct decomposition | [0-9.]*% (paper 95%; n=40) |$' "$R/report.md" ||
  fail "report.md: no gendec row over the 40 quick test images"
grep -q '^| traffic_signs: CNN, classified as "left turn" | [0-9.]*% (paper 99%; n=40) |$' "$R/report.md" ||
  fail "report.md: no CNN row"
grep -q "scale=quick" "$R/report.md" || fail "report.md does not say the numbers are from scale quick"
"$G" config "$R/config.yaml" >/dev/null || fail "config.yaml of the run is not a valid experiment"

# 2. Again: every stage but the report is skipped, nothing is rewritten.
m1=$(mtime "$R/model.h5"); c1=$(mtime "$R/cnn.h5"); e1=$(mtime "$R/eval.h5")
sleep 1
"$G" run "$EXP" --set scale=quick --out "$R" >"$T/out2" 2>"$T/err2" || fail "second run: exit $?"
for s in data train cnn eval; do [ "$(decision $s "$T/out2")" = skip ] || fail "second run: $s not skipped"; done
[ "$(decision report "$T/out2")" = run ] || fail "second run: the report is always rebuilt"
grep -q "== gendec run: stage train" "$T/err2" && fail "second run: train ran"
[ "$(mtime "$R/model.h5")" = "$m1" ] && [ "$(mtime "$R/cnn.h5")" = "$c1" ] && [ "$(mtime "$R/eval.h5")" = "$e1" ] ||
  fail "second run rewrote a stage file"
grep -q "complete, same seed,data,model,train (hash" "$T/out2" || fail "second run: no reason given for the skip"

# 3. Another infer.* value: only eval (and the report) run.
"$G" run "$EXP" --set scale=quick --set infer.l=0.5 --out "$R" >"$T/out3" 2>"$T/err3" || fail "infer.l run: exit $?"
for s in data train cnn; do [ "$(decision $s "$T/out3")" = skip ] || fail "infer.l changed: $s not skipped"; done
[ "$(decision eval "$T/out3")" = run ] || fail "infer.l changed: eval skipped"
grep -q "eval.h5: made from other values of seed,data,model,train,infer" "$T/out3" || fail "infer.l: reason"
[ "$(mtime "$R/model.h5")" = "$m1" ] || fail "infer.l changed: model.h5 rewritten"
grep -q "l=0.5" "$R/report.md" || fail "the report does not show the new l"

# 4. The model is gone: train runs, and eval with it (its input is new); the CNN is kept.
rm "$R/model.h5"
"$G" run "$EXP" --set scale=quick --set infer.l=0.5 --out "$R" >"$T/out4" 2>"$T/err4" || fail "no-model run: exit $?"
[ "$(decision train "$T/out4")" = run ] && [ "$(decision eval "$T/out4")" = run ] || fail "model deleted: train/eval not run"
[ "$(decision cnn "$T/out4")" = skip ] || fail "model deleted: cnn re-run"
grep -q "rebuilt because its input model.h5 is rebuilt" "$T/out4" || fail "model deleted: reason"

# 5. An incomplete eval.h5 (complete = 0, as an interrupted writer leaves it) is rebuilt.
PY=/usr/bin/python3
if "$PY" -c 'import h5py, numpy' 2>/dev/null; then
  "$PY" - "$R/eval.h5" <<'PY'
import sys, zlib, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs.modify("complete", np.int64(0))
b = open(sys.argv[1], "rb").read()  # a valid seal again (src/io/seal.c): the complete attribute is refused
open(sys.argv[1], "r+b").write(("GENDEC-SEAL 1\nbytes %d\ncrc32 %08x\n" % (len(b), zlib.crc32(b[512:]))).encode().ljust(512, b"\0"))
PY
  "$G" run "$EXP" --set scale=quick --set infer.l=0.5 --out "$R" >"$T/out5" 2>"$T/err5" || fail "incomplete run: exit $?"
  [ "$(decision eval "$T/out5")" = run ] || fail "incomplete eval.h5 not rebuilt"
  grep -q "existing file unusable, rebuilt: .*not a complete gendec eval file" "$T/out5" || fail "incomplete: reason"
  [ "$(decision train "$T/out5")" = skip ] || fail "incomplete eval.h5: train re-run"
fi

# 6. --dry-run: the plan, nothing computed, no folder created.
e2=$(mtime "$R/eval.h5")
"$G" run "$EXP" --set scale=quick --set infer.l=0.4 --out "$R" --dry-run >"$T/out6" 2>&1 || fail "dry run: exit $?"
[ "$(decision eval "$T/out6")" = run ] || fail "dry run: eval should be planned"
[ "$(mtime "$R/eval.h5")" = "$e2" ] || fail "dry run computed something"
"$G" run "$EXP" --set scale=quick --out "$T/never" --dry-run >/dev/null 2>&1
[ -e "$T/never" ] && fail "dry run created the run folder"
"$G" run "$EXP" --set infer.yl=0.9 --dry-run >"$T/out7" 2>"$T/err7"; rc=$?
[ $rc = 1 ] && grep -q "infer.yl = 0.9 must be smaller than infer.yu" "$T/err7" || fail "bad config: exit $rc, '$(cat "$T/err7")'"
"$G" run >/dev/null 2>&1; [ $? = 2 ] || fail "no experiment: want exit 2"
"$G" run "$EXP" --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"

# 7. No --out: results/traffic_signs/<run id>, reused by the same config.
"$G" run "$EXP" --set scale=quick >"$T/out8" 2>"$T/err8" || fail "default folder run: exit $?"
dir=$(sed -n 's/^run folder //p' "$T/out8")
[[ "$dir" =~ ^results/traffic_signs/[0-9a-f]{16}$ ]] || fail "run folder '$dir'"
[ -s "$dir/report.md" ] || fail "no report in $dir"
"$G" run "$EXP" --set scale=quick --set report.n_examples=2 >"$T/out9" 2>&1 || fail "report.* change: exit $?"
[ "$(sed -n 's/^run folder //p' "$T/out9")" = "$dir" ] || fail "a report.* change moved the run folder"
[ "$(decision eval "$T/out9")" = skip ] || fail "a report.* change re-ran eval"

[ $fails = 0 ] || exit 1
echo "test_run: ok"
