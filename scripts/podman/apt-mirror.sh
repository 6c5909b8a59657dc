# shellcheck shell=bash
# debian_mirror CODENAME [APT_DIR]: prints the URI of the Debian archive that apt itself uses for
# CODENAME, read from apt's sources under APT_DIR (default /etc/apt) in the order apt reads them:
# sources.list, then sources.list.d/*.list (one-line format) and *.sources (deb822) by name.
# The first "deb" entry whose suite is CODENAME and whose components include main wins (so
# bookworm-updates, bookworm-security and third-party repositories such as Docker's "bookworm
# stable" do not); disabled stanzas (Enabled: no), deb-src and URIs debootstrap cannot fetch from
# (other than http, https, file) are skipped. Prints nothing and returns 1 when none matches.
# Sourced by base-images.sh (with scripts/lib/common.sh); test/unit/scripts/podman/apt-mirror.test.ts runs it
# against temp sources.
# apt_source_files [APT_DIR]: the source files apt reads, in its order, one a line.
apt_source_files() {
  local apt_dir=${1:-/etc/apt} f
  [ -f "$apt_dir/sources.list" ] && echo "$apt_dir/sources.list"
  # sources.list.d in name order, whatever the format.
  for f in "$apt_dir"/sources.list.d/*; do
    case "$f" in *.list | *.sources) [ -f "$f" ] && echo "$f" ;; esac
  done
  return 0
}

debian_mirror() {
  local codename=$1 apt_dir=${2:-/etc/apt} files
  mapfile -t files < <(apt_source_files "$apt_dir")
  [ ${#files[@]} -gt 0 ] || return 1
  local uri
  uri=$(awk -v want="$codename" '
    function usable(uri) { return uri ~ /^(https?|file):/ }
    function has(list, word,   n, i, a) { n = split(list, a, /[[:space:]]+/); for (i = 1; i <= n; i++) if (a[i] == word) return 1; return 0 }
    function stanza(   n, i, u) {   # deb822: one stanza read into f[]
      if (found || !has(f["types"], "deb") || tolower(f["enabled"]) ~ /^(no|false|0)$/) return
      if (!has(f["suites"], want) || !has(f["components"], "main")) return
      n = split(f["uris"], u, /[[:space:]]+/)
      for (i = 1; i <= n; i++) if (usable(u[i])) { print u[i]; found = 1; return }
    }
    FNR == 1 { if (deb822) stanza(); split("", f); key = ""; deb822 = FILENAME ~ /\.sources$/ }
    found { exit }
    deb822 && /^[[:space:]]*#/ { next }
    deb822 && /^[[:space:]]*$/ { stanza(); split("", f); key = ""; next }
    deb822 && /^[[:space:]]/ { if (key != "") f[key] = f[key] " " $0; next }   # continuation line
    deb822 {
      key = tolower(substr($0, 1, index($0, ":") - 1)); value = substr($0, index($0, ":") + 1)
      gsub(/^[[:space:]]+|[[:space:]]+$/, "", value); f[key] = value; next
    }
    {                                                                          # one-line format
      sub(/#.*/, "")
      if ($1 != "deb") next
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }               # [arch=... signed-by=...]
      main = 0; for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
      if ($(i + 1) == want && main && usable($i)) { print $i; found = 1; exit }
    }
    END { if (!found && deb822) stanza() }
  ' "${files[@]}")
  [ -n "$uri" ] || return 1
  echo "$uri"
}

# mirror_for_debootstrap CODENAME [APT_DIR]: $SPARC_MIRROR when set, else debian_mirror; none is
# an error that names the files read and the fix.
mirror_for_debootstrap() {
  local codename=$1 apt_dir=${2:-/etc/apt} looked
  if [ -n "${SPARC_MIRROR:-}" ]; then
    echo "$SPARC_MIRROR"
    return
  fi
  debian_mirror "$codename" "$apt_dir" && return
  looked=$(apt_source_files "$apt_dir" | paste -sd, - | sed 's/,/, /g')
  die "no Debian mirror for $codename in apt's sources: none has a \"deb\" entry with suite $codename and" \
    "component main (read: ${looked:-no $apt_dir/sources.list, no $apt_dir/sources.list.d/*.list or *.sources})." \
    "Fix: set SPARC_MIRROR to a Debian mirror, e.g. SPARC_MIRROR=http://deb.debian.org/debian bash scripts/podman/setup.sh," \
    "or add the Debian archive for $codename to apt's sources."
}
