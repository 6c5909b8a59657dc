#!/bin/sh
# slurm-provider askpass: answers the second factor only.
line=$(printf '%s\n' "$1" | awk 'NF { l = $0 } END { print l }')
if printf '%s' "$line" | grep -Eiq 'pass(word|phrase)'; then
  if printf '%s' "$line" | grep -Eiq 'passphrase for' && [ -n "${SLURM_PROVIDER_ASKPASS_PASSPHRASE:-}" ]; then
    printf '%s\n' "$SLURM_PROVIDER_ASKPASS_PASSPHRASE"; exit 0
  fi
  # Stop ssh itself: exiting 1 alone makes it send an empty answer (a failed password try at the server).
  printf 'slurm-provider-refused-prompt: %s\n' "$line" >&2
  # The caller's fix for this hop (which config key, its value, what to set), when it gave one, as given.
  if [ -n "${SLURM_PROVIDER_ASKPASS_PASSWORD_HINT:-}" ] && ! printf '%s' "$line" | grep -Eiq 'passphrase'; then
    printf '%s\n' "$SLURM_PROVIDER_ASKPASS_PASSWORD_HINT" >&2
  fi
  kill -TERM "$PPID" 2>/dev/null; exit 1
fi
if [ -n "${SLURM_PROVIDER_ASKPASS_ANSWER:-}" ] && printf '%s' "$line" | grep -Eiq -- "$SLURM_PROVIDER_ASKPASS_PATTERN"; then
  echo 'slurm-provider-answered-second-factor' >&2
  printf '%s\n' "$SLURM_PROVIDER_ASKPASS_ANSWER"; exit 0
fi
printf 'slurm-provider-refused-prompt: %s\n' "$line" >&2; kill -TERM "$PPID" 2>/dev/null; exit 1
