# ---- gendec job helpers (jobs/lib.sh, inlined by `gendec submit` in place of the GD_JOB_LIB line) ----
# Preemption and time limits: with `--signal=B:USR1@120` Slurm sends SIGUSR1 to this batch shell 120 s before
# the time limit (or before a preemption with a grace time); the shell forwards it to the running program
# (srun passes it on to every rank), which saves its state and exits with 75 (EX_TEMPFAIL). The job then
# requeues itself (it was submitted with --requeue) and its next run, where SLURM_RESTART_COUNT > 0, passes
# --resume. SIGTERM (scancel, scontrol requeue, preemption, time limit) is forwarded too, but then Slurm
# decides what happens next: the script does not requeue a job that Slurm is already ending.
set -u
gd_job_child=""      # PID of the running program (or srun)
gd_job_pending=""    # a signal received before the program started
gd_job_terminated=0  # 1 once SIGTERM arrived
gd_job_max_restarts="${GD_JOB_MAX_RESTARTS:-50}"

# Prints a timestamped line to the job's log.
gd_job_log() {
  printf 'gendec-job %s [job %s%s restart %s]: %s\n' "$(date -u +%FT%TZ)" "${SLURM_JOB_ID:-?}" \
    "${SLURM_ARRAY_TASK_ID:+ task $SLURM_ARRAY_TASK_ID}" "${SLURM_RESTART_COUNT:-0}" "$*"
}

# Passes signal $1 on to the running program (or keeps it for when the program starts).
gd_job_forward() {
  gd_job_log "received SIG$1"
  [ "$1" = TERM ] && gd_job_terminated=1
  if [ -n "$gd_job_child" ]; then
    kill -s "$1" "$gd_job_child" 2>/dev/null || true
  else
    gd_job_pending="$1"
  fi
}
trap 'gd_job_forward USR1' USR1
trap 'gd_job_forward USR2' USR2
trap 'gd_job_forward TERM' TERM

# Prints --resume when Slurm restarted this job (requeued after a preemption, a node failure or by itself).
gd_job_resume() {
  if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then echo --resume; fi
}

# Runs "$@" with signal forwarding, waits for it and returns its exit status; on 75 (state saved, run again)
# after a warning signal, requeues this job, at most GD_JOB_MAX_RESTARTS times.
gd_job_run() {
  local rc
  gd_job_log "start on $(hostname -s): $*"
  "$@" &
  gd_job_child=$!
  if [ -n "$gd_job_pending" ]; then kill -s "$gd_job_pending" "$gd_job_child" 2>/dev/null || true; fi
  # A trapped signal interrupts `wait`; wait again until the program itself has ended.
  while :; do
    wait "$gd_job_child"
    rc=$?
    kill -0 "$gd_job_child" 2>/dev/null || break
  done
  gd_job_child=""
  if [ "$rc" -eq 75 ] && [ "$gd_job_terminated" -eq 0 ]; then
    if [ "${SLURM_RESTART_COUNT:-0}" -lt "$gd_job_max_restarts" ]; then
      gd_job_log "state saved (exit 75): requeueing job ${SLURM_JOB_ID:-?}"
      scontrol requeue "${SLURM_JOB_ID:-}" || gd_job_log "scontrol requeue failed: resubmit by hand"
    else
      gd_job_log "state saved (exit 75) but the job restarted ${SLURM_RESTART_COUNT:-0} times already: not requeued"
    fi
  fi
  gd_job_log "exit $rc"
  return "$rc"
}
# ---- end of the gendec job helpers ----
