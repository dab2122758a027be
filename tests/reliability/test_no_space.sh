#!/usr/bin/env bash
# No space (a file-size limit, `ulimit -f`) and no permission (an unwritable results folder; the tests run as
# root, so gendec runs as `nobody` through setpriv) for `gendec train` and `gendec eval`: exit 1 with an error
# naming the file, the previous checkpoint and results byte-for-byte intact, no temporary file left behind.
me=test_no_space
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
EVS=(--set infer.steps=20 --set infer.refine_steps=10)

# the previous results: a checkpoint of an unfinished run (30 of 60 steps) and an evaluation
"$G" train "$T/ts.yaml" --out "$T/run" --set train.max_steps=30 2>"$T/train.log" || { cat "$T/train.log"; exit 1; }
"$G" eval "$T/ts.yaml" --out "$T/run" --results "$T/results" "${EVS[@]}" >"$T/eval.log" 2>&1 || { cat "$T/eval.log"; exit 1; }
sums() { (cd "$T/run" && md5sum model.h5 eval.h5); }
before=$(sums)
no_temps() { test -z "$(ls -A "$T/run" | grep '\.tmp')"; }

# a file-size limit below the checkpoint's size (SIGXFSZ is ignored by gendec: a write error, not a kill).
# The limit binds every file the process writes: Open MPI's start-up (PMIx's shared-memory store) would hit it
# first, so PMIX_MCA_gds=hash keeps MPI_Init off files and the limit falls on gendec's outputs only.
export PMIX_MCA_gds=hash
size=$(stat -c %s "$T/run/model.h5")
(ulimit -f $((size / 1024 / 4)); exec "$G" train "$T/ts.yaml" --out "$T/run" --set train.max_steps=60 --resume) \
  >"$T/f1.log" 2>&1
check "train, file-size limit: exit 1 (got $?)" test $? -eq 1
check "... the error names model.h5" grep -q 'model.h5' "$T/f1.log"
cat "$T/f1.log" | grep gendec: | head -2
(ulimit -f 2; exec "$G" eval "$T/ts.yaml" --out "$T/run" --results "$T/results" "${EVS[@]}") >"$T/f2.log" 2>&1
check "eval, file-size limit: exit 1 (got $?)" test $? -eq 1
check "... the error names eval.h5" grep -q 'eval.h5' "$T/f2.log"
cat "$T/f2.log" | grep gendec: | head -2
check "model.h5 and eval.h5 intact" test "$(sums)" = "$before"
check "no temporary files" no_temps

# an unwritable results folder (gendec as nobody; the folder and its files stay readable)
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  as_nobody() { HOME="$T" setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
  chmod -R a+rX "$T" && chmod 755 "$T/run"
  as_nobody "$G" train "$T/ts.yaml" --out "$T/run" --set train.max_steps=60 --resume >"$T/p1.log" 2>&1
  check "train, unwritable folder: exit 1 (got $?)" test $? -eq 1
  check "... the error names the folder or file" grep -q "$T/run" "$T/p1.log"
  check "... and says permission" grep -q -i 'permission' "$T/p1.log"
  cat "$T/p1.log" | grep gendec: | head -2
  as_nobody "$G" eval "$T/ts.yaml" --out "$T/run" --results "$T/results" "${EVS[@]}" >"$T/p2.log" 2>&1
  check "eval, unwritable folder: exit 1 (got $?)" test $? -eq 1
  check "... the error names it and says permission" grep -q -i "$T/run.*permission" "$T/p2.log"
  cat "$T/p2.log" | grep gendec: | head -2
  as_nobody "$G" train "$T/ts.yaml" --out "$T/run/new" --set train.max_steps=60 >"$T/p3.log" 2>&1
  check "train into a new folder that cannot be created: exit 1 (got $?)" test $? -eq 1
  check "... naming it" grep -q "$T/run/new" "$T/p3.log"
  check "model.h5 and eval.h5 still intact" test "$(sums)" = "$before"
  check "no temporary files" no_temps
else
  echo "$me: not root (or no setpriv): the unwritable-folder part is skipped"
fi

# and the intact files still work: the run resumes and finishes
"$G" train "$T/ts.yaml" --out "$T/run" --set train.max_steps=60 --resume 2>"$T/ok.log"
check "afterwards --resume finishes the run" test $? -eq 0 -a "$(attr "$T/run/model.h5" /train/steps)" = 60
finish
