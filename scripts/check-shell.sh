#!/usr/bin/env bash
# Runs shellcheck on every shell script of the repository: *.sh, .ci/run, and files without
# an .sh extension whose first line is a sh/bash shebang (test/standins/module, the Unity
# stand-in player, ...). Scripts sourced with `.` declare their shell (`# shellcheck shell=bash`) and are
# followed from their callers (-x). Rendered sbatch golden files are output, not scripts: skipped.
# Exit status: shellcheck's (0 = clean). `npm run lint:sh` runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

command -v shellcheck >/dev/null ||
  die "shellcheck is not installed. Fix: apt-get install shellcheck (Debian 12 has 0.9.0; .ci/run installs it)"

# Tracked files where there is a git checkout, else the tree (CI also runs from a plain copy).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path '*/node_modules/*' \
    -not -path './test/.artifacts/*' -not -path './samples/*/vendor/*' | sed 's|^\./||' | sort)
fi

scripts=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  case "$f" in
    test/unit/components/hpg/golden/*) continue ;;
    *.sh | .ci/run) scripts+=("$f") ;;
    *) if head -n 1 "$f" | grep -Eq '^#!.*[/ ](ba|da)?sh( |$)'; then scripts+=("$f"); fi ;;
  esac
done
[ ${#scripts[@]} -gt 0 ] || die "found no shell scripts in $(pwd): run it from a checkout of the repository"
log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#scripts[@]} scripts"
shellcheck -x "${scripts[@]}"
log "clean"
