#!/usr/bin/env bash
# `npm run check`: the static checks CI runs before any test (.ci/run), all of them, then a
# verdict naming the ones that failed:
#   lint          ESLint on .ts, .js and .mjs
#   format:check  prettier --check . (fix with `npm run format`)
#   typecheck     tsc on the TypeScript, then tsconfig.scripts.json on the JavaScript (checkJs)
#   lint:sh       shellcheck on every shell script (scripts/check-shell.sh)
#   docs:check    the package's API reference (providers/docs) regenerated from its TSDoc and compared
# Needs no services: node_modules (npm ci) and shellcheck (apt-get install shellcheck).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

failed=()
for script in lint format:check typecheck lint:sh docs:check; do
  log "npm run $script"
  npm run --silent "$script" || failed+=("$script")
done
[ ${#failed[@]} -eq 0 ] || die "failed: ${failed[*]} (format:check is fixed by npm run format)"
log "all checks passed"
