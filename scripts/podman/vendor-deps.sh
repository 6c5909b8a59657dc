#!/usr/bin/env bash
# vendor-deps.sh - fetch the MAS wheels and the signaling and player stand-in npm packages on the HOST
# into each build context's vendor/ directory, for builders whose containers
# cannot reach PyPI / the npm registry (air-gapped HPC builders; or, as on the
# project's CI machines, egress through a TLS-intercepting proxy whose CA the
# base images do not trust: pip "CERTIFICATE_VERIFY_FAILED", npm
# "SELF_SIGNED_CERT_IN_CHAIN"). The Dockerfiles install offline from vendor/
# when it is filled, and from the index otherwise.
#
# usage: vendor-deps.sh [--mas DIR] [--signaling DIR] [--player DIR]
#   (defaults: samples/mas and samples/signaling next to this script's project; the player
#   stand-in, samples/unity-player-standin, only when --player is given: its libwebrtc is 26 MB)
# Env: SPARC_PY_PLATFORM (manylinux2014_x86_64), SPARC_PY_VERSION (3.11): the
#      target image's platform and Python, not the host's.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAS=$ROOT/samples/mas
SIGNALING=$ROOT/samples/signaling
PLAYER=
while [ $# -gt 0 ]; do
  case "$1" in
    --mas) MAS=$2; shift 2 ;;
    --signaling) SIGNALING=$2; shift 2 ;;
    --player) PLAYER=$2; shift 2 ;;
    *) echo "usage: $0 [--mas DIR] [--signaling DIR] [--player DIR]" >&2; exit 2 ;;
  esac
done
# Absolute paths: npm below runs in a temp dir, so a relative --cache would land (and vanish) there.
[ -z "$MAS" ] || MAS=$(mkdir -p "$MAS" && cd "$MAS" && pwd)
[ -z "$SIGNALING" ] || SIGNALING=$(mkdir -p "$SIGNALING" && cd "$SIGNALING" && pwd)
[ -z "$PLAYER" ] || PLAYER=$(mkdir -p "$PLAYER" && cd "$PLAYER" && pwd)

if [ -n "$MAS" ]; then
  mkdir -p "$MAS/vendor"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
    --platform "${SPARC_PY_PLATFORM:-manylinux2014_x86_64}" --python-version "${SPARC_PY_VERSION:-3.11}" \
    --implementation cp -r "$MAS/requirements.txt" -d "$MAS/vendor"
  log "MAS: $(find "$MAS/vendor" -maxdepth 1 -name '*.whl' | wc -l) wheels in $MAS/vendor"
fi
# npm rewrites its cache index (with timestamps) on every run, which would change the build
# context and rebuild the image on every `pulumi up`: refill only when the lockfile changed.
# usage: npm_cache NAME DIR (DIR holds package.json and package-lock.json)
npm_cache() {
  local name=$1 dir=$2 stamp=$2/vendor/npm-cache/.sparc-lock-sha256 tmp
  if [ -d "$dir/vendor/npm-cache" ] && [ -f "$stamp" ] &&
     [ "$(cat "$stamp")" = "$(sha256sum < "$dir/package-lock.json" | cut -d' ' -f1)" ]; then
    log "$name: npm cache in $dir/vendor/npm-cache already matches package-lock.json"
    return
  fi
  tmp=$(mktemp -d)
  cp "$dir/package.json" "$dir/package-lock.json" "$tmp/"
  mkdir -p "$dir/vendor"
  (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent --cache "$dir/vendor/npm-cache") || { rm -rf "$tmp"; die "$name: npm ci into $dir/vendor/npm-cache failed"; }
  rm -rf "$tmp" "$dir/vendor/npm-cache/_logs" "$dir/vendor/npm-cache/_update-notifier-last-checked"
  log "$name: npm cache in $dir/vendor/npm-cache ($(du -sh "$dir/vendor/npm-cache" | cut -f1))"
  sha256sum < "$dir/package-lock.json" | cut -d' ' -f1 > "$stamp"
}
[ -z "$SIGNALING" ] || npm_cache signaling "$SIGNALING"
# The player stand-in's lock pins @roamhq/wrtc-linux-x64 (its libwebrtc binary), which npm ci
# caches like any package: the build container loads it without a registry.
[ -z "$PLAYER" ] || npm_cache "player stand-in" "$PLAYER"
