#!/usr/bin/env bash
# Starts a PubApps stand-in (test bed, not production): a rootful Podman container running systemd as
# PID 1, sshd on 127.0.0.1:$PUBAPPS_SSH_PORT (2223), a service account ($PUBAPPS_USER, svc) with rootless
# Podman 4.3.1, linger, and the real Quadlet generator. $PUBAPPS_PROXY_PORTS (space-separated, N or N/udp)
# are published 1:1 on 127.0.0.1: they stand in for UF's reverse proxy in front of the instance's agreed
# port, and for a UDP port UF RC opens (TURN).
# Usage: setup.sh AUTHORIZED_PUBKEY_FILE   (builds the image first if needed: build.sh)
# Every wait is bounded; prints the instance's ed25519 host key on the last line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
log_tag=pubapps-testbed
pub=${1:?usage: setup.sh AUTHORIZED_PUBKEY_FILE}
port=${PUBAPPS_SSH_PORT:-2223}; name=${PUBAPPS_CONTAINER:-sparc-pubapps-testbed}; user=${PUBAPPS_USER:-svc}
# Tagged by the Containerfile's content: a changed Containerfile builds a new image.
image=${PUBAPPS_IMAGE:-localhost/sparc-pubapps-testbed:$(sha256sum "$here/Containerfile" | cut -c1-12)}
PUBAPPS_USER=$user PUBAPPS_IMAGE=$image bash "$here/build.sh"
publish=(-p "127.0.0.1:$port:22")
# An entry N/udp publishes a UDP port (the TURN port: UF RC would open it on the instance's firewall).
for p in ${PUBAPPS_PROXY_PORTS:-}; do
  case "$p" in
    */udp) publish+=(-p "127.0.0.1:${p%/udp}:${p%/udp}/udp") ;;
    *) publish+=(-p "127.0.0.1:$p:$p") ;;
  esac
done
podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
podman volume rm -f "$name-podman" >/dev/null 2>&1 || true
# --privileged + /dev/net/tun: rootless Podman inside needs user namespaces and slirp4netns.
# /podman is a volume (ext4 underneath): PubApps keeps images there, and rootless overlay storage
# cannot sit on the container's own overlay root.
podman run -d --name "$name" --hostname pubapps-testbed --systemd=always --privileged --cgroupns=private \
  --device /dev/net/tun -v "$name-podman:/podman" -v "$here/cgroup2-init:/usr/local/sbin/cgroup2-init:ro" \
  -e PUBAPPS_USER="$user" --entrypoint /usr/local/sbin/cgroup2-init "${publish[@]}" "$image" >/dev/null
bash "$here/wait-ready.sh" "$name" 60
podman exec "$name" bash -c "loginctl enable-linger $user && install -d -m 700 -o $user -g $user /home/$user/.ssh /podman/$user"
podman cp "$pub" "$name:/home/$user/.ssh/authorized_keys"
podman exec "$name" bash -c "chown $user:$user /home/$user/.ssh/authorized_keys && chmod 600 /home/$user/.ssh/authorized_keys"
# Site settings of the service account, as UF RC would make them: images under /podman (overlay).
# pids_limit = 0: this host's pids controller sits on cgroup v1, so the v2 view has none to limit with.
# Not `su -`: its PAM session (pam_systemd) waits on logind, seen to hang in this container.
podman exec --user "$user" "$name" mkdir -p "/home/$user/.config/containers"
printf '[storage]\ndriver = "overlay"\ngraphroot = "/podman/%s/storage"\n' "$user" |
  podman exec -i --user "$user" "$name" sh -c "cat > /home/$user/.config/containers/storage.conf"
printf '[containers]\npids_limit = 0\n' | podman exec -i --user "$user" "$name" sh -c "cat > /home/$user/.config/containers/containers.conf"
for _ in $(seq 1 50); do ssh-keyscan -p "$port" 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.2; done
log "ready: ssh -p $port $user@127.0.0.1"
podman exec "$name" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1,2
