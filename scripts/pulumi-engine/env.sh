# shellcheck shell=bash
# Source this (`. scripts/pulumi-engine/env.sh`) to run the engine built by build.sh
# fully offline. Every variable is read by pulumi v3.274 (sdk/go/common/env/env.go).
# Does not touch PULUMI_BACKEND_URL: the caller picks the backend (tests use a temp
# file:// backend).

pulumi_engine_cli_version="${PULUMI_CLI_VERSION:-3.274.1}"
pulumi_engine_cli_version="${pulumi_engine_cli_version#v}"
PULUMI_ENGINE_DIR="${PULUMI_ENGINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pulumi-${pulumi_engine_cli_version}}"
export PULUMI_ENGINE_DIR
unset pulumi_engine_cli_version

# The engine finds pulumi-language-nodejs and pulumi-resource-pulumi-nodejs on PATH or
# next to the pulumi binary; when build.sh reused a pulumi already on PATH, the dir is absent.
if [ -x "$PULUMI_ENGINE_DIR/bin/pulumi" ]; then
  case ":$PATH:" in
    *":$PULUMI_ENGINE_DIR/bin:"*) ;;
    *) export PATH="$PULUMI_ENGINE_DIR/bin:$PATH" ;;
  esac
fi

# Plugins, credentials and logs stay out of ~/.pulumi.
export PULUMI_HOME="${PULUMI_HOME:-$PULUMI_ENGINE_DIR/home}"
# Otherwise every command asks Pulumi Cloud for the latest version.
export PULUMI_SKIP_UPDATE_CHECK=true
# A missing plugin is an immediate error instead of a download attempt.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# `pulumi plugin install` without --file, `package add`, `install`: no registry lookups.
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_SKIP_CONFIRMATIONS=true
# Test-only default; the passphrase is read with LookupEnv, so an explicit empty value is kept.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-sparc-deploy-test-passphrase}"
