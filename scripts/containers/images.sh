# The local image names, shared by build-images.sh and the tests' broker launcher; sourced, not run.
# Overriding one (for example BAHE_KAFKA_IMAGE) makes both use it.
debian_suite=bookworm
kafka_version="${BAHE_KAFKA_VERSION:-3.9.2}"
base_image="${BAHE_BASE_IMAGE:-bahe/debian:$debian_suite}"
jre_image="${BAHE_JRE_IMAGE:-bahe/jre:17}"
kafka_image="${BAHE_KAFKA_IMAGE:-bahe/kafka:$kafka_version}"
node_image="${BAHE_NODE_IMAGE:-bahe/node:20}"
