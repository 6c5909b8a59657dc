# shellcheck shell=bash
# The one log/die of the project's bash scripts. Source it near the top:
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"      (path relative to the script)
# then set log_tag if the script's file name is not the tag wanted.
#   log MSG...    "[tag HH:MM:SS +S.Ss] MSG" on stderr: wall clock, and seconds since sourcing.
#                 Always stderr, so a script's stdout stays its result (build.sh prints the bin dir,
#                 test/pubapps/setup.sh the host key).
#   die MSG...    log "ERROR: MSG", exit 1
#   now           the time, for since (seconds.microseconds)
#   since T       seconds from T (a value of now) until now, one decimal
# Pure bash (no date/awk per line); EPOCHREALTIME needs bash >= 5 (Debian 12 has 5.2).

log_tag=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
# Microseconds; the separator in EPOCHREALTIME follows the locale's decimal point.
_log_started_us=${EPOCHREALTIME/[.,]/}

log() {
  local us=$((${EPOCHREALTIME/[.,]/} - _log_started_us))
  printf '[%s %(%H:%M:%S)T +%d.%ds] %s\n' "$log_tag" -1 $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2
}
die() {
  log "ERROR: $*"
  exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() {
  local from=${1/./} us
  us=$((${EPOCHREALTIME/[.,]/} - 10#$from))
  printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}
