#!/usr/bin/env bash
# Installs the STAND-INS the local Slurm test cluster needs in place of HiPerGator software
# (Apptainer and Lmod are not packaged for Debian 12), and HiPerGator-like /blue storage.
# Root, idempotent; prints what it did. Sources: test/standins/{apptainer,module}.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
standins=$(cd "$here/../standins" && pwd)
test_user=${SLURM_TEST_USER:-hpcuser}
blue_group=${STANDIN_BLUE_GROUP:-sparc-test}

[ "$(id -u)" -eq 0 ] || die "must run as root"

# proot: runs the image's rootfs without root (apptainer exec stand-in).
if command -v proot >/dev/null 2>&1; then
  log "proot present ($(dpkg-query -W -f='${Version}' proot 2>/dev/null || echo unknown))"
else
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends proot; }
  if ! apt_install; then
    log "apt-get install proot failed; running apt-get update and retrying"
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt_install
  fi
  log "installed proot"
fi

# On the ssh PATH of the test user (/usr/local/bin:/usr/bin:/bin:/usr/games); Slurm jobs inherit it.
for tool in apptainer module; do
  if cmp -s "$standins/$tool" "/usr/local/bin/$tool"; then
    log "/usr/local/bin/$tool up to date (stand-in)"
  else
    install -m 0755 "$standins/$tool" "/usr/local/bin/$tool"
    log "installed /usr/local/bin/$tool (stand-in)"
  fi
done

# HiPerGator layout: /blue/<group>/<user>.
if id "$test_user" >/dev/null 2>&1; then
  blue_dir=/blue/$blue_group/$test_user
  if [ -d "$blue_dir" ] && [ "$(stat -c %U "$blue_dir")" = "$test_user" ]; then
    log "$blue_dir present"
  else
    install -d -m 0755 "/blue/$blue_group"
    install -d -m 0750 -o "$test_user" -g "$(id -gn "$test_user")" "$blue_dir"
    log "created $blue_dir owned by $test_user"
  fi
else
  log "user $test_user does not exist yet (run test/cluster/setup.sh first); skipped /blue"
fi
log "apptainer --version: $(/usr/local/bin/apptainer --version)"
