#!/usr/bin/env bash
# `npm run docs:check`: the package's API reference (providers/docs, TypeDoc from the TSDoc comments of
# the public entry providers/index.ts) must be what the sources generate now, so an exported type
# cannot change without its reference. Regenerates into a temp dir and compares; `npm run docs:api`
# rewrites providers/docs. An argument names another copy of the package directory (the unit test's).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
log_tag=docs-check
pkg=$(cd "${1:-providers}" && pwd)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$pkg" && npx --no-install typedoc --logLevel Warn --out "$out") || die "typedoc failed on $pkg/index.ts (see above)"
if ! diff -ru "$pkg/docs" "$out" >"$out.diff"; then
  head -n 60 "$out.diff" >&2
  rm -f "$out.diff"
  die "providers/docs differs from what the package's exports generate (diff above): run \`npm run docs:api\` and commit providers/docs"
fi
rm -f "$out.diff"
log "providers/docs matches the exports of providers/index.ts"
