#!/usr/bin/env bash
# Removes the PubApps stand-in container and its /podman volume (the image stays cached).
set -euo pipefail
name=${PUBAPPS_CONTAINER:-sparc-pubapps-testbed}
podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
podman volume rm -f "$name-podman" >/dev/null 2>&1 || true
