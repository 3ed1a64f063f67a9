#!/usr/bin/env bash
# Starts a local single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on 127.0.0.1,
# straight from the Kafka jars on Maven Central: no Docker, no ZooKeeper. The jars are resolved once into
# ${BAHE_CACHE:-~/.cache/bahe}/kafka/<version>/ and reused; the broker's data lives in a state folder
# outside the repository. Running it again while the broker runs says so and exits 0.
#
# Environment:
#   BAHE_KAFKA_PORT             broker port (default 19092)
#   BAHE_KAFKA_CONTROLLER_PORT  KRaft controller port (default: broker port + 1)
#   BAHE_KAFKA_VERSION          org.apache.kafka:kafka_2.13 version (default 3.9.2)
#   BAHE_CACHE                  cache root for the jars (default ~/.cache/bahe)
#   BAHE_KAFKA_STATE_DIR        data, logs and pid file (default ${TMPDIR:-/tmp}/bahe-kafka-<port>)
#   BAHE_KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx512m)
#   BAHE_KAFKA_START_TIMEOUT_S  how long to wait for the broker to answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

if broker_running; then
  echo "kafka: already running (pid $(cat "$pid_file")), bootstrap 127.0.0.1:$port"
  exit 0
fi
rm -f "$pid_file"
if port_open "$port" || port_open "$controller_port"; then
  fail "port $port or $controller_port on 127.0.0.1 is taken by another process; set BAHE_KAFKA_PORT to a free port"
fi
command -v java >/dev/null || fail "java not found; install a Java 17 (or later) runtime"

started_at=$SECONDS
resolve_jars
write_config
format_storage

echo "kafka: starting broker $version on 127.0.0.1:$port (controller :$controller_port, state $state_dir)"
# setsid: the broker outlives this script and is not hit by signals aimed at the caller's process group.
broker_command
setsid "${broker_cmd[@]}" >"$state_dir/broker.out" 2>&1 </dev/null &
echo $! >"$pid_file"

if ! node "$here/wait.mjs" "127.0.0.1:$port" "$(cat "$pid_file")" "${BAHE_KAFKA_START_TIMEOUT_S:-90}"; then
  echo "kafka: broker did not come up; last lines of $state_dir/broker.log:" >&2
  tail -n 30 "$state_dir/broker.log" "$state_dir/broker.out" >&2 2>/dev/null || true
  "$here/stop.sh" >/dev/null 2>&1 || true
  exit 1
fi
echo "kafka: ready in $((SECONDS - started_at)) s, bootstrap 127.0.0.1:$port (pid $(cat "$pid_file"); stop with npm run kafka:stop)"
