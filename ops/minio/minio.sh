#!/usr/bin/env bash
# Local MinIO (S3-compatible object store) for pagestream development, on 127.0.0.1.
#
# MinIO is built from source with `go install` through the Go module proxy (no binary download;
# about 4 minutes and 2 GB of Go caches on 2 cores, once), then started from the cache.
#
# Usage: ops/minio/minio.sh {fetch|start|stop|restart|status|logs|env}
#
# Settings (environment variables):
#   PAGESTREAM_STATE_DIR       default <repo root>/.pagestream (data: $STATE_DIR/minio/data)
#   PAGESTREAM_MINIO_CACHE     default ${XDG_CACHE_HOME:-$HOME/.cache}/pagestream/minio-<version>
#   PAGESTREAM_MINIO_BIN       use this minio binary instead of building one
#   PAGESTREAM_S3_PORT         S3 API port, default 9000 (the console listens on the next port)
#   PAGESTREAM_S3_ACCESS_KEY   root user, default pagestream
#   PAGESTREAM_S3_SECRET_KEY   root password, default pagestream-local (local use only)
#   PAGESTREAM_MINIO_START_TIMEOUT  seconds, default 60
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

# Pinned: the module proxy resolves MinIO's default branch to this pseudo-version.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

STATE_DIR="${PAGESTREAM_STATE_DIR:-$REPO_ROOT/.pagestream}"
CACHE_DIR="${PAGESTREAM_MINIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pagestream/minio-$MINIO_VERSION}"
BIN="${PAGESTREAM_MINIO_BIN:-$CACHE_DIR/bin/minio}"
PORT="${PAGESTREAM_S3_PORT:-9000}"
CONSOLE_PORT=$((PORT + 1))
START_TIMEOUT="${PAGESTREAM_MINIO_START_TIMEOUT:-60}"
HOST=127.0.0.1

MINIO_DIR="$STATE_DIR/minio"
DATA_DIR="$MINIO_DIR/data"
LOG_DIR="$MINIO_DIR/logs"
PID_FILE="$MINIO_DIR/minio.pid"

log() { echo "minio.sh: $*" >&2; }
die() { log "$*"; exit 1; }

read_pid() { cat "$PID_FILE" 2>/dev/null || true; }

running_pid() {
  local pid
  pid="$(read_pid)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && ps -o args= -p "$pid" | grep -q "minio server" && echo "$pid"
}

healthy() { curl -sf -o /dev/null --max-time 2 "http://$HOST:$PORT/minio/health/live"; }

cmd_fetch() {
  if [[ -x "$BIN" ]]; then
    log "minio binary present: $BIN"
    return 0
  fi
  command -v go >/dev/null || die "go not found: install Go to build MinIO, or set PAGESTREAM_MINIO_BIN"
  log "building MinIO $MINIO_VERSION with go install (once; about 4 minutes on 2 cores)"
  mkdir -p "$CACHE_DIR/bin"
  GOBIN="$CACHE_DIR/bin.tmp.$$" go install "$MINIO_MODULE@$MINIO_VERSION"
  mv "$CACHE_DIR/bin.tmp.$$/minio" "$BIN"
  rmdir "$CACHE_DIR/bin.tmp.$$"
  log "built $BIN"
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, http://$HOST:$PORT)"
    return 0
  fi
  cmd_fetch
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  log "starting MinIO on http://$HOST:$PORT (console $CONSOLE_PORT), data in $DATA_DIR"
  local started=$SECONDS
  # shellcheck disable=SC2016
  MINIO_ROOT_USER="${PAGESTREAM_S3_ACCESS_KEY:-pagestream}" \
  MINIO_ROOT_PASSWORD="${PAGESTREAM_S3_SECRET_KEY:-pagestream-local}" \
  MINIO_BROWSER_REDIRECT=off MINIO_UPDATE=off \
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PID_FILE" \
    "$BIN" server "$DATA_DIR" --address "$HOST:$PORT" --console-address "$HOST:$CONSOLE_PORT" --quiet \
    </dev/null >>"$LOG_DIR/minio.log" 2>&1 &
  until healthy; do
    if [[ -s "$PID_FILE" ]] && ! kill -0 "$(read_pid)" 2>/dev/null; then
      log "MinIO exited during startup; last log lines:"; tail -n 30 "$LOG_DIR/minio.log" >&2
      rm -f "$PID_FILE"; exit 1
    fi
    if (( SECONDS - started >= START_TIMEOUT )); then
      log "MinIO not healthy after ${START_TIMEOUT}s; last log lines:"; tail -n 30 "$LOG_DIR/minio.log" >&2
      cmd_stop || true; exit 1
    fi
    sleep 0.3
  done
  log "MinIO is up (pid $(read_pid)) after $((SECONDS - started))s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"; log "not running"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; log "stopped"; return 0; }
    sleep 0.2
  done
  log "no clean exit after 20s; killing"; kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then echo "running (pid $pid, http://$HOST:$PORT)"; return 0; fi
  echo "not running"; return 1
}

case "${1:-help}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  logs) tail -n 50 "$LOG_DIR/minio.log" ;;
  env) echo "BIN=$BIN STATE_DIR=$STATE_DIR PORT=$PORT" ;;
  *) sed -n '2,16p' "$0"; [[ "${1:-help}" == help ]] ;;
esac
