#!/usr/bin/env bash
# Waits (bounded) until the stand-in's systemd is up and sshd listens; used at start and after a reboot.
# The tun device node is recreated on every start: rootless slirp4netns needs it 0666.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
name=${1:?usage: wait-ready.sh CONTAINER SECONDS}; seconds=${2:-60}
for _ in $(seq 1 $((seconds * 5))); do
  state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 0.2
done
case $state in running|degraded) ;; *) die "$name: systemd not up within ${seconds}s (state: ${state:-none})" ;; esac
podman exec "$name" chmod 666 /dev/net/tun
