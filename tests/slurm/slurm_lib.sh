# Shared by the tests that need the local Slurm (sourced, not a test itself): skips (77) without the Slurm
# packages or root, serialises the tests of every build folder on one lock, starts scripts/slurm-local.sh when
# it does not run and stops it at exit (even on failure), and gives helpers to submit and wait.
# The sourcing test sets `me` first. Env: GD_BINARY, GD_SOURCE_DIR; GD_TEST_KEEP=1 keeps the work folder.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
src="${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}"
bin="${GD_BINARY:?set GD_BINARY to the gendec executable}"
local_slurm="$src/scripts/slurm-local.sh"

skip() { echo "$me: skipped: $*" >&2; exit 77; }
fail() {
  echo "$me: FAIL: $*" >&2
  exit 1
}

for t in slurmctld slurmd sbatch squeue scontrol scancel srun munged munge; do
  command -v "$t" >/dev/null 2>&1 || skip "'$t' is not installed (bash scripts/install-deps.sh --slurm)"
done
[ "$(id -u)" -eq 0 ] || skip "the local Slurm runs as root (SlurmUser=root); run the tests as root"

# One local Slurm per machine: test runs of other build folders (or ctest -j) wait for this one. A waiting
# test announces itself with a file /tmp/gendec-slurm-test.wait.<pid>, so that the test before it can leave
# the cluster it started running and hand it over instead of stopping it (saves a stop and a start).
lock=/tmp/gendec-slurm-test.lock
waitfile="/tmp/gendec-slurm-test.wait.$$"
: >"$waitfile"
exec 8>"$lock"
if ! flock -w 600 8; then
  rm -f "$waitfile"
  fail "another Slurm test has held $lock for 10 minutes"
fi
rm -f "$waitfile"

# 0 if another Slurm test is waiting for the lock (stale files of tests that died are removed).
others_waiting() {
  local f pid
  for f in /tmp/gendec-slurm-test.wait.*; do
    [ -e "$f" ] || continue
    pid="${f##*.}"
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'tests/slurm/test_'; then return 0; fi
    rm -f "$f"
  done
  return 1
}

# Nothing of an enclosing allocation (a user running ctest inside a Slurm job) leaks into the jobs.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(SLURM_[A-Za-z0-9_]*\|SBATCH_[A-Za-z0-9_]*\|SRUN_[A-Za-z0-9_]*\|SALLOC_[A-Za-z0-9_]*\)=.*/\1/p')
eval "$(bash "$local_slurm" env)"
export SLURM_CONF

work=$(mktemp -d /tmp/gendec-slurm-job.XXXXXX)
started=0
jobs_submitted=()
cleanup() {
  local rc=$?
  trap - EXIT
  if [ ${#jobs_submitted[@]} -gt 0 ]; then scancel "${jobs_submitted[@]}" 2>/dev/null || true; fi
  if [ "$started" = 1 ]; then
    if others_waiting; then
      echo "$me: leaving the local Slurm up for the Slurm test that waits for it"
    else
      rm -f "$owner"
      bash "$local_slurm" stop 8>&- || rc=1
    fi
  fi
  if [ "$rc" -eq 0 ] && [ "${GD_TEST_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "$me: the jobs' files are in $work" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$SECONDS
# Stopped at the end only if this test started it, or took it over from the Slurm test before it (the marker
# file $owner): a cluster someone started by hand stays up (slurm-local.sh start removes the marker).
slurm_dir="$(dirname "$SLURM_CONF")"
owner="$slurm_dir/started-by-test"
ctld_before=$(cat "$slurm_dir/slurmctld.pid" 2>/dev/null || true)
if bash "$local_slurm" status >/dev/null 2>&1; then
  if [ -e "$owner" ]; then
    started=1
    echo "$me: taking over the local Slurm that the previous Slurm test left up"
  else
    echo "$me: using the local Slurm that is already running"
  fi
else
  started=1
  bash "$local_slurm" start 8>&- || fail "scripts/slurm-local.sh start failed"
  if [ -n "$ctld_before" ] && [ "$(cat "$slurm_dir/slurmctld.pid" 2>/dev/null)" = "$ctld_before" ] &&
     [ -e "/proc/$ctld_before" ]; then
    started=0
  else
    : >"$owner"
  fi
fi
echo "$me: Slurm up after $((SECONDS - t0)) s"


# submit ARGS...: sbatch --parsable, prints the job id.
submit() {
  local id
  id=$(sbatch --parsable "$@") || fail "sbatch $* failed"
  id="${id%%;*}"
  jobs_submitted+=("$id")
  echo "$id"
}

# field JOB KEY: KEY=value from `scontrol show job` (first line that has it; for an array, its first task).
field() { scontrol -o show job "$1" 2>/dev/null | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

# wait_done TIMEOUT JOB...: until no task of the jobs is pending, running, completing or requeued.
wait_done() {
  local limit="$1" t=$SECONDS states
  shift
  while :; do
    states=$(for j in "$@"; do scontrol -o show job "$j" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' || true; done)
    if ! grep -q -E 'PENDING|RUNNING|COMPLETING|REQUEUE|CONFIGURING|SUSPENDED' <<<"$states" && [ -n "$states" ]; then
      return 0
    fi
    if [ $((SECONDS - t)) -ge "$limit" ]; then
      squeue >&2 || true
      fail "jobs $* not done after ${limit}s (states: $(tr '\n' ' ' <<<"$states"))"
    fi
    sleep 0.2
  done
}

# wait_file TIMEOUT FILE PATTERN: until FILE has a line matching PATTERN.
wait_file() {
  local t=$SECONDS
  until grep -q -E "$3" "$2" 2>/dev/null; do
    [ $((SECONDS - t)) -lt "$1" ] || { squeue >&2 || true; fail "no '$3' in $2 after $1 s"; }
    sleep 0.1
  done
}

# expect_completed JOB: every task of JOB ended COMPLETED with exit code 0:0.
expect_completed() {
  local lines
  lines=$(scontrol -o show job "$1" | sed -n 's/.* JobState=\([A-Z_]*\) .* ExitCode=\([0-9:]*\) .*/\1 \2/p' || true)
  [ -n "$lines" ] || fail "job $1: scontrol shows no state (did the cluster stop?)"
  if grep -v -x 'COMPLETED 0:0' <<<"$lines" >&2; then fail "job $1 did not complete cleanly (log files in $work)"; fi
}

