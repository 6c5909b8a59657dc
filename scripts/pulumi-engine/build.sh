#!/usr/bin/env bash
# Builds the Pulumi engine pieces a TypeScript program needs, on a machine whose only routes
# are the Go module proxy, Debian and npm:
#   pulumi                         CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi @ PULUMI_CLI_VERSION (module proxy)
#   pulumi-language-nodejs         Node.js language host of the 3.260 line (sdk/pkg v3.260.0), from
#                                  the source archive pulumi-language-nodejs.tar.xz (the proxy serves no
#                                  version of its module, .../sdk/nodejs/cmd/pulumi-language-nodejs/v3)
#   pulumi-resource-pulumi-nodejs  launcher for dynamic providers (a few lines of sh, written here)
#   resource plugins docker and command, at the versions of package.json's @pulumi/docker and
#                                  @pulumi/command (the one place they are pinned), from the source
#                                  archives pulumi-docker.tar.xz and pulumi-command.tar.xz, installed with
#                                  `pulumi plugin install resource <name> <version> --file` into
#                                  the engine's PULUMI_HOME ($engine_dir/home, as env.sh sets it)
# The archives are read from PULUMI_PLUGIN_SOURCES, else from the first shared/reference/pulumi-plugins
# found in a parent directory of the repository (the test machines have ../shared/reference/pulumi-plugins).
# A machine with internet needs none of this: an official pulumi install bundles the language host and
# fetches plugins itself.
#
# Usage: scripts/pulumi-engine/build.sh          (prints the bin dir on stdout when done)
# Env:   PULUMI_CLI_VERSION (3.274.1), PULUMI_ENGINE_DIR (default
#        ${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pulumi-<cli version>), PULUMI_PLUGIN_SOURCES
# Idempotent: builds only what is missing or at another version (an engine dir that still has the
# old sdk-v3.68 language host gets the 3.260 one), so a rerun on a complete dir takes well under a second.
# Go's module and build caches are reused, so a rebuild of an unchanged plugin is a relink.
set -euo pipefail

cli_version="${PULUMI_CLI_VERSION:-3.274.1}"
cli_version="${cli_version#v}"
# The language host the source archive holds (its go.mod pins sdk/v3 and pkg/v3 at this version).
readonly langhost_sdk_version=3.260.0
engine_dir="${PULUMI_ENGINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparc-deploy/pulumi-${cli_version}}"
bin_dir="$engine_dir/bin"
pulumi_home="$engine_dir/home"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

readonly pkg_module=github.com/pulumi/pulumi/pkg/v3
readonly sdk_module=github.com/pulumi/pulumi/sdk/v3
readonly version_symbol=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
# The one non-local replace in pkg/go.mod (a Windows-only clipboard fix); optional.
readonly clipboard_fork=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e

# Go's official tarball installs here; a login shell on a fresh machine may not have it on PATH.
command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH="/usr/local/go/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true   # `pulumi version` below must not phone home
# shellcheck source=scripts/lib/common.sh
. "$repo_root/scripts/lib/common.sh"
log_tag=pulumi-engine

# package.json is the one place the plugin versions are pinned (exact versions, no ranges).
npm_pin() {
  local package=$1 version
  version=$(sed -n "s|^ *\"${package}\": *\"\\([^\"]*\\)\".*|\\1|p" "$repo_root/package.json" | head -n 1)
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "package.json: \"$package\" is \"$version\"; pin an exact version (e.g. \"5.2.0\"): the plugin is built at that version"
  echo "$version"
}
docker_version=$(npm_pin @pulumi/docker)
command_version=$(npm_pin @pulumi/command)

# Build info of a Go binary: the sdk/v3 it was built against.
langhost_sdk_of() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$sdk_module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3 }'
}
# -trimpath keeps -ldflags out of the build info, so the version a plugin was stamped with is
# recorded beside it (<binary>.version). test/e2e/engine.test.ts asks the installed plugin itself.
stamped_version_of() {
  [ -x "$1" ] && [ -f "$1.version" ] && cat "$1.version"
  return 0
}

plugin_bins="$engine_dir/plugin-bins"
installed_plugin() { echo "$pulumi_home/plugins/resource-$1-v$2/pulumi-resource-$1"; }
plugin_current() {   # name version: installed, and the very binary built at that version
  [ "$(stamped_version_of "$plugin_bins/pulumi-resource-$1")" = "$2" ] &&
    cmp -s "$plugin_bins/pulumi-resource-$1" "$(installed_plugin "$1" "$2")"
}

binaries_current() {
  [ -x "$bin_dir/pulumi" ] && [ -x "$bin_dir/pulumi-resource-pulumi-nodejs" ] &&
    [ "$("$bin_dir/pulumi" version 2>/dev/null)" = "v${cli_version}" ] &&
    [ "$(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")" = "v${langhost_sdk_version}" ] &&
    plugin_current docker "$docker_version" && plugin_current command "$command_version"
}

# ---- 0. nothing to do? ------------------------------------------------------------------
if binaries_current; then
  log "up to date: $bin_dir (pulumi v${cli_version}, language host v${langhost_sdk_version}," \
    "plugins docker v${docker_version} and command v${command_version} in $pulumi_home)"
  echo "$bin_dir"
  exit 0
fi
if path_pulumi=$(command -v pulumi 2>/dev/null) && [ "$("$path_pulumi" version 2>/dev/null)" = "v${cli_version}" ] &&
  [ "$(dirname "$path_pulumi")" != "$bin_dir" ]; then
  # An official install bundles its own language host and fetches plugins itself.
  log "using pulumi v${cli_version} from PATH: $path_pulumi (nothing built)"
  dirname "$path_pulumi"
  exit 0
fi

# ---- 1. toolchain and plugin sources ------------------------------------------------------
command -v go >/dev/null || die "no go on PATH (expected /usr/local/go/bin)"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 25 ] || die "$(go env GOVERSION) is too old: pkg/v3 needs go >= 1.25"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
readonly build_tags=osusergo,grpcnotrace   # the release build's tags (.goreleaser.yml)
log "$(go env GOVERSION), GOPROXY=$(go env GOPROXY); output: $bin_dir"
mkdir -p "$bin_dir" "$pulumi_home"

plugin_sources() {
  if [ -n "${PULUMI_PLUGIN_SOURCES:-}" ]; then
    echo "$PULUMI_PLUGIN_SOURCES"
    return
  fi
  local dir=$repo_root
  while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    if [ -f "$dir/shared/reference/pulumi-plugins/pulumi-command.tar.xz" ]; then
      echo "$dir/shared/reference/pulumi-plugins"
      return
    fi
  done
}
sources=$(plugin_sources)
need_archive() {
  [ -n "$sources" ] && [ -f "$sources/$1" ] && return 0
  die "$1 not found (looked in ${sources:-PULUMI_PLUGIN_SOURCES and shared/reference/pulumi-plugins in every parent dir})." \
    "Set PULUMI_PLUGIN_SOURCES to the directory holding pulumi-language-nodejs.tar.xz, pulumi-docker.tar.xz and" \
    "pulumi-command.tar.xz, or install pulumi officially (https://www.pulumi.com/docs/install/): it bundles the" \
    "language host and downloads the plugins itself"
}
work_dir="$engine_dir/src.tmp"
rm -rf "$work_dir"
trap 'rm -rf "$work_dir"' EXIT

# A consumer module ignores its dependencies' `replace` lines, so it can build main
# packages whose own go.mod has local replaces (which block `go install pkg@ver`).
new_wrapper_module() {
  local dir=$1
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init example.invalid/sparc-deploy-pulumi-engine >/dev/null 2>&1)
}

# Builds to a temp name and renames, so an interrupted build never looks current.
# -trimpath keeps source paths out of Go's build-cache keys: a rebuild from a fresh
# extraction of the same archive is served from the cache (only the link runs).
build_main() {   # dir out import_path flags...
  local dir=$1 out=$2 import_path=$3 step_start
  shift 3
  step_start=$(now)
  log "building $(basename "$out") from $import_path"
  (cd "$dir" && go build -trimpath "$@" -o "$out.partial" "$import_path")
  mv -f "$out.partial" "$out"
  log "built $(basename "$out") in $(since "$step_start")s"
}

require_resolved() {   # MVS must not move a module away from the pinned version.
  local dir=$1 module=$2 want=$3 got
  got=$(cd "$dir" && go list -m -f '{{.Version}}' "$module")
  [ "$got" = "$want" ] || die "$module resolved to $got in $dir, expected $want"
}

extract() {   # archive -> prints the dir it unpacked into (the archive's top dir is inside)
  need_archive "$1"
  command -v xz >/dev/null || die "xz is needed to unpack $1: apt-get install xz-utils"
  mkdir -p "$work_dir"
  tar -xJf "$sources/$1" -C "$work_dir"
  echo "$work_dir"
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
  build_main "$cli_wrapper" "$bin_dir/pulumi" "$pkg_module/cmd/pulumi" \
    -tags "$build_tags" -ldflags "-w -s -X ${version_symbol}=v${cli_version}"
  require_resolved "$cli_wrapper" "$pkg_module" "v${cli_version}"
  require_resolved "$cli_wrapper" "$sdk_module" "v${cli_version}"
fi

# ---- 3. language host (replaces the sdk-v3.68 one an older build.sh left) ------------------
found_langhost=$(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")
if [ "$found_langhost" = "v${langhost_sdk_version}" ]; then
  log "pulumi-language-nodejs v${langhost_sdk_version} already built"
else
  [ -z "$found_langhost" ] || log "replacing pulumi-language-nodejs built from sdk $found_langhost"
  rm -rf "$engine_dir/wrapper-langhost"   # the old build's module; unused now
  src=$(extract pulumi-language-nodejs.tar.xz)
  build_main "$src/pulumi-language-nodejs" "$bin_dir/pulumi-language-nodejs" . \
    -tags "$build_tags" -ldflags "-w -s -X ${version_symbol}=v${langhost_sdk_version}"
  found_langhost=$(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")
  [ "$found_langhost" = "v${langhost_sdk_version}" ] ||
    die "pulumi-language-nodejs.tar.xz built against sdk $found_langhost, expected v${langhost_sdk_version}"
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

# ---- 5. resource plugins, built and installed into the engine's PULUMI_HOME -----------------
mkdir -p "$plugin_bins"
install_plugin() {   # name version
  local name=$1 version=$2 binary="$plugin_bins/pulumi-resource-$1"
  PULUMI_HOME="$pulumi_home" "$bin_dir/pulumi" plugin rm resource "$name" --all --yes >/dev/null 2>&1 || true
  PULUMI_HOME="$pulumi_home" "$bin_dir/pulumi" plugin install resource "$name" "$version" --file "$binary" >&2
  plugin_current "$name" "$version" || die "plugin $name v$version not found in $pulumi_home/plugins after install"
  log "installed plugin $name v$version into $pulumi_home"
}
build_plugin() {   # name version archive subdir tags
  local name=$1 version=$2 archive=$3 sub=$4 tags=$5 module_version src
  if plugin_current "$name" "$version"; then
    log "plugin $name v$version already installed"
    return
  fi
  if [ "$(stamped_version_of "$plugin_bins/pulumi-resource-$name")" != "$version" ]; then
    src=$(extract "$archive")
    module_version=$(sed -n 's|^module \(.*\)$|\1|p' "$src/$sub/go.mod")
    if [ -f "$src/$sub/cmd/pulumi-resource-$name/schema-embed.json" ]; then
      # The docker archive's schema names the version it was cut at; refuse a mismatch with package.json.
      local schema_version
      schema_version=$(sed -n 's|^ *"version": *"\([^"]*\)".*|\1|p' "$src/$sub/cmd/pulumi-resource-$name/schema-embed.json" | head -n 1)
      [ -z "$schema_version" ] || [ "$schema_version" = "$version" ] ||
        die "$archive holds $name v$schema_version but package.json pins @pulumi/$name $version"
    fi
    rm -f "$plugin_bins/pulumi-resource-$name.version"
    build_main "$src/$sub" "$plugin_bins/pulumi-resource-$name" "./cmd/pulumi-resource-$name" \
      ${tags:+-tags "$tags"} -ldflags "-s -w -X ${module_version}/pkg/version.Version=$version"
    echo "$version" > "$plugin_bins/pulumi-resource-$name.version"
  fi
  install_plugin "$name" "$version"
}
build_plugin command "$command_version" pulumi-command.tar.xz pulumi-command/provider ""
# no_compose: the docker provider's compose support (not used) pulls in a second large dependency tree.
build_plugin docker "$docker_version" pulumi-docker.tar.xz pulumi-docker/provider no_compose

# ---- 6. check ----------------------------------------------------------------------------
binaries_current || die "built binaries do not report the pinned versions"
log "done: pulumi $("$bin_dir/pulumi" version), pulumi-language-nodejs from sdk $(langhost_sdk_of "$bin_dir/pulumi-language-nodejs")," \
  "plugins docker v${docker_version} and command v${command_version} in $pulumi_home"
echo "$bin_dir"
