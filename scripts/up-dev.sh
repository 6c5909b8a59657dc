#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): set up rootful Podman, Node >= 22
# and the npm packages, then `pulumi up --stack dev` on the embedded defaults (the sample
# MAS and signaling services, built from source through Podman's Docker API, in the
# sparc-avatar pod), and print the URLs. A second run changes nothing.
# Uses the `pulumi` on PATH (an official install fetches the docker and command plugins
# itself); without one, scripts/pulumi-engine/build.sh builds the CLI, the language host and
# the plugins (see its header) and scripts/pulumi-engine/env.sh runs them offline.
# State goes to a local file backend (~/.pulumi-sparc) unless PULUMI_BACKEND_URL is set.
# Extra arguments go to `pulumi up` (e.g. --expect-no-changes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/node-env.sh
. scripts/node-env.sh
npm ci --ignore-scripts --no-audit --no-fund
bash scripts/podman/setup.sh
# --player: the default pod runs the Unity player stand-in (unityBuildDir ""), whose libwebrtc comes from npm.
bash scripts/podman/vendor-deps.sh --mas samples/mas --signaling samples/signaling --player samples/unity-player-standin
# The dev stack's only secret is the TURN secret it generates (kept encrypted in the state with this
# passphrase); the file backend needs one, and "" is accepted for a local dev stack.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
if ! command -v pulumi >/dev/null 2>&1; then
  PULUMI_ENGINE_DIR="$(dirname "$(bash scripts/pulumi-engine/build.sh)")"
  export PULUMI_ENGINE_DIR
  # shellcheck source=scripts/pulumi-engine/env.sh
  . scripts/pulumi-engine/env.sh
fi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-sparc}"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
pulumi stack select --create dev --non-interactive
# The program and the provider package as JavaScript (only what changed; program.js and
# providers/load.js use it only when it matches the sources): no TypeScript compile in every process.
npm run --silent compile
# V8's compile cache in every node the engine starts (the program preloads it itself through Pulumi.yaml's
# nodeargs; the dynamic-provider processes only see this variable): 0.2-0.3 s less per process start.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$HOME/.cache/sparc-deploy/node-compile-cache}"
# --yes approves without asking, so nobody reads a preview: --skip-preview does not pay for one
# (a second run of the program, the plugins and every check).
pulumi up --stack dev --yes --skip-preview --non-interactive "$@"
echo
echo "sparc-avatar is up:"
echo "  MAS API:   $(pulumi stack output masUrl --stack dev)"
echo "  signaling: $(pulumi stack output signalingUrl --stack dev)"
echo "  receiver:  $(pulumi stack output receiverUrl --stack dev)   (open it in a browser: docs/dev.md, \"Open the avatar\")"
echo "  pod:       $(pulumi stack output podName --stack dev)   (podman pod ps; pulumi destroy --stack dev removes it)"
