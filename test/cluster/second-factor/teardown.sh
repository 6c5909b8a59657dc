#!/usr/bin/env bash
# Stops the second-factor sshd of setup.sh (only the PID it recorded) and removes its PAM service.
set -uo pipefail
pid=/var/lib/slurm-test/run/sshd-2fa.pid
[ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; rm -f "$pid"
rm -f /etc/pam.d/sshd-sparc2fa
exit 0
