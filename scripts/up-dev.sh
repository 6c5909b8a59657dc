#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): set up rootful Podman, Node >= 22
# and the npm packages, then `pulumi up --stack dev` on the embedded defaults (the sample
# MAS and signaling services in the sparc-avatar pod). Uses the `pulumi` on PATH; without
# one, builds the CLI from the Go module proxy (scripts/pulumi-engine/build.sh).
# State goes to a local file backend (~/.pulumi-sparc) unless PULUMI_BACKEND_URL is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/node-env.sh
. scripts/node-env.sh
npm ci --ignore-scripts --no-audit --no-fund
bash scripts/podman/setup.sh
bash scripts/podman/vendor-deps.sh --mas samples/mas --signaling samples/signaling
if ! command -v pulumi >/dev/null 2>&1; then
  PATH="$(bash scripts/pulumi-engine/build.sh):$PATH"
  export PATH
fi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-sparc}"
mkdir -p "${PULUMI_BACKEND_URL#file://}"
# The dev stack holds no secrets; a passphrase is still required by the file backend.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
pulumi stack select --create dev --non-interactive
pulumi up --stack dev --yes --non-interactive "$@"
