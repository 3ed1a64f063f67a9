# Node 20 and npm on the local Debian base, for deploy/Dockerfile where no registry serves node images.
# The binary and npm are the build host's (scripts/containers/build-images.sh copies them in), and so
# are the certificate authorities the host added locally: npm behind a TLS-inspecting proxy that the
# host trusts then works in image builds too: npm's global settings point it at the system bundle.
ARG BASE=bahe/debian:bookworm
FROM ${BASE}
COPY ca-certificates /usr/local/share/ca-certificates/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && mkdir -p /usr/local/etc && echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >/usr/local/etc/npmrc \
 && node --version && npm --version
CMD ["node"]
