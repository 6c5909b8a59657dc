#!/usr/bin/env bash
# Removes the PubApps stand-in container, its /podman volume and the (empty) cgroups its starts left
# in the host's unified hierarchy (the image stays cached).
set -euo pipefail
name=${PUBAPPS_CONTAINER:-sparc-pubapps-testbed}
podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
podman volume rm -f "$name-podman" >/dev/null 2>&1 || true
# cgroup2-init's own cgroups sit under Podman's libpod_parent/libpod-<id> of the unified hierarchy.
find /sys/fs/cgroup/unified -maxdepth 3 -type d -name 'sparc-pubapps-testbed-*' 2>/dev/null | while read -r d; do
  find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  rmdir "$(dirname "$d")" 2>/dev/null || true
done
