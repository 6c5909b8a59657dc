#!/usr/bin/env bash
# setup.sh - make rootful Podman usable for the dev stack on a Debian 12 host
# without systemd as PID 1 (adapted from the proven shared reference setup).
#
# Idempotent: installs only missing packages, rewrites its own config drop-in,
# starts the Docker-API socket only if our pid file does not point at a live
# service, and (via base-images.sh) imports base images only when absent.
#
#   * podman rootful, runtime runc (crun 1.8 refuses cgroup "hybrid" hosts),
#     cgroupfs, file events logger, netavark, explicit default_ulimits (the
#     rootful default nofile/nproc=1048576 cannot be set without CAP_SYS_RESOURCE).
#   * `podman system service` on unix:///run/podman/podman.sock: the Docker API
#     that @pulumi/docker talks to (classic builder only: no BuildKit /session).
#   * stand-in base images tagged with the upstream names the Dockerfiles use
#     (scripts/podman/base-images.sh); SPARC_SKIP_BASE_IMAGES=1 skips them.
#
# Knobs: SPARC_STATE_DIR (pid file, logs, env file; default /run/sparc-deploy),
#        SPARC_CACHE_DIR (tarballs; default /var/cache/sparc-deploy).
# After it succeeds: `. $SPARC_STATE_DIR/env` exports DOCKER_HOST.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SPARC_STATE_DIR=${SPARC_STATE_DIR:-/run/sparc-deploy}
SPARC_CACHE_DIR=${SPARC_CACHE_DIR:-/var/cache/sparc-deploy}
export SPARC_STATE_DIR SPARC_CACHE_DIR
PODMAN_SOCK=/run/podman/podman.sock

# shellcheck source=scripts/lib/common.sh
. "$HERE/../lib/common.sh"

[ "$(id -u)" = 0 ] || die "must run as root (rootful podman)"
mkdir -p "$SPARC_STATE_DIR" "$SPARC_CACHE_DIR"
T0=$(now)

# ---------------------------------------------------------------- stale state
# /run is not a tmpfs on these VMs: state from a previous boot survives, and
# podman only "refreshes" when /run/libpod/alive is missing. A changed boot_id
# means a reboot; with none remembered, files older than boot count as stale
# while no conmon runs.
boot_id=$(cat /proc/sys/kernel/random/boot_id)
btime=$(awk '/^btime/{print $2}' /proc/stat)
rebooted=0
if [ -s "$SPARC_STATE_DIR/boot_id" ]; then
  [ "$(cat "$SPARC_STATE_DIR/boot_id")" != "$boot_id" ] && rebooted=1
elif ! pgrep -r R,S,D -x conmon >/dev/null; then
  if [ -e /run/libpod/alive ] && [ "$(stat -c %Y /run/libpod/alive)" -lt "$btime" ]; then rebooted=1; fi
fi
if [ "$rebooted" = 1 ]; then
  log "runtime state from a previous boot: removing /run/libpod /run/containers/storage and old pid files"
  rm -rf /run/libpod /run/containers/storage "$PODMAN_SOCK"
  rm -f "$SPARC_STATE_DIR"/*.pid
fi
echo "$boot_id" > "$SPARC_STATE_DIR/boot_id"

# ---------------------------------------------------------------- packages
PKGS=(podman runc conmon catatonit netavark aardvark-dns iptables debootstrap busybox-static curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  t=$(now); log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "packages installed in $(since "$t")s"
else
  log "packages already installed"
fi

# ---------------------------------------------------------------- podman config
hn=$(ulimit -Hn); [ "$hn" = unlimited ] && hn=1048576
hu=$(ulimit -Hu); [ "$hu" = unlimited ] && hu=32768
[ "$hu" -gt 32768 ] && hu=32768   # podman caps its own RLIMIT_NPROC at 32768
mkdir -p /etc/containers/containers.conf.d
cat > /etc/containers/containers.conf.d/50-sparc-deploy.conf <<CONF
# written by sparc-deploy scripts/podman/setup.sh; rewritten on every run
[containers]
# Any --ulimit on the podman CLI replaces this whole list: pass both then.
default_ulimits = ["nofile=${hn}:${hn}", "nproc=${hu}:${hu}"]

[engine]
cgroup_manager = "cgroupfs"   # no systemd as PID 1
events_logger = "file"        # no journald
runtime = "runc"              # crun 1.8.1: "cgroups in hybrid mode not supported"

[network]
network_backend = "netavark"
CONF
if [ ! -f /etc/containers/storage.conf ]; then
  fstype=$(stat -f -c %T /var/lib 2>/dev/null || echo unknown)
  driver=overlay
  case "$fstype" in overlayfs|overlay) driver=vfs ;; esac   # overlay on overlay is refused
  cat > /etc/containers/storage.conf <<CONF
# written by sparc-deploy scripts/podman/setup.sh only when absent
[storage]
driver = "$driver"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF
  log "wrote /etc/containers/storage.conf (driver=$driver)"
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Host.EventLogger}} {{.Host.NetworkBackend}} {{.Store.GraphDriverName}}' \
  | { read -r rt cg ev nb gd; log "podman: runtime=$rt cgroups=$cg events=$ev network=$nb storage=$gd"; }

# ---------------------------------------------------------------- Docker-API socket
alive() {  # alive PIDFILE CMDLINE-SUBSTRING
  local pid; [ -s "$1" ] || return 1; pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$2"
}
ping_sock() { curl -sf -m 2 --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1; }
PF=$SPARC_STATE_DIR/podman-service.pid
if alive "$PF" "system service"; then
  log "podman service already running (pid $(cat "$PF"))"
elif ping_sock; then
  log "a podman socket not started by us already answers at $PODMAN_SOCK; using it"
else
  t=$(now); mkdir -p "$(dirname "$PODMAN_SOCK")"; rm -f "$PODMAN_SOCK"
  nohup setsid podman system service --time=0 "unix://$PODMAN_SOCK" \
    >> "$SPARC_STATE_DIR/podman-service.log" 2>&1 < /dev/null &
  echo $! > "$PF"
  for ((i = 0; i < 300; i++)); do ping_sock && break; sleep 0.1; done
  ping_sock || die "podman service did not answer, see $SPARC_STATE_DIR/podman-service.log"
  log "podman service up (pid $(cat "$PF")) in $(since "$t")s"
fi
echo "export DOCKER_HOST=unix://$PODMAN_SOCK" > "$SPARC_STATE_DIR/env.tmp"
mv "$SPARC_STATE_DIR/env.tmp" "$SPARC_STATE_DIR/env"

# ---------------------------------------------------------------- base images
if [ "${SPARC_SKIP_BASE_IMAGES:-0}" != 1 ]; then
  bash "$HERE/base-images.sh"
fi
log "ready in $(since "$T0")s; . $SPARC_STATE_DIR/env"
