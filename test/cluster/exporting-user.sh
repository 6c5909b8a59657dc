#!/usr/bin/env bash
# A third test user, hpcenv, whose login shell exports what a site's or user's ~/.bashrc may:
# SLURM_TIME_FORMAT=relative (squeue and sacct then print "Tomorr 12:00"-style times) and
# SBATCH_CLUSTERS=<this cluster> (sbatch then answers "123;cluster"). It logs in with hpcuser's
# test key. Jobs of this user are the tests' own (test/cluster/slurm-parsing.test.ts), so a
# job of it with an odd comment troubles no other test. Idempotent; changes nothing of hpcuser,
# sshd or Slurm. Runs as root.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
STATE=/var/lib/slurm-test
USER_NAME=${1:-hpcenv}
CLUSTER=${2:-testcluster}
[ "$(id -u)" = 0 ] || die "must run as root"
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
  touch "$STATE/created-user-$USER_NAME"
fi
# A locked account ("!") refuses key logins when UsePAM is off.
usermod -p '*' "$USER_NAME"
home=$(getent passwd "$USER_NAME" | cut -d: -f6)
install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$home/.ssh"
install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$STATE/ssh/hpcuser_ed25519.pub" "$home/.ssh/authorized_keys"
cat >"$home/.bashrc" <<RC
export SLURM_TIME_FORMAT=relative
export SBATCH_CLUSTERS=$CLUSTER
RC
chown "$USER_NAME:$USER_NAME" "$home/.bashrc"
echo "$USER_NAME"
