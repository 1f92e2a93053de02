#!/usr/bin/env bash
# Local Apicurio Registry (Confluent-compatible schema registry API) for pagestream development.
#
# Runs Apicurio's Quarkus distribution from Maven Central (see pom.xml here), no Docker.
# Binds to 127.0.0.1. Clients (confluent-kafka SchemaRegistryClient etc.) use
#   http://127.0.0.1:<port>/apis/ccompat/v7
#
# Storage is KafkaSQL: every change is journaled in the Kafka topic "kafkasql-journal"
# (retention forced to infinite) and replayed on start, so schema ids survive registry
# restarts and live in the same Kafka (and state dir) as the messages that carry them.
# Consequence: Kafka must be running first (ops/kafka/kafka.sh start), and wiping the
# Kafka data dir also wipes the registry.
# Compatibility: BACKWARD is the global default rule; incompatible schemas get HTTP 409.
#
# Usage: ops/registry/registry.sh {fetch|start|stop|restart|status|logs [-f]|env}
#
#   fetch    unpack the Apicurio distribution into the cache dir (skipped when already done)
#   start    fetch if needed, start the registry in the background and wait until
#            GET /apis/ccompat/v7/subjects answers 200
#   stop     SIGTERM, wait for a clean shutdown, SIGKILL after the timeout
#   status   exit 0 if the registry is running, 1 otherwise
#   logs     tail registry.log (-f to follow)
#   env      print the effective settings
#
# Settings (environment variables):
#   PAGESTREAM_STATE_DIR               default <repo root>/.pagestream (logs: $STATE_DIR/registry/logs)
#   PAGESTREAM_REGISTRY_CACHE          default ${XDG_CACHE_HOME:-$HOME/.cache}/pagestream/apicurio-<version>
#   PAGESTREAM_REGISTRY_PORT           HTTP port, default 8081
#   PAGESTREAM_KAFKA_PORT              Kafka broker port on 127.0.0.1 (storage), default 9092
#   PAGESTREAM_REGISTRY_JAVA_OPTS      default "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
#   PAGESTREAM_REGISTRY_START_TIMEOUT  seconds to wait for the API, default 90
#   PAGESTREAM_REGISTRY_STOP_TIMEOUT   seconds to wait for a clean shutdown, default 20
#   JAVA                               java binary, default: $JAVA_HOME/bin/java or java on PATH (17+)
#   MVN                                maven binary, default mvn
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
POM="$SCRIPT_DIR/pom.xml"

# Single source of truth for the version: <apicurio.version> in pom.xml.
APICURIO_VERSION="$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$POM" | head -n 1)"
[[ -n "$APICURIO_VERSION" ]] || { echo "registry.sh: cannot read <apicurio.version> from $POM" >&2; exit 1; }

STATE_DIR="${PAGESTREAM_STATE_DIR:-$REPO_ROOT/.pagestream}"
CACHE_DIR="${PAGESTREAM_REGISTRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pagestream/apicurio-$APICURIO_VERSION}"
PORT="${PAGESTREAM_REGISTRY_PORT:-8081}"
KAFKA_PORT="${PAGESTREAM_KAFKA_PORT:-9092}"
JAVA_OPTS="${PAGESTREAM_REGISTRY_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
START_TIMEOUT="${PAGESTREAM_REGISTRY_START_TIMEOUT:-90}"
STOP_TIMEOUT="${PAGESTREAM_REGISTRY_STOP_TIMEOUT:-20}"
HOST=127.0.0.1
API_PATH=/apis/ccompat/v7

REG_DIR="$STATE_DIR/registry"
LOG_DIR="$REG_DIR/logs"
PID_FILE="$REG_DIR/registry.pid"
DIST_DIR="$CACHE_DIR/dist"
RUNNER_JAR="$DIST_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
FETCH_STAMP="$DIST_DIR/.fetched"

NAME=registry.sh
PROC_PATTERN='apicurio-registry-app-.*-runner\.jar'
LOG_FILES=("$LOG_DIR/registry.log" "$LOG_DIR/registry.out")
# shellcheck source=ops/lib.sh
source "$SCRIPT_DIR/../lib.sh"
find_java
MVN="${MVN:-mvn}"

is_fetched() { [[ -f "$FETCH_STAMP" && -f "$RUNNER_JAR" && "$(cat "$FETCH_STAMP")" == "$(pom_hash)" ]]; }

cmd_fetch() {
  if is_fetched; then
    log "Apicurio Registry $APICURIO_VERSION already fetched in $DIST_DIR"
    return 0
  fi
  command -v "$MVN" >/dev/null || die "maven ($MVN) not found"
  log "fetching Apicurio Registry $APICURIO_VERSION (~110 MB download) into $DIST_DIR"
  mkdir -p "$CACHE_DIR"
  local tmp="$CACHE_DIR/dist.tmp.$$"
  rm -rf "$tmp"
  # Unpack into a temp dir and swap it in, so an interrupted fetch never looks complete.
  # (sed drops the stray ANSI resets maven 3.8 prints even in quiet/batch mode)
  if ! "$MVN" -q -B -Dstyle.color=never -f "$POM" \
      dependency:unpack -Dregistry.dist.dir="$tmp" 2>&1 | sed $'s/\x1b\\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "maven fetch failed"
  fi
  rm -rf "$tmp/.markers"
  [[ -f "$tmp/${RUNNER_JAR##*/}" ]] || { rm -rf "$tmp"; die "unpacked distribution has no ${RUNNER_JAR##*/}"; }
  pom_hash > "$tmp/.fetched"
  rm -rf "$DIST_DIR"
  mv "$tmp" "$DIST_DIR"
  log "fetched $(find "$DIST_DIR/lib" -name '*.jar' | wc -l | tr -d ' ') jars + runner jar"
}

# HTTP status of GET $1 on the registry port ("000" if no answer); curl if present, else bash /dev/tcp.
http_status() {
  if command -v curl >/dev/null; then
    curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$HOST:$PORT$1" 2>/dev/null || true
    return 0
  fi
  local line=""
  if exec 3<>"/dev/tcp/$HOST/$PORT" 2>/dev/null; then
    printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$1" "$HOST" "$PORT" >&3
    IFS= read -r -t 5 line <&3 || true
    exec 3<&- 3>&-
  fi
  line="${line#HTTP/* }"
  echo "${line:0:3}"
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, http://$HOST:$PORT$API_PATH)"
    return 0
  fi
  rm -f "$PID_FILE"
  command -v "$JAVA" >/dev/null || die "java ($JAVA) not found; Apicurio Registry $APICURIO_VERSION needs Java 17+"
  if port_open "$PORT"; then
    die "port $HOST:$PORT is already in use by another process (set PAGESTREAM_REGISTRY_PORT)"
  fi
  # KafkaSQL storage: without the broker the registry would start but never become ready.
  port_open "$KAFKA_PORT" \
    || die "Kafka is not reachable on $HOST:$KAFKA_PORT (the registry stores its data there): run ops/kafka/kafka.sh start first"
  cmd_fetch
  mkdir -p "$LOG_DIR" "$REG_DIR/snapshots"

  log "starting Apicurio Registry $APICURIO_VERSION on $HOST:$PORT (storage: Kafka $HOST:$KAFKA_PORT), logs in $LOG_DIR"
  # Config notes:
  #  - apicurio.kafkasql.topic.* are topic configs applied when the registry creates its
  #    topics (journal, snapshots, events) on first start: never delete the journal.
  #  - consumer.poll.timeout: the journal replay at startup ends with an empty poll, so the
  #    default 5 s poll timeout adds 5 s to every start.
  #  - apicurio.rules.global.compatibility is the default global rule (not shown by
  #    GET /apis/ccompat/v7/config, which reports only explicitly set levels).
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of JVM flags
  spawn "$JAVA" $JAVA_OPTS -Djava.awt.headless=true \
    -Dquarkus.http.host="$HOST" \
    -Dquarkus.http.port="$PORT" \
    -Dapicurio.storage.kind=kafkasql \
    -Dapicurio.kafkasql.bootstrap.servers="$HOST:$KAFKA_PORT" \
    -Dapicurio.kafkasql.topic=kafkasql-journal \
    -Dapicurio.kafkasql.topic.retention.ms=-1 \
    -Dapicurio.kafkasql.topic.retention.bytes=-1 \
    -Dapicurio.kafkasql.consumer.poll.timeout=500 \
    -Dapicurio.storage.snapshot.location="$REG_DIR/snapshots" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.datasource.jdbc.initial-size=2 \
    -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    -Dquarkus.log.console.enable=false \
    -Dquarkus.log.file.enable=true \
    -Dquarkus.log.file.path="$LOG_DIR/registry.log" \
    -Dquarkus.log.file.json=false \
    -Dquarkus.log.file.format='%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{2.}] (%t) %s%e%n' \
    -Dquarkus.log.file.rotation.max-file-size=10M \
    -Dquarkus.log.file.rotation.max-backup-index=3 \
    -jar "$RUNNER_JAR" \
    >"$LOG_DIR/registry.out" 2>&1 &
  wait_until_up api_answers "registry at http://$HOST:$PORT$API_PATH"
}

api_answers() { [[ "$(http_status "$API_PATH/subjects")" == 200 ]]; }

cmd_status() { status_line "http://$HOST:$PORT$API_PATH, storage Kafka $HOST:$KAFKA_PORT"; }

cmd_env() {
  cat <<EOF
APICURIO_VERSION=$APICURIO_VERSION
PAGESTREAM_STATE_DIR=$STATE_DIR
PAGESTREAM_REGISTRY_CACHE=$CACHE_DIR
PAGESTREAM_REGISTRY_PORT=$PORT
PAGESTREAM_KAFKA_PORT=$KAFKA_PORT
PAGESTREAM_REGISTRY_JAVA_OPTS=$JAVA_OPTS
SCHEMA_REGISTRY_URL=http://$HOST:$PORT$API_PATH
EOF
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    env) cmd_env ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
