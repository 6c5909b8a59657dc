#!/usr/bin/env bash
# teardown.sh - stop the podman API service that setup.sh started, and nothing
# else. Packages, config, images and cached tarballs stay. Containers and pods
# are not touched (rootful containers outlive the API service under conmon):
# `pulumi destroy` or the tests remove their own pods.
set -uo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
SPARC_STATE_DIR=${SPARC_STATE_DIR:-/run/sparc-deploy}

PF=$SPARC_STATE_DIR/podman-service.pid
is_ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "system service"; }
if [ -s "$PF" ]; then
  pid=$(cat "$PF")
  if is_ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 300; i++)); do is_ours "$pid" || break; sleep 0.1; done
    if is_ours "$pid"; then log "pid $pid ignored SIGTERM for 30s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
    log "stopped podman service pid $pid"
  else
    log "pid file $PF: pid $pid is not a live podman service; nothing to stop"
  fi
  rm -f "$PF"
else
  log "no podman service pid file; nothing to stop"
fi
rm -f "$SPARC_STATE_DIR/env"
exit 0
