#!/usr/bin/env bash
# Stock Keycloak (org.keycloak:keycloak-quarkus-dist from Maven Central) as a real
# authorization server that accepts ID-JAGs, for the interop test core/tests/keycloak.rs.
#
#   scripts/keycloak.sh fetch    download (verified against Maven Central's .sha512/.sha1) and unpack
#   scripts/keycloak.sh start    fetch, then start `kc.sh start-dev` on 127.0.0.1 in the background
#                                and wait (bounded) until it serves; prints the base URL
#   scripts/keycloak.sh stop     stop the instance started by `start` on KEYCLOAK_PORT (by its
#                                recorded pid, and only if that pid runs this Keycloak tree)
#   scripts/keycloak.sh status   "running <url>" (exit 0) or "stopped" (exit 1)
#   scripts/keycloak.sh url      the base URL `start` uses
#
# Idempotent: a verified download is reused, an already unpacked tree is reused, and `start`
# does nothing when the instance is already up. Everything lives in .cache/keycloak/
# (gitignored). Loopback only: HTTP and management interfaces bind to 127.0.0.1.
#
# Environment (all optional):
#   KEYCLOAK_VERSION      default 26.7.3 (the first line with the ID-JAG receiver is 26.7.x)
#   KEYCLOAK_PORT         HTTP port, default 18080; the management port (health) is PORT+1.
#                         "auto" (start only): a free pair from 18100 up, so concurrent runs
#                         (scripts/test.sh) each get their own instance; stop with the printed port
#   KEYCLOAK_START_TIMEOUT  seconds to wait for readiness, default 180
#   KEYCLOAK_CACHE        cache dir, default <repo>/.cache/keycloak
#   KC_BOOTSTRAP_ADMIN_USERNAME / KC_BOOTSTRAP_ADMIN_PASSWORD   default admin / admin
#   JAVA_HOME             a JDK >= 21; otherwise one is searched under /usr/lib/jvm and /opt
#   KEYCLOAK_MIN_JAVA     lowest accepted Java major version, default 21
#   JAVA_OPTS_KC_HEAP     default "-Xms64m -Xmx512m"
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${KEYCLOAK_VERSION:-26.7.3}"
HOST=127.0.0.1
CACHE="${KEYCLOAK_CACHE:-$ROOT/.cache/keycloak}"
TIMEOUT="${KEYCLOAK_START_TIMEOUT:-180}"
ARTIFACT="keycloak-quarkus-dist-$VERSION.tar.gz"
MAVEN_URL="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$VERSION/$ARTIFACT"
KC_HOME="$CACHE/keycloak-$VERSION"
# Keycloak 26 supports OpenJDK 21 and 25. (26.7.3 also boots on 17 in dev mode, unsupported;
# KEYCLOAK_MIN_JAVA=17 allows that.)
MIN_JAVA="${KEYCLOAK_MIN_JAVA:-21}"

log() { printf '[keycloak] %s\n' "$*" >&2; }
die() {
  printf '[keycloak] error: %s\n' "$*" >&2
  exit 1
}

java_major() { # prints the major version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n1
}

find_java_home() {
  local cand best="" best_v=0 v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    v="$(java_major "$JAVA_HOME/bin/java")"
    if [ "${v:-0}" -ge "$MIN_JAVA" ]; then
      echo "$JAVA_HOME"
      return 0
    fi
    log "JAVA_HOME=$JAVA_HOME is Java ${v:-?}; Keycloak $VERSION needs >= $MIN_JAVA, searching for another JDK"
  fi
  for cand in /usr/lib/jvm/* /opt/* /opt/java/* /usr/local/*; do
    [ -x "$cand/bin/java" ] || continue
    v="$(java_major "$cand/bin/java")"
    if [ "${v:-0}" -ge "$MIN_JAVA" ] && [ "$v" -gt "$best_v" ]; then
      best="$cand"
      best_v="$v"
    fi
  done
  if [ -z "$best" ] && command -v java >/dev/null; then
    cand="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    v="$(java_major "$cand/bin/java")"
    [ "${v:-0}" -ge "$MIN_JAVA" ] && best="$cand"
  fi
  [ -n "$best" ] || die "no JDK >= $MIN_JAVA found (looked at \$JAVA_HOME, /usr/lib/jvm/*, /opt/*, /usr/local/*, java on PATH). Keycloak $VERSION supports Java 21 and 25; install a JDK 21 or 25 (e.g. Temurin) or set JAVA_HOME."
  echo "$best"
}

verify_sum() { # verify_sum FILE: checks FILE against Maven Central's .sha512, falling back to .sha1
  local file="$1" algo want got
  for algo in sha512 sha1; do
    if want="$(curl -fsS --retry 3 "$MAVEN_URL.$algo" 2>/dev/null)"; then
      want="$(printf '%s' "$want" | awk '{print $1}' | tr 'A-F' 'a-f')"
      got="$("${algo}sum" "$file" | awk '{print $1}')"
      if [ -n "$want" ] && [ "$want" = "$got" ]; then
        log "verified $ARTIFACT ($algo $got)"
        printf '%s %s\n' "$algo" "$got" >"$file.verified"
        return 0
      fi
      log "$algo mismatch for $file: want $want, got $got"
      return 1
    fi
  done
  log "could not fetch a .sha512 or .sha1 for $MAVEN_URL"
  return 1
}

fetch() {
  mkdir -p "$CACHE"
  local tgz="$CACHE/$ARTIFACT"
  if [ -x "$KC_HOME/bin/kc.sh" ] && [ -f "$KC_HOME/.unpacked" ]; then
    return 0
  fi
  if [ ! -f "$tgz.verified" ] || [ ! -f "$tgz" ]; then
    log "downloading $MAVEN_URL"
    local t0=$SECONDS
    curl -fsS --retry 3 -o "$tgz.part" "$MAVEN_URL" || die "download of $MAVEN_URL failed"
    mv "$tgz.part" "$tgz"
    log "downloaded $(du -m "$tgz" | cut -f1) MiB in $((SECONDS - t0)) s"
    if ! verify_sum "$tgz"; then
      rm -f "$tgz" "$tgz.verified"
      die "checksum verification of $ARTIFACT failed"
    fi
  fi
  log "unpacking into $KC_HOME"
  rm -rf "$KC_HOME"
  tar -xzf "$tgz" -C "$CACHE"
  [ -x "$KC_HOME/bin/kc.sh" ] || die "$ARTIFACT did not unpack to keycloak-$VERSION/"
  touch "$KC_HOME/.unpacked"
}

set_port() { # set_port N: derives every per-instance path and URL from the HTTP port
  PORT="$1"
  MGMT_PORT="$((PORT + 1))"
  BASE_URL="http://$HOST:$PORT"
  RUN_DIR="$CACHE/run-$PORT"
  PID_FILE="$RUN_DIR/pid"
  LOG_FILE="$RUN_DIR/keycloak.log"
}

listening() { # listening PORT: whether something accepts connections on 127.0.0.1:PORT
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

ours() { # ours PID: whether PID is a kc.sh/JVM of this script's Keycloak tree
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$KC_HOME/bin/"
}

running_pid() { # prints the recorded pid if that process is still alive and ours
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ours "$pid" && echo "$pid"
}

ready() {
  curl -fsS -o /dev/null --max-time 5 "http://$HOST:$MGMT_PORT/health/ready" 2>/dev/null &&
    curl -fsS -o /dev/null --max-time 5 "$BASE_URL/realms/master/.well-known/openid-configuration" 2>/dev/null
}

pick_free_port() { # first even port >= 18100 whose pair is free and not recorded as ours
  local p
  for p in $(seq 18100 2 18298); do
    set_port "$p"
    running_pid >/dev/null && continue
    listening "$p" && continue
    listening "$((p + 1))" && continue
    return 0
  done
  die "no free port pair in 18100-18299"
}

wait_ready() { # wait_ready T0: until ready, the process dies, or the timeout
  while ! ready; do
    if ! running_pid >/dev/null; then
      tail -n 40 "$LOG_FILE" >&2 || true
      die "Keycloak exited during startup (see $LOG_FILE)"
    fi
    if [ $((SECONDS - $1)) -ge "$TIMEOUT" ]; then
      tail -n 40 "$LOG_FILE" >&2 || true
      stop || true
      die "Keycloak not ready after ${TIMEOUT}s"
    fi
    sleep 1
  done
}

start() {
  mkdir -p "$CACHE"
  # One start at a time per cache (several test runs may share the tree): unpacking and
  # Quarkus re-augmentation write into it. Held until ready; fd 9 is closed for Keycloak.
  exec 9>"$CACHE/.lock"
  flock -w "$((TIMEOUT + 120))" 9 || die "another start holds $CACHE/.lock"
  [ "$PORT" = auto ] && pick_free_port
  local t0=$SECONDS
  if running_pid >/dev/null; then
    wait_ready "$t0"
    log "already running at $BASE_URL (pid $(cat "$PID_FILE"))"
    echo "$BASE_URL"
    return 0
  fi
  if listening "$PORT" || listening "$MGMT_PORT"; then
    die "port $PORT or $MGMT_PORT is in use by something this script did not start; set KEYCLOAK_PORT (or KEYCLOAK_PORT=auto)"
  fi
  fetch
  local jh
  jh="$(find_java_home)"
  log "Java: $jh ($("$jh/bin/java" -version 2>&1 | head -n1))"
  mkdir -p "$RUN_DIR"
  : >"$LOG_FILE"
  # setsid: own process group, so `stop` can end kc.sh and its JVM together (only ours).
  JAVA_HOME="$jh" \
    KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}" \
    KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}" \
    JAVA_OPTS_KC_HEAP="${JAVA_OPTS_KC_HEAP:--Xms64m -Xmx512m}" \
    setsid "$KC_HOME/bin/kc.sh" start-dev \
    --http-host="$HOST" --http-port="$PORT" \
    --http-management-host="$HOST" --http-management-port="$MGMT_PORT" \
    --hostname="$BASE_URL" \
    --db=dev-mem \
    --health-enabled=true \
    --features=identity-assertion-jwt \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  echo $! >"$PID_FILE"
  log "started pid $! on $BASE_URL (log: $LOG_FILE); waiting up to ${TIMEOUT}s"
  wait_ready "$t0"
  log "ready at $BASE_URL after $((SECONDS - t0)) s ($(cat "$KC_HOME/version.txt"))"
  flock -u 9
  echo "$BASE_URL"
}

stop() {
  [ "$PORT" = auto ] && die "stop needs KEYCLOAK_PORT=<the port start printed>"
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running on port $PORT"
    return 0
  fi
  log "stopping pid $pid (port $PORT)"
  # kc.sh forwards TERM to its JVM; the process group (from setsid) catches stragglers.
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after 30 s; killing its process group"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped"
}

status() {
  [ "$PORT" = auto ] && die "status needs KEYCLOAK_PORT=<port>"
  if running_pid >/dev/null && ready; then
    echo "running $BASE_URL"
  else
    echo "stopped"
    return 1
  fi
}

case "${KEYCLOAK_PORT:-18080}" in
auto) PORT=auto ;;
*[!0-9]* | "") die "KEYCLOAK_PORT must be a port number or auto" ;;
*) set_port "${KEYCLOAK_PORT:-18080}" ;;
esac

case "${1:-}" in
fetch)
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock -w 600 9 || die "another start holds $CACHE/.lock"
  fetch
  ;;
start) start ;;
stop) stop ;;
status) status ;;
url)
  [ "$PORT" = auto ] && die "url needs KEYCLOAK_PORT=<port>"
  echo "$BASE_URL"
  ;;
*)
  echo "usage: $0 fetch|start|stop|status|url" >&2
  exit 2
  ;;
esac
