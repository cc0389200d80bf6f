#!/usr/bin/env bash
# Start or stop an Apache Tika server for the extraction tests, from Maven Central.
#
#   .ci/tika.sh start   # prints the server's URL (e.g. http://127.0.0.1:9998) on stdout
#   .ci/tika.sh stop    # stops the server started by `start`
#   .ci/tika.sh status  # prints the URL when the server answers, exits 1 otherwise
#   .ci/tika.sh app     # prints the path of tika-app's jar (for `make bench BENCH_ARGS=documents`)
#
# It needs Java 11+ and curl. The jar (org.apache.tika:tika-server-standard, ~70 MB) comes from
# Maven Central (checked against its .sha1) and is cached under .ci/work/tika/, so only the
# first start downloads it. (Maven itself cannot resolve it: Central lacks its parent POM.)
# Environment: TIKA_PORT (default 9998), TIKA_VERSION (default 3.2.2),
# TIKA_START_TIMEOUT (seconds, default 120), TIKA_HEAP (default 512m).
# Progress goes to stderr; only the URL goes to stdout, so `url=$(.ci/tika.sh start)`.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "$0")" && pwd)
work="$here/work/tika"
version="${TIKA_VERSION:-3.2.2}"
port="${TIKA_PORT:-9998}"
timeout="${TIKA_START_TIMEOUT:-120}"
heap="${TIKA_HEAP:-512m}"
pidfile="$work/server-$port.pid"
url="http://127.0.0.1:$port"
central="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"

log() { echo "tika.sh: $*" >&2; }

healthy() {
  curl -fsS --max-time 2 "$url/version" 2>/dev/null | grep -q "Apache Tika"
}

# fetch_jar ARTIFACT -> prints the jar's path, downloading it from Maven Central on first use.
fetch_jar() {
  local artifact="$1" jar="$work/$1-$version.jar"
  local remote="$central/org/apache/tika/$artifact/$version/$artifact-$version.jar"
  if [ ! -f "$jar" ]; then
    mkdir -p "$work"
    log "downloading org.apache.tika:$artifact:$version from Maven Central"
    curl -fsSL --retry 3 -o "$jar.part" "$remote" || { log "download failed: $remote"; exit 1; }
    local expected actual
    expected=$(curl -fsSL --retry 3 "$remote.sha1" | cut -c1-40)
    actual=$(sha1sum "$jar.part" | cut -c1-40)
    if [ "$expected" != "$actual" ]; then
      rm -f "$jar.part"
      log "checksum mismatch for $remote"
      exit 1
    fi
    mv "$jar.part" "$jar"
  fi
  echo "$jar"
}

start() {
  if healthy; then
    log "a server already answers at $url"
    echo "$url"
    return 0
  fi
  command -v java >/dev/null || { log "java not found: apt-get install openjdk-17-jre-headless"; exit 1; }
  local jar
  jar=$(fetch_jar tika-server-standard)
  log "starting Tika $version on $url"
  nohup java "-Xmx$heap" -jar "$jar" --host 127.0.0.1 --port "$port" \
    >"$work/server-$port.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local waited=0
  until healthy; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "the server exited; last lines of $work/server-$port.log:"
      tail -n 30 "$work/server-$port.log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      log "no answer after ${timeout}s; see $work/server-$port.log"
      stop
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "answering after ${waited}s"
  echo "$url"
}

stop() {
  if [ ! -f "$pidfile" ]; then
    log "no server started by this script on port $port"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped server $pid"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if healthy; then echo "$url"; else exit 1; fi ;;
  app) fetch_jar tika-app ;;
  *) echo "usage: $0 start|stop|status|app" >&2; exit 2 ;;
esac
