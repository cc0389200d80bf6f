#!/usr/bin/env bash
# Start or stop a single-node Elasticsearch for the search engine tests, from Maven Central jars.
#
#   .ci/elasticsearch.sh start   # prints the node's URL (e.g. http://127.0.0.1:9261) on stdout
#   .ci/elasticsearch.sh stop    # stops the node this script started on that port
#   .ci/elasticsearch.sh status  # prints the URL when the node answers, exits 1 otherwise
#
# What runs is the real server: org.elasticsearch:elasticsearch and its dependencies on the
# module path, plus the real org.elasticsearch.plugin:transport-netty4 module for HTTP. Elastic
# publishes neither the rest of the distribution's modules nor x-pack to Maven Central, so a
# small plugin of our own (.ci/es-shim/esci/ShimPlugin.java) stands in for exactly the pieces
# of analysis-common and rest-root the project's mapping and clients use, built from the same
# Lucene classes; anything else a mapping names is rejected by the node, never approximated.
# The launcher (.ci/es-shim/esci/Main.java) starts the node through its public Node API.
#
# It needs Java 17+ with javac, and Maven (`mvn`). Downloads (~55 MB) and the compiled shim are
# cached under .ci/work/elasticsearch/, so only the first start needs the network; the shim is
# recompiled when its source changes.
# Environment: ELASTICSEARCH_PORT (HTTP port, default 9261), ELASTICSEARCH_TRANSPORT_PORT
# (default HTTP port + 100), ELASTICSEARCH_VERSION (default 8.19.21; the shim targets the 8.x
# plugin API), ELASTICSEARCH_JAVA (default `java`), ELASTICSEARCH_HEAP (default 512m),
# ELASTICSEARCH_JAVA_OPTS (extra JVM options; default none, so the JVM's defaults (G1, full JIT)
# as in the official distribution; "-XX:+UseSerialGC -XX:TieredStopAtLevel=1" starts about 6 s
# sooner but searches several times slower), ELASTICSEARCH_START_TIMEOUT (seconds, default 180).
# Progress goes to stderr; only the URL goes to stdout, so `url=$(.ci/elasticsearch.sh start)`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work="$here/work/elasticsearch"
shim_src="$here/es-shim"
version="${ELASTICSEARCH_VERSION:-8.19.21}"
port="${ELASTICSEARCH_PORT:-9261}"
transport_port="${ELASTICSEARCH_TRANSPORT_PORT:-$((port + 100))}"
timeout="${ELASTICSEARCH_START_TIMEOUT:-180}"
heap="${ELASTICSEARCH_HEAP:-512m}"
java="${ELASTICSEARCH_JAVA:-java}"
java_opts="${ELASTICSEARCH_JAVA_OPTS-}"
lib="$work/lib-$version"           # server jars (lib/) and the transport module, per version
run="$work/node-$port"             # the node's data, logs and config; wiped on every start
pidfile="$work/node-$port.pid"
url="http://127.0.0.1:$port"

log() { echo "elasticsearch.sh: $*" >&2; }

# Healthy means: an Elasticsearch (not some other server on the port) with a usable cluster.
healthy() {
  curl -fsS --max-time 2 -D - -o /dev/null "$url/" 2>/dev/null \
    | grep -qi '^x-elastic-product: *elasticsearch' || return 1
  curl -fsS --max-time 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null \
    | grep -Eq '"status":"(green|yellow)"'
}

fetch_jars() {
  [ -f "$lib/.complete" ] && return 0
  command -v mvn >/dev/null || { log "mvn not found: apt-get install maven"; exit 1; }
  mkdir -p "$work"
  local build="$work/fetch-$version"
  rm -rf "$build" "$lib"
  mkdir -p "$build" "$lib/lib" "$lib/transport-netty4"
  cat >"$build/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ci</groupId>
  <artifactId>elasticsearch-node</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.elasticsearch</groupId>
      <artifactId>elasticsearch</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.elasticsearch.plugin</groupId>
      <artifactId>transport-netty4</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  log "downloading org.elasticsearch:elasticsearch:$version and transport-netty4 from Maven Central"
  mvn -B -q -Dstyle.color=never -f "$build/pom.xml" -Dmaven.repo.local="$work/m2" \
    dependency:build-classpath -Dmdep.outputFile="$build/classpath.txt" >&2
  # The HTTP module and what only it needs (netty, ssl config) form a plugin bundle of their
  # own; everything else is the server on the module path, as in the official distribution.
  local jar
  while IFS= read -r jar; do
    case "$(basename "$jar")" in
      transport-netty4-* | netty-* | elasticsearch-ssl-config-*) cp "$jar" "$lib/transport-netty4/" ;;
      *) cp "$jar" "$lib/lib/" ;;
    esac
  done < <(tr ':' '\n' <"$build/classpath.txt")
  unzip -p "$lib/transport-netty4/transport-netty4-$version.jar" \
    META-INF/es-plugins/transport-netty4/plugin-descriptor.properties \
    >"$lib/transport-netty4/plugin-descriptor.properties"
  rm -rf "$build"
  touch "$lib/.complete"
}

# The node's home: lib/ and modules/ as links to the cached jars plus the compiled shim. Its
# name carries a digest of the shim's source, so an edited shim is compiled again.
build_home() {
  local digest javac
  digest=$(cat "$shim_src"/esci/*.java | sha256sum | cut -c1-12)
  home="$work/home-$version-$digest"
  [ -f "$home/.complete" ] && return 0
  javac="$(dirname "$(readlink -f "$(command -v "$java")")")/javac"
  [ -x "$javac" ] || { log "javac not found next to $java: install a JDK"; exit 1; }
  rm -rf "$home"
  mkdir -p "$home/modules/esci-shim" "$home/classes"
  ln -s "$lib/lib" "$home/lib"
  ln -s "$lib/transport-netty4" "$home/modules/transport-netty4"
  log "compiling the stand-in plugin and launcher ($shim_src)"
  "$javac" -nowarn -d "$home/classes" --release 17 -cp "$lib/lib/*" "$shim_src"/esci/*.java >&2
  (cd "$home/classes" && jar cf "$home/modules/esci-shim/esci-shim.jar" esci/ShimPlugin*.class)
  (cd "$home/classes" && jar cf "$home/esci-launcher.jar" esci/Main.class)
  cat >"$home/modules/esci-shim/plugin-descriptor.properties" <<PROPS
description=CI stand-ins for analysis-common (english, lowercase, snowball, length, edge_ngram, asciifolding, ngram; pattern, ngram and edge_ngram tokenizers) and rest-root (GET /)
version=$version
name=esci-shim
classname=esci.ShimPlugin
java.version=17
elasticsearch.version=$version
PROPS
  rm -rf "$home/classes"
  touch "$home/.complete"
}

start() {
  if healthy; then
    log "a node already answers at $url"
    echo "$url"
    return 0
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "node $(cat "$pidfile") from an earlier start is not healthy; stopping it"
    stop
  fi
  command -v "$java" >/dev/null || { log "$java not found: apt-get install openjdk-17-jdk-headless"; exit 1; }
  fetch_jars
  build_home
  rm -rf "$run"
  mkdir -p "$run"
  log "starting Elasticsearch $version on $url (data in $run)"
  # shellcheck disable=SC2086 # the options are words
  nohup "$java" "-Xms$heap" "-Xmx$heap" $java_opts \
    "-Djava.io.tmpdir=$run" --module-path "$home/lib" --add-modules ALL-MODULE-PATH \
    -cp "$home/esci-launcher.jar" esci.Main "$home" "$run" "$port" "$transport_port" \
    >"$run/node.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local waited=0
  until healthy; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "the node exited; last lines of $run/node.log:"
      tail -n 30 "$run/node.log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      log "no healthy node after ${timeout}s; see $run/node.log"
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
    log "no node started by this script on port $port"
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
