#!/usr/bin/env bash
# entrypoint.sh - the turn-server container of the SPARC pod (dockerfiles/Dockerfile.turn): writes
# turnserver.conf from the environment at start, then execs coturn's turnserver with it.
#
#   TURN_SECRET_FILE   file holding the shared secret of the TURN REST API credentials (use-auth-secret):
#                      a podman secret mounted as a file (--secret NAME, /run/secrets/NAME), which keeps it
#                      out of `podman inspect` (Podman 4.3 shows type=env secrets in Config.Env there)
#   TURN_SECRET        the same secret as a variable, when TURN_SECRET_FILE is not set; one is required
#   TURN_HOST          host name or IP browsers reach the relay at: the realm, and (resolved here, at
#                      start) the external-ip the relay announces; a loopback address announces none
#   TURN_REALM         overrides the realm (default TURN_HOST)
#   TURN_EXTERNAL_IP   overrides the resolved external-ip ("" = resolve TURN_HOST)
#   TURN_PORT          listening port, UDP and TCP (default 3478)
#   TURN_MIN_PORT, TURN_MAX_PORT   the relay port range (the pod's published WebRTC range)
#   TURN_POD_IPS       the pod's own addresses, space-separated (default: found with hostname -I);
#                      allowed as peers although private: the player's host candidates are these
#   TURN_CONFIG        where the file is written (default /tmp/turnserver.conf, mode 600)
#
# --print-config writes the file's text to stdout with the secret replaced by a note, and exits
# (test/unit/dockerfiles/turn-entrypoint.test.ts runs it; nothing else prints the secret).
# No open relay: allocations need a credential made from TURN_SECRET, and peers in private, loopback,
# link-local, CGNAT and other special-purpose ranges (IPv4 and IPv6) are refused, the pod's own excepted.
set -euo pipefail

die() {
  echo "turn-server: $*" >&2
  exit 1
}

print_only=false
case "${1:-}" in
  --print-config) print_only=true ;;
  "") ;;
  *) die "unknown argument ${1@Q} (only --print-config)" ;;
esac

if [ -n "${TURN_SECRET_FILE:-}" ]; then
  [ -r "$TURN_SECRET_FILE" ] || die "TURN_SECRET_FILE ${TURN_SECRET_FILE@Q} is not a readable file. Fix: run with --secret NAME and TURN_SECRET_FILE=/run/secrets/NAME"
  TURN_SECRET=$(<"$TURN_SECRET_FILE")
fi
[ -n "${TURN_SECRET:-}" ] || die "TURN_SECRET is empty: refusing to start an unauthenticated relay. Fix: run with --secret NAME and TURN_SECRET_FILE=/run/secrets/NAME (or TURN_SECRET from --secret NAME,type=env,target=TURN_SECRET)"
[ -n "${TURN_HOST:-}" ] || die "TURN_HOST is empty. Fix: set it to the host name or IP browsers reach this relay at"
port=${TURN_PORT:-3478}
min_port=${TURN_MIN_PORT:-49152}
max_port=${TURN_MAX_PORT:-49200}
for n in "$port" "$min_port" "$max_port"; do
  if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 65535 ]; then die "not a port: ${n@Q}"; fi
done
[ "$min_port" -le "$max_port" ] || die "TURN_MIN_PORT $min_port > TURN_MAX_PORT $max_port"

is_ipv4() { [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; }
is_ip() { is_ipv4 "$1" || [[ $1 == *:* ]]; }
is_loopback() { [[ $1 == 127.* || $1 == ::1 ]]; }

# The external address: explicit, the host itself when an IP, else its first IPv4 address now.
host=${TURN_HOST#[}
host=${host%]}
external=${TURN_EXTERNAL_IP:-}
if [ -z "$external" ]; then
  if is_ip "$host"; then
    external=$host
  else
    external=$(getent ahostsv4 "$host" | awk 'NR == 1 { print $1 }') || true
    [ -n "$external" ] || die "TURN_HOST ${host@Q} does not resolve to an IPv4 address here. Fix: set turnHost (or TURN_EXTERNAL_IP) to the relay's public IP"
  fi
fi
if is_loopback "$external"; then
  # Browsers on this machine only (the dev default, publicHost localhost): the relay's own address serves.
  external=""
fi

if [ -n "${TURN_POD_IPS+set}" ]; then
  read -r -a pod_ips <<<"$TURN_POD_IPS"
else
  read -r -a pod_ips <<<"$(hostname -I 2>/dev/null || true)"
fi

# Special-purpose ranges a relay must not reach (RFC 6890 and successors): this-network, private,
# CGNAT, loopback, link-local, protocol assignments, documentation, benchmarking, multicast and
# reserved; IPv6 loopback, v4-mapped, NAT64, discard, documentation, unique-local, link-local,
# multicast. IPv6 loopback is the single address ::1: coturn 4.6.1 reads the range ::-::1 as one that
# holds every IPv4 address (measured: 8.8.8.8 refused "in the range ::-::1"), which would relay nothing.
denied=(
  0.0.0.0-0.255.255.255
  10.0.0.0-10.255.255.255
  100.64.0.0-100.127.255.255
  127.0.0.0-127.255.255.255
  169.254.0.0-169.254.255.255
  172.16.0.0-172.31.255.255
  192.0.0.0-192.0.0.255
  192.0.2.0-192.0.2.255
  192.168.0.0-192.168.255.255
  198.18.0.0-198.19.255.255
  198.51.100.0-198.51.100.255
  203.0.113.0-203.0.113.255
  224.0.0.0-255.255.255.255
  ::1
  ::ffff:0.0.0.0-::ffff:255.255.255.255
  64:ff9b::-64:ff9b::ffff:ffff
  100::-100::ffff:ffff:ffff:ffff
  2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff
  fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
  fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
  ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
)

config_text() {
  local secret_line=$1 ip
  echo "# Written by entrypoint.sh at container start (sparc-deploy dockerfiles/turn); not edited by hand."
  echo "listening-port=$port"
  echo "min-port=$min_port"
  echo "max-port=$max_port"
  echo "realm=${TURN_REALM:-$host}"
  [ -z "$external" ] || echo "external-ip=$external"
  echo "use-auth-secret"
  echo "$secret_line"
  echo "fingerprint"
  echo "no-cli"
  echo "no-tls"
  echo "no-dtls"
  echo "no-multicast-peers"
  echo "no-software-attribute"
  for ip in "${denied[@]}"; do echo "denied-peer-ip=$ip"; done
  # allowed-peer-ip wins over denied-peer-ip: the pod's addresses (the player's host candidates)
  # and the relay's own external address (a relay-to-relay path between browser and player).
  for ip in "${pod_ips[@]}" ${external:+"$external"}; do
    is_loopback "$ip" || echo "allowed-peer-ip=$ip"
  done
  echo "log-file=stdout"
  echo "simple-log"
  echo "pidfile=/tmp/turnserver.pid"
}

if $print_only; then
  config_text "static-auth-secret=(from TURN_SECRET, ${#TURN_SECRET} characters)"
  exit 0
fi
conf=${TURN_CONFIG:-/tmp/turnserver.conf}
(umask 077 && config_text "static-auth-secret=$TURN_SECRET" >"$conf")
unset TURN_SECRET
echo "turn-server: $conf written (realm ${TURN_REALM:-$host}, external-ip ${external:-none}, relay ports $min_port-$max_port, pod addresses ${pod_ips[*]:-none})"
exec turnserver -c "$conf"
