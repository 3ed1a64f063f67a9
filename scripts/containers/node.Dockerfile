# Node 20 and npm on the local Debian base, for deploy/Dockerfile where no registry serves node images.
# The binary and npm are the build host's (scripts/containers/build-images.sh copies them in).
ARG BASE=bahe/debian:bookworm
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
