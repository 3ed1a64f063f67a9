#!/usr/bin/env bash
# Builds the project's container images locally, with no image registry: a Debian base made with
# debootstrap and `docker import`, a Java 17 runtime on it, a single-node KRaft Kafka broker from the
# same jars as scripts/kafka, and a Node 20 base for deploy/Dockerfile. An image that already exists is
# kept (--rebuild builds it again); the debootstrap root filesystem is cached as a tarball.
#
# Usage: build-images.sh [--rebuild] [base|jre|kafka|node ...]   (default: all four, in that order)
#
# Environment:
#   BAHE_CACHE           cache root (default ~/.cache/bahe); the rootfs tarball goes to containers/
#   BAHE_DEBIAN_MIRROR   Debian mirror for debootstrap and apt (default http://deb.debian.org/debian)
#   BAHE_KAFKA_VERSION   Kafka version of the broker image (default 3.9.2, as scripts/kafka)
#   BAHE_NODE_BINARY     Node 20 binary copied into the node image (default: `command -v node`)
#   BAHE_LOCAL_CA_DIR    extra certificate authorities (*.crt) the node image trusts, for npm behind a
#                        TLS-inspecting proxy (default /usr/local/share/ca-certificates, Debian's place)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images.sh
source "$here/images.sh"

say() { echo "images: $*"; }
fail() {
  echo "images: $*" >&2
  exit 1
}

rebuild=false
targets=()
for arg in "$@"; do
  case "$arg" in
  --rebuild) rebuild=true ;;
  base | jre | kafka | node) targets+=("$arg") ;;
  *) fail "unknown argument '$arg'; usage: build-images.sh [--rebuild] [base|jre|kafka|node ...]" ;;
  esac
done
((${#targets[@]})) || targets=(base jre kafka node)

mirror="${BAHE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_dir="${BAHE_CACHE:-$HOME/.cache/bahe}/containers"
rootfs_tar="$cache_dir/debian-$debian_suite-minbase.tar"
local_cas="${BAHE_LOCAL_CA_DIR:-/usr/local/share/ca-certificates}"

command -v docker >/dev/null || fail "docker not found; install docker.io (see README, Containers)"
docker info >/dev/null 2>&1 || fail "no Docker engine answers; start one with: sudo dockerd >/tmp/dockerd.log 2>&1 &"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# True when the image should be built: it is missing, or --rebuild was given.
wanted() {
  if ! $rebuild && image_exists "$1"; then
    say "$1 exists; kept (--rebuild to build it again)"
    return 1
  fi
}

# The legacy builder: Debian's docker.io ships no buildx plugin. Host networking lets RUN steps reach
# the Debian mirror without a bridge.
build() {
  local image="$1" context="$2"
  shift 2
  say "building $image"
  DOCKER_BUILDKIT=0 docker build --network host --tag "$image" "$@" "$context" >"$cache_dir/build.log" 2>&1 || {
    tail -n 30 "$cache_dir/build.log" >&2
    fail "building $image failed (whole log: $cache_dir/build.log)"
  }
}

build_base() {
  wanted "$base_image" || return 0
  if [[ ! -f "$rootfs_tar" ]]; then
    command -v debootstrap >/dev/null || fail "debootstrap not found; install it (apt-get install debootstrap)"
    ((EUID == 0)) || fail "debootstrap needs root to make the root filesystem; run this script as root once"
    local rootfs="$cache_dir/rootfs.partial"
    rm -rf "$rootfs"
    say "making a Debian $debian_suite root filesystem with debootstrap from $mirror (about 200 MB)"
    debootstrap --variant=minbase "$debian_suite" "$rootfs" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 || {
      tail -n 30 "$cache_dir/debootstrap.log" >&2
      fail "debootstrap failed (whole log: $cache_dir/debootstrap.log)"
    }
    cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $debian_suite main
deb $mirror $debian_suite-updates main
deb ${mirror%/debian}/debian-security $debian_suite-security main
SOURCES
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
    mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  say "importing $rootfs_tar as $base_image"
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$rootfs_tar" "$base_image" >/dev/null
}

build_jre() {
  wanted "$jre_image" || return 0
  image_exists "$base_image" || fail "$base_image is missing; build it first (build-images.sh base)"
  build "$jre_image" "$here" -f "$here/jre.Dockerfile" --build-arg "BASE=$base_image"
}

build_kafka() {
  wanted "$kafka_image" || return 0
  image_exists "$jre_image" || fail "$jre_image is missing; build it first (build-images.sh jre)"
  # The jars come from the same cache as scripts/kafka/start.sh, resolved there on first use.
  (
    here="$repo/scripts/kafka"
    # shellcheck source=../kafka/common.sh
    source "$repo/scripts/kafka/common.sh"
    resolve_jars
  )
  local context="$cache_dir/kafka-context"
  rm -rf "$context"
  mkdir -p "$context"
  cp -r "${BAHE_CACHE:-$HOME/.cache/bahe}/kafka/$kafka_version/libs" "$context/libs"
  rm -f "$context/libs/.complete"
  cp "$repo/scripts/kafka/common.sh" "$here/kafka-entrypoint.sh" "$context/"
  build "$kafka_image" "$context" -f "$here/kafka.Dockerfile" --build-arg "JRE=$jre_image" \
    --build-arg "KAFKA_VERSION=$kafka_version"
  rm -rf "$context"
}

build_node() {
  wanted "$node_image" || return 0
  image_exists "$base_image" || fail "$base_image is missing; build it first (build-images.sh base)"
  local node_bin="${BAHE_NODE_BINARY:-$(command -v node)}"
  local version
  version="$("$node_bin" --version)"
  [[ "$version" == v20.* ]] || fail "$node_bin is Node $version; the node image needs Node 20 (set BAHE_NODE_BINARY)"
  # npm ships with Node as a package beside the binary's lib folder.
  local npm_dir
  npm_dir="$(cd "$(dirname "$(readlink -f "$node_bin")")/../lib/node_modules/npm" && pwd)" ||
    fail "npm not found beside $node_bin"
  local context="$cache_dir/node-context"
  rm -rf "$context"
  mkdir -p "$context"
  cp "$(readlink -f "$node_bin")" "$context/node"
  cp -r "$npm_dir" "$context/npm"
  mkdir "$context/ca-certificates"
  if compgen -G "$local_cas/*.crt" >/dev/null; then
    say "adding the certificate authorities in $local_cas to the node image"
    cp "$local_cas"/*.crt "$context/ca-certificates/"
  fi
  say "node image from $node_bin ($version) and npm $("$node_bin" "$npm_dir/bin/npm-cli.js" --version)"
  build "$node_image" "$context" -f "$here/node.Dockerfile" --build-arg "BASE=$base_image"
  rm -rf "$context"
}

mkdir -p "$cache_dir"
for target in "${targets[@]}"; do
  "build_$target"
done
say "done: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^bahe/' | tr '\n' ' ')"
