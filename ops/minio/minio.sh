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
#   PAGESTREAM_MINIO_STOP_TIMEOUT   seconds, default 20
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
STOP_TIMEOUT="${PAGESTREAM_MINIO_STOP_TIMEOUT:-20}"
HOST=127.0.0.1

MINIO_DIR="$STATE_DIR/minio"
DATA_DIR="$MINIO_DIR/data"
LOG_DIR="$MINIO_DIR/logs"
PID_FILE="$MINIO_DIR/minio.pid"

NAME=minio.sh
PROC_PATTERN='minio server'
LOG_FILES=("$LOG_DIR/minio.log")
# shellcheck source=ops/lib.sh
source "$SCRIPT_DIR/../lib.sh"

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
  MINIO_ROOT_USER="${PAGESTREAM_S3_ACCESS_KEY:-pagestream}" \
  MINIO_ROOT_PASSWORD="${PAGESTREAM_S3_SECRET_KEY:-pagestream-local}" \
  MINIO_BROWSER_REDIRECT=off MINIO_UPDATE=off \
  spawn "$BIN" server "$DATA_DIR" --address "$HOST:$PORT" --console-address "$HOST:$CONSOLE_PORT" --quiet \
    >>"$LOG_DIR/minio.log" 2>&1 &
  wait_until_up healthy "MinIO on http://$HOST:$PORT"
}

cmd_status() { status_line "http://$HOST:$PORT"; }

case "${1:-help}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  env) echo "BIN=$BIN STATE_DIR=$STATE_DIR PORT=$PORT" ;;
  help|-h|--help) usage ;;
  *) usage; exit 2 ;;
esac
