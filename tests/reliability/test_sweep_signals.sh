#!/usr/bin/env bash
# SIGTERM and SIGUSR2 during `gendec sweep`: the (beta, b, c) groups finished so far are saved in the partial file
# (sweep.partial.h5, or sweep.partial.slice-I-of-N.h5 for a slice of a job array), the process exits 75 (what the
# jobs/ templates requeue on), and `--resume` does the rest, giving a sweep file whose every dataset is the same,
# bit for bit, as an uninterrupted run's. On 1 rank (SIGTERM to the process, a slice that is then merged with the
# other slice) and on 2 ranks (SIGUSR2 to mpiexec, which forwards it). A partial sweep of another grid is refused
# on --resume; without --resume it is ignored and removed at the end.
me=test_sweep_signals
source "${GD_SOURCE_DIR:?}/tests/reliability/rel_lib.sh"
cols=(/sweep/points /sweep/counts /sweep/exact /sweep/rejection /sweep/argmax /sweep/answer /sweep/top2
      /sweep/noise_rejection /sweep/score)
"$G" train "$T/ts.yaml" --out "$T/run" 2>"$T/train.log" || { cat "$T/train.log"; exit 1; }
GRID=(--grid beta=0.5,1,2,4 --grid c=0.5,1,2 --grid l=0.2,0.5)
# "${SW[@]}" DIR [ARGS]: gendec sweep of the experiment with run folder DIR
SW=("$G" sweep "$T/ts.yaml" --results "$T/results" "${GRID[@]}" --out)
"${SW[@]}" "$T/run" >"$T/straight.log" 2>&1
check "uninterrupted sweep exits 0" test $? -eq 0
cp "$T/run/sweep.h5" "$T/straight.h5"
total=$(attr "$T/straight.h5" /sweep/total_points)

# interrupted NAME RANKS HOW SIGNAL PARTIAL [ARGS]: a sweep of run folder $T/$name, signalled by `how` once busy;
# PARTIAL is the partial file's name; then --resume.
interrupted() {
  local name=$1 n=$2 how=$3 sig=$4 part=$5 points launch=()
  shift 5
  [ "$n" = 2 ] && launch=("${MPI2[@]}")
  mkdir -p "$T/$name" && cp "$T/run/model.h5" "$T/$name/"
  signalled "$n" "$how" "$sig" "$T/$name.log" "${SW[@]}" "$T/$name" "$@"
  check "$name: SIG$sig -> exit 75 (got $rc)" test "$rc" -eq 75
  check "$name: no sweep file from the stopped run" test ! -e "$T/$name/sweep.h5" -a ! -e "$T/$name/sweep.slice-0-of-2.h5"
  check "$name: $part is complete" test "$(attr "$T/$name/$part" /complete)" = 1
  points=$(h5dump -H -d /sweep/points "$T/$name/$part" 2>/dev/null | sed -n 's/.*DATASPACE *SIMPLE { ( \([0-9]*\),.*/\1/p')
  check "$name: stopped in the middle (${points:-?} points of the slice saved)" test "${points:-0}" -gt 0 -a "${points:-$total}" -lt "$(attr "$T/$name/$part" /sweep/total_points)"
  check "$name: the message says how to go on" grep -q "$part: sweep stopped by a signal after .* groups (run again with --resume)" "$T/$name.log"
  "${launch[@]}" "${SW[@]}" "$T/$name" "$@" --resume >"$T/$name.resume.log" 2>&1
  check "$name: --resume exits 0" test $? -eq 0
  check "$name: --resume continued" grep -q "resuming after [1-9][0-9]* of [0-9]* (beta, b, c) groups" "$T/$name.resume.log"
  check "$name: $part removed" test ! -e "$T/$name/$part"
}
# a slice of a job array: slice 1 runs through, slice 0 is stopped and resumed, and then merges both
mkdir -p "$T/sliced" && cp "$T/run/model.h5" "$T/sliced/"
"${SW[@]}" "$T/sliced" --slice 1 --slices 2 >"$T/slice1.log" 2>&1
check "slice 1 of 2 exits 0" test $? -eq 0
interrupted sliced 1 process TERM sweep.partial.slice-0-of-2.h5 --slice 0 --slices 2
check "sliced: stopped + resumed + merged == uninterrupted (every dataset)" same_data "$T/sliced/sweep.h5" "$T/straight.h5" "${cols[@]}"
check "sliced: the same best point" test "$(attr "$T/sliced/sweep.h5" /sweep/best_index)" = "$(attr "$T/straight.h5" /sweep/best_index)"
check "sliced: the same Eq. 3 solves" test "$(attr "$T/sliced/sweep.h5" /sweep/chunks_solved)" = "$(attr "$T/straight.h5" /sweep/chunks_solved)"
if have_mpi; then
  interrupted two_usr2 2 mpiexec USR2 sweep.partial.h5
  check "two_usr2: stopped + resumed == uninterrupted (every dataset)" same_data "$T/two_usr2/sweep.h5" "$T/straight.h5" "${cols[@]}"
  check "two_usr2: the same Eq. 3 solves and refinements" test "$(attr "$T/two_usr2/sweep.h5" /sweep/candidates_refined)" = "$(attr "$T/straight.h5" /sweep/candidates_refined)"
fi

# a partial sweep of another grid: refused on --resume, ignored (and removed) without it
mkdir -p "$T/other" && cp "$T/run/model.h5" "$T/other/"
signalled 1 process TERM "$T/other.log" "${SW[@]}" "$T/other" --grid yu=0.6,0.7
check "other grid: stopped with 75" test "$rc" -eq 75
"${SW[@]}" "$T/other" --resume >"$T/other.resume.log" 2>&1
check "--resume with another grid -> exit 1" test $? -eq 1
check "... naming the partial file and what differs" grep -q 'sweep.partial.h5.*a partial sweep of other images, another model, grid or options' "$T/other.resume.log"
check "... and no sweep.h5" test ! -e "$T/other/sweep.h5"
"${SW[@]}" "$T/other" >"$T/other.fresh.log" 2>&1
check "without --resume: a fresh sweep exits 0" test $? -eq 0
check "... equal to the uninterrupted one" same_data "$T/other/sweep.h5" "$T/straight.h5" "${cols[@]}"
check "... and the stale partial file is gone" test ! -e "$T/other/sweep.partial.h5"
finish
