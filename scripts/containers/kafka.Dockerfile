# A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) from the jars that
# scripts/kafka resolves from Maven Central. Meant for host networking: it listens on 127.0.0.1 at
# BAHE_KAFKA_PORT (controller at BAHE_KAFKA_CONTROLLER_PORT, default the next port).
#   docker run --rm --network host -e BAHE_KAFKA_PORT=29092 bahe/kafka:3.9.2
ARG JRE=bahe/jre:17
FROM ${JRE}
ARG KAFKA_VERSION=3.9.2
ENV BAHE_KAFKA_VERSION=${KAFKA_VERSION} \
    BAHE_CACHE=/opt/bahe \
    BAHE_KAFKA_STATE_DIR=/var/lib/bahe-kafka \
    BAHE_KAFKA_PORT=9092 \
    BAHE_KAFKA_LOG=console
RUN useradd --system --home-dir /var/lib/bahe-kafka --create-home kafka
COPY libs /opt/bahe/kafka/${KAFKA_VERSION}/libs
COPY common.sh kafka-entrypoint.sh /opt/bahe/bin/
USER kafka
ENTRYPOINT ["bash", "/opt/bahe/bin/kafka-entrypoint.sh"]
