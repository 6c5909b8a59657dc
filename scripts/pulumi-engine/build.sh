#!/usr/bin/env bash
# Builds the Pulumi engine pieces a TypeScript program needs, from the Go module
# proxy only (this machine has no other route to them):
#   pulumi                         CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi @ PULUMI_CLI_VERSION
#   pulumi-language-nodejs         language host from an OLD sdk/v3 (PULUMI_LANGHOST_SDK_VERSION):
#                                  the proxy refuses every version of the newer, separate module
#                                  .../sdk/nodejs/cmd/pulumi-language-nodejs/v3; sdk/v3 <= v3.68.0
#                                  still carries the host as package nodejs/cmd/pulumi-language-nodejs.
#   pulumi-resource-pulumi-nodejs  launcher for dynamic providers (a few lines of sh, written here)
#
# Usage: scripts/pulumi-engine/build.sh          (prints the bin dir on stdout when done)
# Env:   PULUMI_CLI_VERSION (3.274.1), PULUMI_LANGHOST_SDK_VERSION (3.68.0),
#        PULUMI_ENGINE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pulumi-<cli version>)
# Exits early when the binaries already exist at the pinned versions, or when the
# `pulumi` on PATH already is the pinned CLI version.
set -euo pipefail

cli_version="${PULUMI_CLI_VERSION:-3.274.1}"
cli_version="${cli_version#v}"
langhost_sdk_version="${PULUMI_LANGHOST_SDK_VERSION:-3.68.0}"
langhost_sdk_version="${langhost_sdk_version#v}"
engine_dir="${PULUMI_ENGINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pulumi-${cli_version}}"
bin_dir="$engine_dir/bin"

readonly pkg_module=github.com/pulumi/pulumi/pkg/v3
readonly sdk_module=github.com/pulumi/pulumi/sdk/v3
readonly version_symbol=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
# The one non-local replace in pkg/go.mod (a Windows-only clipboard fix); optional.
readonly clipboard_fork=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e

started_at=$(date +%s)
export PULUMI_SKIP_UPDATE_CHECK=true   # `pulumi version` below must not phone home
log() { printf '[pulumi-engine %4ss] %s\n' "$(( $(date +%s) - started_at ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The old language host has no -version flag; its build info names the sdk/v3 it was built from.
langhost_sdk_of() {
    [ -x "$1" ] || return 0
    go version -m "$1" 2>/dev/null | awk -v m="$sdk_module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3 }'
}

binaries_current() {
    local dir=$1
    [ -x "$dir/pulumi" ] && [ -x "$dir/pulumi-resource-pulumi-nodejs" ] &&
        [ "$("$dir/pulumi" version 2>/dev/null)" = "v${cli_version}" ] &&
        [ "$(langhost_sdk_of "$dir/pulumi-language-nodejs")" = "v${langhost_sdk_version}" ]
}

# ---- 0. nothing to do? ------------------------------------------------------------------
if binaries_current "$bin_dir"; then
    log "up to date: $bin_dir (pulumi v${cli_version}, language host v${langhost_sdk_version})"
    echo "$bin_dir"
    exit 0
fi
if path_pulumi=$(command -v pulumi 2>/dev/null) && [ "$("$path_pulumi" version 2>/dev/null)" = "v${cli_version}" ]; then
    # An official install bundles its own language host and launcher next to the CLI.
    log "using pulumi v${cli_version} from PATH: $path_pulumi (nothing built)"
    dirname "$path_pulumi"
    exit 0
fi

# ---- 1. toolchain ------------------------------------------------------------------------
command -v go >/dev/null || die "no go on PATH (expected /usr/local/go/bin)"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 25 ] || die "$(go env GOVERSION) is too old: pkg/v3 needs go >= 1.25"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
readonly build_tags=osusergo,grpcnotrace   # the release build's tags (.goreleaser.yml)
log "$(go env GOVERSION), GOPROXY=$(go env GOPROXY); output: $bin_dir"
mkdir -p "$bin_dir"

# A consumer module ignores its dependencies' `replace` lines, so it can build main
# packages whose own go.mod has local replaces (which block `go install pkg@ver`).
new_wrapper_module() {
    local dir=$1
    mkdir -p "$dir"
    rm -f "$dir/go.mod" "$dir/go.sum"
    (cd "$dir" && go mod init example.invalid/sparc-deploy-pulumi-engine >/dev/null 2>&1)
}

# Builds to a temp name and renames, so an interrupted build never looks current.
build_main() {
    local dir=$1 out=$2 import_path=$3 stamp=$4 step_start
    step_start=$(date +%s)
    log "building $(basename "$out") from $import_path (stamp $stamp)"
    (cd "$dir" && go build -trimpath -tags "$build_tags" \
        -ldflags "-w -s -X ${version_symbol}=${stamp}" -o "$out.partial" "$import_path")
    mv -f "$out.partial" "$out"
    log "built $(basename "$out") in $(( $(date +%s) - step_start ))s"
}

require_resolved() {   # MVS must not move a module away from the pinned version.
    local dir=$1 module=$2 want=$3 got
    got=$(cd "$dir" && go list -m -f '{{.Version}}' "$module")
    [ "$got" = "$want" ] || die "$module resolved to $got in $dir, expected $want"
}

# ---- 2. CLI ------------------------------------------------------------------------------
cli_wrapper="$engine_dir/wrapper-cli"
if [ "$("$bin_dir/pulumi" version 2>/dev/null)" = "v${cli_version}" ]; then
    log "pulumi v${cli_version} already built"
else
    new_wrapper_module "$cli_wrapper"
    (cd "$cli_wrapper" && go mod edit -require="$pkg_module@v${cli_version}" -require="$sdk_module@v${cli_version}")
    if (cd "$cli_wrapper" && go mod download "$clipboard_fork" >/dev/null 2>&1); then
        (cd "$cli_wrapper" && go mod edit -replace="github.com/atotto/clipboard=$clipboard_fork")
    else
        log "WARN: $clipboard_fork not served; upstream atotto/clipboard builds the same on Linux"
    fi
    build_main "$cli_wrapper" "$bin_dir/pulumi" "$pkg_module/cmd/pulumi" "v${cli_version}"
    require_resolved "$cli_wrapper" "$pkg_module" "v${cli_version}"
    require_resolved "$cli_wrapper" "$sdk_module" "v${cli_version}"
fi

# ---- 3. language host (separate module graph: an old sdk/v3) ------------------------------
langhost_wrapper="$engine_dir/wrapper-langhost"
if [ "$(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")" = "v${langhost_sdk_version}" ]; then
    log "pulumi-language-nodejs v${langhost_sdk_version} already built"
else
    new_wrapper_module "$langhost_wrapper"
    (cd "$langhost_wrapper" && go mod edit -require="$sdk_module@v${langhost_sdk_version}")
    build_main "$langhost_wrapper" "$bin_dir/pulumi-language-nodejs" \
        "$sdk_module/nodejs/cmd/pulumi-language-nodejs" "v${langhost_sdk_version}"
    require_resolved "$langhost_wrapper" "$sdk_module" "v${langhost_sdk_version}"
fi

# ---- 4. dynamic-provider launcher ----------------------------------------------------------
# The engine starts it in the program's directory, so require.resolve finds the
# project's own @pulumi/pulumi. Same behaviour as sdk/nodejs/dist's script, with "$@" quoted.
cat > "$bin_dir/pulumi-resource-pulumi-nodejs.partial" <<'SH'
#!/bin/sh
script=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || exit 1
exec node "$script" "$@"
SH
chmod 0755 "$bin_dir/pulumi-resource-pulumi-nodejs.partial"
mv -f "$bin_dir/pulumi-resource-pulumi-nodejs.partial" "$bin_dir/pulumi-resource-pulumi-nodejs"

# ---- 5. check ----------------------------------------------------------------------------
binaries_current "$bin_dir" || die "built binaries do not report the pinned versions"
log "done: pulumi $("$bin_dir/pulumi" version), pulumi-language-nodejs from sdk $(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")"
echo "$bin_dir"
