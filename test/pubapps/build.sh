#!/usr/bin/env bash
# Builds the PubApps stand-in image (localhost/sparc-pubapps-testbed:<Containerfile hash>) once: the Debian base of
# scripts/podman/base-images.sh plus systemd, sshd and rootless Podman, and the real Quadlet generator
# (podman v5.4.2's cmd/quadlet) built from the Go module proxy. Cached; a rerun does nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
log_tag=pubapps-testbed
# Tagged by the Containerfile's content: a changed Containerfile builds a new image.
image=${PUBAPPS_IMAGE:-localhost/sparc-pubapps-testbed:$(sha256sum "$here/Containerfile" | cut -c1-12)}
base=${PUBAPPS_BASE:-localhost/sparc-standin/debian:bookworm}
user=${PUBAPPS_USER:-svc}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pubapps-testbed; mkdir -p "$cache"
podman image exists "$image" && exit 0
podman image exists "$base" || die "base image $base missing: run scripts/podman/setup.sh first"
if [ ! -x "$cache/quadlet" ]; then
  log "building quadlet (podman v5.4.2 cmd/quadlet) from the Go module proxy"
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  (cd "$w" && go mod init example.invalid/quadlet >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod CGO_ENABLED=0 timeout 900 go get github.com/containers/podman/v5@v5.4.2 >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod CGO_ENABLED=0 timeout 900 go build -tags "remote exclude_graphdriver_btrfs containers_image_openpgp" \
      -o "$cache/quadlet.part" github.com/containers/podman/v5/cmd/quadlet)
  mv -f "$cache/quadlet.part" "$cache/quadlet"
fi
log "building $image"
ctx=$(mktemp -d); cp "$here/Containerfile" "$cache/quadlet" "$ctx/"
timeout 1200 podman build --build-arg BASE="$base" --build-arg SVC_USER="$user" -t "$image" "$ctx" >"$cache/build.log" 2>&1 \
  || { rm -rf "$ctx"; die "podman build failed, see $cache/build.log"; }
rm -rf "$ctx"
log "built $image"
