#!/usr/bin/env bash
# Stops the broker that start.sh started (same BAHE_KAFKA_PORT / BAHE_KAFKA_STATE_DIR): SIGTERM for a
# controlled shutdown, SIGKILL after 30 s. `--purge` also deletes its state folder (topics and offsets).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

if broker_running; then
  pid="$(cat "$pid_file")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka: broker (pid $pid) ignored SIGTERM for 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "kafka: stopped broker on 127.0.0.1:$port (pid $pid)"
else
  echo "kafka: no broker from $state_dir is running"
fi
rm -f "$pid_file"

if [[ "${1:-}" == "--purge" ]]; then
  rm -rf "$state_dir"
  echo "kafka: removed $state_dir"
fi
