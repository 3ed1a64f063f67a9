# A Java 17 runtime on the local Debian base (scripts/containers/build-images.sh makes both).
ARG BASE=bahe/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
