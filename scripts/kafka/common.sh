# Settings and steps shared by start.sh and stop.sh; sourced, not run.

fail() {
  echo "kafka: $*" >&2
  exit 1
}

check_port() {
  [[ "$2" =~ ^[0-9]+$ ]] && ((10#$2 >= 1024 && 10#$2 <= 65535)) || fail "$1 is '$2'; accepted: a port from 1024 to 65535"
}

version="${BAHE_KAFKA_VERSION:-3.9.2}"
port="${BAHE_KAFKA_PORT:-19092}"
check_port BAHE_KAFKA_PORT "$port"
controller_port="${BAHE_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
check_port BAHE_KAFKA_CONTROLLER_PORT "$controller_port"
[[ "$controller_port" != "$port" ]] || fail "BAHE_KAFKA_CONTROLLER_PORT must differ from BAHE_KAFKA_PORT ($port)"

cache_dir="${BAHE_CACHE:-$HOME/.cache/bahe}/kafka"
libs_dir="$cache_dir/$version/libs"
state_dir="${BAHE_KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/bahe-kafka-$port}"
pid_file="$state_dir/broker.pid"

# True when the pid file names a live Kafka JVM; a pid reused by another program does not count.
broker_running() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Resolves kafka_2.13 and its runtime dependencies once; later runs find the marker and download nothing.
resolve_jars() {
  if [[ -f "$libs_dir/.complete" ]]; then
    echo "kafka: using cached jars in $libs_dir"
    return
  fi
  command -v mvn >/dev/null || fail "mvn not found; install Maven 3 to fetch the Kafka jars once"
  echo "kafka: resolving org.apache.kafka:kafka_2.13:$version from Maven Central into $libs_dir"
  local staging="$libs_dir.partial"
  rm -rf "$staging"
  mkdir -p "$cache_dir"
  # Maven's own output goes to a file and is shown only when resolution fails.
  if ! mvn -B -q --no-transfer-progress -f "$here/pom.xml" -Dkafka.version="$version" \
    -Dmaven.repo.local="$cache_dir/m2" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$staging" >"$cache_dir/mvn-$version.log" 2>&1; then
    tail -n 30 "$cache_dir/mvn-$version.log" >&2
    fail "could not resolve the Kafka $version jars (is Maven Central reachable?)"
  fi
  [[ -f "$staging/kafka_2.13-$version.jar" ]] || fail "kafka_2.13-$version.jar missing after resolution"
  rm -rf "$libs_dir"
  mv "$staging" "$libs_dir"
  touch "$libs_dir/.complete"
}

write_config() {
  mkdir -p "$state_dir/data"
  cat >"$state_dir/server.properties" <<PROPS
# Written by scripts/kafka/start.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$state_dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
auto.create.topics.enable=false
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
PROPS
  # BAHE_KAFKA_LOG=console sends the broker's log to standard output (the container image does, so
  # `docker logs` and the test launcher's wait strategy see it); the default is a rolling file.
  local appender
  if [[ "${BAHE_KAFKA_LOG:-file}" == console ]]; then
    appender="log4j.appender.out=org.apache.log4j.ConsoleAppender"
  else
    appender="log4j.appender.out=org.apache.log4j.RollingFileAppender
log4j.appender.out.File=$state_dir/broker.log
log4j.appender.out.MaxFileSize=20MB
log4j.appender.out.MaxBackupIndex=2"
  fi
  cat >"$state_dir/log4j.properties" <<PROPS
log4j.rootLogger=INFO, out
$appender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
PROPS
}

# Formats the log folder once; a restarted broker keeps its topics. The cluster id comes from Kafka's
# own storage tool, so neither this script nor the container image needs anything beyond Java.
format_storage() {
  [[ -f "$state_dir/data/meta.properties" ]] && return
  local cluster_id
  # The id is the tool's last line of output; anything logged before it is not part of it.
  cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid | tail -n 1)" && [[ -n "$cluster_id" ]] ||
    fail "could not draw a cluster id with kafka.tools.StorageTool"
  kafka_java kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$state_dir/server.properties" \
    --ignore-formatted >/dev/null || fail "formatting $state_dir/data failed"
}

# Runs a class from the Kafka jars with the broker's log settings.
kafka_java() {
  java -Dlog4j.configuration="file:$state_dir/log4j.properties" -cp "$libs_dir/*" "$@"
}

# The broker's command line, in the array broker_cmd: start.sh runs it in the background, the container
# image's entrypoint execs it.
broker_command() {
  # shellcheck disable=SC2206
  broker_cmd=(java ${BAHE_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true -Dlog4j.configuration="file:$state_dir/log4j.properties"
    -cp "$libs_dir/*" kafka.Kafka "$state_dir/server.properties")
}
