#!/usr/bin/env bash
# A second sshd beside the Slurm test cluster's, on 127.0.0.1:${TFA_PORT:-2224}, that asks, like
# HiPerGator's login nodes, for a public key AND then a keyboard-interactive second factor (PAM).
# Adapted from the recipe in ../shared/reference/second-factor-sshd (this is the project's own copy).
#
# The second factor is chosen at every login by $STATE/2fa/mode (tests switch it without a restart):
#   totp      (default) one-time codes (libpam-google-authenticator, "Verification code: "): each login
#             needs a fresh code, `oathtool --totp -b "$(cat $STATE/2fa/secret)"`; a reused code is refused
#             (DISALLOW_REUSE), so every extra login shows up as a failure.
#   duo       the Duo-shaped stand-in (pam_sparc_duo.c): Duo's info text, then "Passcode or option (1-3): ",
#             a static answer (the content of $STATE/2fa/answer, default "1" = push).
#   password  "Password: " (always refused): a client must never send its Duo answer there.
# Count in the logs:
#   grep -c 'Partial publickey' $STATE/log/sshd-2fa.log               key accepted = login attempts
#   grep -c 'Accepted keyboard-interactive/pam' $STATE/log/sshd-2fa.log  second factor passed
#   grep -c 'Failed keyboard-interactive/pam' $STATE/log/sshd-2fa.log    second factor failed
#   $STATE/2fa/prompts.log: one line per duo/password prompt (the stand-in's own log)
# Host keys: the cluster's ed25519 key plus an ECDSA and an RSA key of its own ($STATE/2fa/ssh_host_*_key.pub),
# so a client can pin each type. The PAM service is "sshd-sparc2fa" (sshd names its PAM service after
# its program name, so it runs through a symlink): /etc/pam.d/sshd is not touched.
# Needs test/cluster/setup.sh first (user hpcuser, /var/lib/slurm-test). Runs as root. Idempotent.
# Usage: setup.sh [BASE32_SECRET]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/../../../scripts/lib/common.sh"
state=/var/lib/slurm-test; port=${TFA_PORT:-2224}; user=${TEST_USER:-hpcuser}; dir=$state/2fa
[ "$(id -u)" = 0 ] || die "must run as root"
[ -s "$state/ssh/ssh_host_ed25519_key" ] || die "run test/cluster/setup.sh first"
if ! command -v oathtool >/dev/null || [ ! -e /lib/x86_64-linux-gnu/security/pam_google_authenticator.so ] ||
   [ ! -e /usr/include/security/pam_modules.h ] || ! command -v gcc >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libpam-google-authenticator oathtool libpam0g-dev gcc libc6-dev >/dev/null
fi
install -d -m 700 "$dir" "$dir/bin"
if [ -n "${1:-}" ]; then
  secret=$1
elif [ -s "$dir/secret" ]; then
  secret=$(cat "$dir/secret")
else
  secret=$(head -c 20 /dev/urandom | base32 | tr -d '=')
fi
printf '%s\n' "$secret" > "$dir/secret"; chmod 400 "$dir/secret"
# google-authenticator rewrites this file at each login (used codes, rate limit).
printf '%s\n" RATE_LIMIT 10 30\n" DISALLOW_REUSE\n" TOTP_AUTH\n" WINDOW_SIZE 3\n' "$secret" > "$dir/$user.ga"
chmod 400 "$dir/$user.ga"
[ -s "$dir/mode" ] || echo totp > "$dir/mode"
[ -s "$dir/answer" ] || echo 1 > "$dir/answer"
touch "$dir/prompts.log"
gcc -shared -fPIC -Wall -Wextra -O2 -o "$dir/pam_sparc_duo.so" "$here/pam_sparc_duo.c" -lpam
[ -s "$dir/ssh_host_ecdsa_key" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C sparc-2fa-host -f "$dir/ssh_host_ecdsa_key"
[ -s "$dir/ssh_host_rsa_key" ] || ssh-keygen -q -t rsa -b 3072 -N '' -C sparc-2fa-host -f "$dir/ssh_host_rsa_key"
cat > /etc/pam.d/sshd-sparc2fa <<PAM
# test second factor for the sshd on 127.0.0.1:$port (test/cluster/second-factor/setup.sh)
auth [success=done ignore=ignore default=die] $dir/pam_sparc_duo.so mode_file=$dir/mode answer_file=$dir/answer log_file=$dir/prompts.log
auth required pam_google_authenticator.so secret=$dir/\${USER}.ga user=root
account required pam_permit.so
session required pam_permit.so
password required pam_deny.so
PAM
sed -e "s/^Port .*/Port $port/" -e "s#^PidFile .*#PidFile $state/run/sshd-2fa.pid#" \
    -e 's/^KbdInteractiveAuthentication .*/KbdInteractiveAuthentication yes/' -e 's/^UsePAM .*/UsePAM yes/' \
    -e 's/^LogLevel .*/LogLevel VERBOSE/' "$here/../sshd_config" > "$dir/sshd_config"
cat >> "$dir/sshd_config" <<CONF
HostKey $dir/ssh_host_ecdsa_key
HostKey $dir/ssh_host_rsa_key
AuthenticationMethods publickey,keyboard-interactive:pam
CONF
ln -sfn /usr/sbin/sshd "$dir/bin/sshd-sparc2fa"
pidfile=$state/run/sshd-2fa.pid
old=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
  kill "$old"; for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
"$dir/bin/sshd-sparc2fa" -t -f "$dir/sshd_config"
"$dir/bin/sshd-sparc2fa" -f "$dir/sshd_config" -E "$state/log/sshd-2fa.log"
for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
echo "second-factor sshd on 127.0.0.1:$port (pid $(cat "$pidfile")), log $state/log/sshd-2fa.log, mode $(cat "$dir/mode")"
