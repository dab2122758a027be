#!/usr/bin/env bash
# Integrity of the result files.
#  Static: HDF5 is only called from src/io (outside it only H5get_libversion, for `gendec version`); in src/io
#  the one H5Fcreate creates the temporary ("<path>.tmp.<pid>", renamed by gd_h5_commit) and the one H5Fopen is
#  gd_h5_open's, which checks complete; every other file that calls gd_h5_create also commits and aborts.
#  Dynamic: the files a small run writes (model.h5, eval.h5, the data cache, eval.partial.h5) carry the standard
#  attributes with complete=1 and no temporary is left; readers refuse a file without complete=1, naming it
#  (train --resume, eval's model, gendec sample, gendec report), and leave it as it was. (gendec report on a file
#  with complete=0: tests/report/test_analysis.sh; the library's refusal: tests/io, tests/report.)
me=test_integrity
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
src="$GD_SOURCE_DIR/src"

# static checks
calls=$(grep -rn -E '\bH5[A-Z][A-Za-z0-9_]*\(' "$src" --include='*.c' --include='*.h' | grep -v "^$src/io/" |
        grep -v 'H5get_libversion(')
check "no HDF5 calls outside src/io (found: ${calls:-none})" test -z "$calls"
creates=$(grep -n 'H5Fcreate(' "$src"/io/*.c | grep -v '^\S*: */\*')
check "src/io has one H5Fcreate, on the temporary name (${creates:-none})" \
  test "$(grep -c . <<<"$creates")" = 1 -a -n "$(grep 'f->tmp' <<<"$creates")"
opens=$(grep -n 'H5Fopen(' "$src"/io/*.c)
check "src/io has one H5Fopen, in gd_h5_open, which checks complete" \
  test "$(grep -c . <<<"$opens")" = 1 -a -n "$(sed -n '/^gd_status gd_h5_open(/,/^}/p' "$src/io/h5.c" | grep 'H5Fopen(')" \
  -a -n "$(sed -n '/^static gd_status check_open(/,/^}/p' "$src/io/h5.c" | grep '"complete"')"
unpaired=""
for f in $(grep -rl 'gd_h5_create(' "$src" --include='*.c' | grep -v "^$src/io/"); do
  grep -q 'gd_h5_commit(' "$f" && grep -q -E 'gd_h5_abort\(|gd_h5_close\(' "$f" || unpaired="$unpaired $f"
done
check "every writer outside src/io commits and aborts its files (unpaired:${unpaired:- none})" test -z "$unpaired"

# the files of a small run
"$G" train "$T/ts.yaml" --out "$T/run" --set train.max_steps=20 2>"$T/train.log"
check "train exits 0" test $? -eq 0
EVS=(--set infer.steps=20 --set infer.refine_steps=10)
"$G" eval "$T/ts.yaml" --out "$T/run" --results "$T/results" "${EVS[@]}" >"$T/eval.log" 2>&1
check "eval exits 0" test $? -eq 0
# a stopped evaluation for its eval.partial.h5 (busy with many steps, then SIGTERM)
mkdir -p "$T/part" && cp "$T/run/model.h5" "$T/part/"
"$G" eval "$T/ts.yaml" --out "$T/part" --results "$T/results" >"$T/part.log" 2>&1 &
pid=$!
wait_ranks $pid 1 15 60 >/dev/null && wait_busy $pid 10 60
kill -TERM $pid
wait_exit $pid 60
check "stopped eval exits 75" test "$rc" -eq 75
files=$(find "$T/run" "$T/part" "$T/results" -name '*.h5' | sort)
check "outputs found ($(echo $files | wc -w))" test "$(echo $files | wc -w)" -ge 4
for f in $files; do
  missing=""
  for a in kind gendec_version git_revision config_yaml world_size created; do
    [ -n "$(attr "$f" "/$a")" ] || missing="$missing $a"
  done
  check "${f#$T/}: complete=1, standard attributes (missing:${missing:- none})" \
    test "$(attr "$f" /complete)" = 1 -a -z "$missing"
done
check "no temporary files left" test -z "$(find "$T" -name '*.tmp.*')"

# readers refuse a file without complete=1 and the seal: copies of the groups without the root attributes (h5copy
# writes them, so the seal is missing too and is what is refused first; the complete=1 refusal of a sealed file:
# tests/report/test_analysis.sh, tests/report/test_run.sh)
command -v h5copy >/dev/null || skip "h5copy (hdf5-tools) is needed for the rest"
strip() { # SRC DST GROUP...: DST gets SRC's groups but none of its root attributes
  local s=$1 d=$2 g
  shift 2
  for g in "$@"; do h5copy -i "$s" -o "$d" -s "$g" -d "$g" || return 1; done
}
mkdir -p "$T/bad" "$T/badrep/ts_rel"
strip "$T/run/model.h5" "$T/bad/model.h5" /ckpt /train
strip "$T/run/eval.h5" "$T/badrep/ts_rel/eval.h5" /eval /eval_alt
sum=$(md5sum <"$T/bad/model.h5")
"$G" train "$T/ts.yaml" --out "$T/bad" --set train.max_steps=40 --resume >"$T/r1.log" 2>&1
check "train --resume refuses it (exit 1)" test $? -eq 1
check "... naming it" grep -q "bad/model.h5.*not a sealed gendec file" "$T/r1.log"
check "... and leaves it as it was" test "$(md5sum <"$T/bad/model.h5")" = "$sum"
"$G" eval "$T/ts.yaml" --out "$T/bad" --results "$T/results" "${EVS[@]}" >"$T/r2.log" 2>&1
check "eval refuses the model (exit 1)" test $? -eq 1
check "... naming it" grep -q "bad/model.h5.*not a sealed gendec file" "$T/r2.log"
check "... and writes no eval.h5" test ! -e "$T/bad/eval.h5"
"$G" sample "$T/bad/model.h5" -o "$T/bad/x.png" >"$T/r3.log" 2>&1
check "sample refuses it (exit 1)" test $? -eq 1
check "... naming it" grep -q "bad/model.h5.*not a sealed gendec file" "$T/r3.log"
"$G" report "$T/badrep" -o "$T/rep" >"$T/r4.log" 2>&1
check "report refuses an eval.h5 without complete=1 (exit 1)" test $? -eq 1
check "... naming it" grep -q "eval.h5.*not a sealed gendec file" "$T/r4.log"
check "... and writes no report" test ! -e "$T/rep/report.md"
finish
