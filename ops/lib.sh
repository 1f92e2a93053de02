# shellcheck shell=bash
# Process handling shared by the service scripts in ops/ (kafka, registry, minio); sourced, not run.
#
# The sourcing script sets, before calling these functions:
#   NAME           log prefix, e.g. kafka.sh
#   HOST           address the service binds to (127.0.0.1)
#   PID_FILE       where the service's pid is kept
#   PROC_PATTERN   regex the service's command line matches (guards against pid reuse)
#   START_TIMEOUT, STOP_TIMEOUT   seconds
#   LOG_FILES      array of the service's log files, newest-first for `logs`
# and may set POM (for pom_hash).

log() { echo "$NAME: $*" >&2; }
die() { log "$*"; exit 1; }

# java from $JAVA, else $JAVA_HOME/bin/java, else the one on PATH.
find_java() {
  if [[ -n "${JAVA:-}" ]]; then :
  elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
  else JAVA=java
  fi
}

# Fetch stamps record a hash of pom.xml, so editing the pom triggers a re-fetch.
pom_hash() { cksum < "$POM" | awk '{print $1 "-" $2}'; }

read_pid() { if [[ -f "$PID_FILE" ]]; then tr -d ' \n' < "$PID_FILE"; fi; }

# Running = the pid file names a live process whose command line is really our service.
running_pid() {
  local pid
  pid="$(read_pid)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  ps -p "$pid" -o args= 2>/dev/null | grep -Eq "$PROC_PATTERN" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Runs "$@" in a new session, so the service outlives the calling shell; the inner bash records
# its own pid and execs the command, so the pid file names the service itself. Callers redirect
# output and put it in the background.
spawn() {
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PID_FILE" "$@" </dev/null
}

print_tail() {
  local f
  for f in "${LOG_FILES[@]}"; do
    if [[ -s "$f" ]]; then
      echo "==> $f <=="
      tail -n 40 "$f"
    fi
  done
}

# Waits until `$1` (a command) succeeds while the service runs; on an early exit or after
# START_TIMEOUT it prints the logs' tails, stops what is left and exits 1.
wait_until_up() {
  local check="$1" what="$2" started=$SECONDS
  while :; do
    if "$check" && running_pid >/dev/null; then
      log "$what is up (pid $(read_pid)) after $((SECONDS - started))s"
      return 0
    fi
    if [[ -s "$PID_FILE" ]] && ! kill -0 "$(read_pid)" 2>/dev/null; then
      log "$what exited during startup; last log lines:"
      print_tail >&2
      rm -f "$PID_FILE"
      exit 1
    fi
    if (( SECONDS - started >= START_TIMEOUT )); then
      log "$what not ready within ${START_TIMEOUT}s; last log lines:"
      print_tail >&2
      cmd_stop || true
      exit 1
    fi
    sleep 0.5
  done
}

# SIGTERM, wait for a clean exit, SIGKILL after STOP_TIMEOUT.
cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= STOP_TIMEOUT * 2 )); then
      log "no clean exit after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  log "stopped"
}

# Exit 0 and "running (pid N, $1)" if the service runs, 1 and "not running" otherwise.
status_line() {
  local pid
  if pid="$(running_pid)"; then
    echo "running (pid $pid, $1)"
    return 0
  fi
  echo "not running"
  return 1
}

cmd_logs() {
  local f=""
  for candidate in "${LOG_FILES[@]}"; do
    if [[ -f "$candidate" ]]; then f="$candidate"; break; fi
  done
  [[ -n "$f" ]] || die "no logs yet"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$f"
  fi
  tail -n 200 "$f"
}

# The sourcing script's header comment, from line 2 to `set -euo pipefail`.
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
}
