#!/usr/bin/env bash
# A second test user, hpcprint, whose login shell prints (as many sites' do): ~/.bashrc
# echoes a banner on stdout and stderr, and puts ~/bin first on PATH, where an `sbatch`
# wrapper prints a notice before the real sbatch (as site wrappers do). It logs in with
# hpcuser's test key. Idempotent; changes nothing of hpcuser, sshd or Slurm. Runs as root.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
STATE=/var/lib/slurm-test
USER_NAME=${1:-hpcprint}
[ "$(id -u)" = 0 ] || die "must run as root"
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
  touch "$STATE/created-user-$USER_NAME"
fi
# A locked account ("!") refuses key logins when UsePAM is off.
usermod -p '*' "$USER_NAME"
home=$(getent passwd "$USER_NAME" | cut -d: -f6)
install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$home/.ssh" "$home/bin"
install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$STATE/ssh/hpcuser_ed25519.pub" "$home/.ssh/authorized_keys"
cat >"$home/.bashrc" <<'RC'
echo "Welcome to the test login node. Quota: 10% used."
echo "NOTICE: maintenance on Tuesday" >&2
export PATH="$HOME/bin:$PATH"
RC
cat >"$home/bin/sbatch" <<'WRAP'
#!/bin/bash
echo "sbatch wrapper: submitting with site defaults"
exec /usr/bin/sbatch "$@"
WRAP
chmod 755 "$home/bin/sbatch"
chown "$USER_NAME:$USER_NAME" "$home/.bashrc" "$home/bin/sbatch"
echo "$USER_NAME"
