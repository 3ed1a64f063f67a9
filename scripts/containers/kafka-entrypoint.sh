#!/usr/bin/env bash
# Entrypoint of the Kafka image: writes the broker's settings with scripts/kafka/common.sh (the same
# ones `npm run kafka:start` uses), formats the KRaft store on first start and runs the broker in the
# foreground, so that stopping the container stops the broker.
set -euo pipefail
here=/opt/bahe/bin
# shellcheck source=../kafka/common.sh
source "$here/common.sh"
write_config
format_storage
broker_command
echo "kafka: starting broker $version on 127.0.0.1:$port (controller :$controller_port)"
exec "${broker_cmd[@]}"
