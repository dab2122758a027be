# Shared by the fault tests of tests/reliability (sourced, not a test itself): a work folder, check/fail
# helpers, a tiny traffic-sign experiment, process helpers for real signals, and bit-exact comparisons of
# HDF5 datasets. The sourcing test sets `me` first. Env: GD_BINARY, GD_MPIEXEC (optional), GD_SOURCE_DIR.
set -u
G="${GD_BINARY:?set GD_BINARY to the gendec executable}"
MPIEXEC="${GD_MPIEXEC:-mpiexec}"
export OPENBLAS_NUM_THREADS=1
T=$(mktemp -d /tmp/gendec-rel.XXXXXX)
chmod 755 "$T"
fails=0
rel_cleanup() {
  local rc=$?
  trap - EXIT
  if [ "${GD_TEST_KEEP:-0}" = 1 ]; then echo "$me: files kept in $T" >&2; else rm -rf "$T"; fi
  exit "$rc"
}
trap rel_cleanup EXIT

skip() { echo "$me: skipped: $*" >&2; exit 77; }
# check WHAT COMMAND...: runs the command, counts a failure when it fails.
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
# finish: the test's exit status.
finish() {
  echo "$me: $fails failed"
  exit $((fails > 0))
}
command -v h5dump >/dev/null || skip "h5dump (hdf5-tools) is needed"
have_mpi() { command -v "$MPIEXEC" >/dev/null; }
# "${MPI2[@]}" prog args: 2 ranks (an array, not a function, so that `... &` gives the PID of mpiexec itself).
MPI2=("$MPIEXEC" --allow-run-as-root --oversubscribe -n 2)

# The tiny experiment (16 x 16 traffic signs, an MLP c-VAE, a few classifier steps): a run folder trains in
# well under a second on one rank.
source "${GD_SOURCE_DIR:?}/tests/ts_tiny.sh"
ts_tiny_yaml "$T/ts.yaml" name=ts_rel n_test=48 more="infer: {steps: 400, refine_steps: 100, restarts: 1, batch: 2}"

# attr FILE PATH: the value of one scalar attribute (h5dump's text).
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1; }

# same_data FILE_A FILE_B DATASET...: every dataset holds the same bytes in both files (h5dump -b writes the
# raw little-endian values; a missing dataset fails).
same_data() {
  local a=$1 b=$2 d ok=0
  shift 2
  for d in "$@"; do
    rm -f "$T/.a.bin" "$T/.b.bin"
    h5dump -d "$d" -b LE -o "$T/.a.bin" "$a" >/dev/null 2>&1 && h5dump -d "$d" -b LE -o "$T/.b.bin" "$b" >/dev/null 2>&1 ||
      { echo "  $d: cannot read it from $a or $b"; ok=1; continue; }
    [ -s "$T/.a.bin" ] || { echo "  $d: empty in $a"; ok=1; continue; }
    cmp -s "$T/.a.bin" "$T/.b.bin" || { echo "  $d differs between $a and $b"; ok=1; }
  done
  return $ok
}
# The weights and Adam state of a checkpoint / model file.
same_weights() { same_data "$1" "$2" /ckpt/params /ckpt/adam_m /ckpt/adam_v; }

# descendants PID: every process below PID (children, grandchildren, ...), one PID a line.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2 } END {
    for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root && p != root) print p } }'
}
# gendec_pids PID: the gendec processes at or below PID (the ranks of an mpiexec), sorted.
gendec_pids() {
  local p
  for p in "$1" $(descendants "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = gendec ] && echo "$p"
  done | sort -n
}
# catches PID SIGNUM: 0 when PID has a handler installed for SIGNUM.
catches() {
  local m
  m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$m" ] && (((0x$m >> ($2 - 1)) & 1))
}
# alive PID: 0 when PID runs (a zombie does not count).
alive() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# cpu_ticks PID: user + system CPU time of PID in clock ticks (-1 when it is gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo -1; }

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms; fails after SECONDS.
wait_until() {
  local limit=$1 t0=$SECONDS
  shift
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$limit" ] || return 1
    sleep 0.05
  done
}
# wait_ranks PID N SIGNUM SECONDS: until N gendec processes run at or below PID and all catch SIGNUM (their
# handler is installed: the command has started); prints their PIDs.
wait_ranks() {
  local pid=$1 n=$2 sig=$3 limit=$4 t0=$SECONDS ps p ok
  while :; do
    ps=$(gendec_pids "$pid")
    if [ "$(grep -c . <<<"$ps")" -eq "$n" ]; then
      ok=1
      for p in $ps; do catches "$p" "$sig" || ok=0; done
      [ $ok = 1 ] && { echo $ps; return 0; }
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    [ $((SECONDS - t0)) -lt "$limit" ] || return 1
    sleep 0.05
  done
}
# wait_busy PID TICKS SECONDS: until PID has used TICKS more clock ticks of CPU than now (it is computing), or
# has ended; fails after SECONDS.
wait_busy() {
  local t0 t start=$SECONDS
  t0=$(cpu_ticks "$1")
  while :; do
    t=$(cpu_ticks "$1")
    [ "$t" -lt 0 ] || [ "$t" -ge $((t0 + $2)) ] && return 0
    [ $((SECONDS - start)) -lt "$3" ] || return 1
    sleep 0.05
  done
}
# wait_exit PID SECONDS: waits for the background job PID to end by itself; sets $rc to its exit status.
# A job still running after SECONDS is killed (with its processes) and rc=124: the test counts it as a hang.
wait_exit() {
  local pid=$1 limit=$2 t0=$SECONDS p
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$limit" ]; then
      for p in $(descendants "$pid") "$pid"; do kill -KILL "$p" 2>/dev/null; done
      wait "$pid" 2>/dev/null
      rc=124
      return
    fi
    sleep 0.05
  done
  wait "$pid"
  rc=$?
}
# signalled RANKS HOW SIGNAL LOG COMMAND...: runs COMMAND (on 2 ranks under mpiexec when RANKS is 2) with its output
# in LOG, sends SIGNAL once it computes (HOW: process = to every rank, mpiexec = to mpiexec, which forwards it) and
# waits for it to end by itself; sets $rc to its exit status (124: it hung and was killed).
signalled() {
  local n=$1 how=$2 sig=$3 log=$4 signum pids pid launch=()
  shift 4
  signum=$(kill -l "$sig")
  [ "$n" = 2 ] && launch=("${MPI2[@]}")
  "${launch[@]}" "$@" >"$log" 2>&1 &
  pid=$!
  pids=$(wait_ranks $pid "$n" "$signum" 60) || echo "$log: the ranks did not start"
  wait_busy "${pids%% *}" 10 60
  case $how in
    process) kill -s "$sig" $pids ;;
    mpiexec) kill -s "$sig" $pid ;;
  esac
  wait_exit $pid 60
}
