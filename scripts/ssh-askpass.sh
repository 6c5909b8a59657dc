#!/bin/sh
# sparc-deploy askpass: answers the second factor only.
line=$(printf '%s\n' "$1" | awk 'NF { l = $0 } END { print l }')
if printf '%s' "$line" | grep -Eiq 'pass(word|phrase)'; then
  if printf '%s' "$line" | grep -Eiq 'passphrase for' && [ -n "${SPARC_SSH_KEY_PASSPHRASE:-}" ]; then
    printf '%s\n' "$SPARC_SSH_KEY_PASSPHRASE"; exit 0
  fi
  # Stop ssh itself: exiting 1 alone makes it send an empty answer (a failed password try at the server).
  printf 'sparc-deploy-refused-prompt: %s\n' "$line" >&2
  # The caller's fix for this hop (which config key, its value, what to set), when it gave one.
  if [ -n "${SPARC_SSH_PASSWORD_HINT:-}" ] && ! printf '%s' "$line" | grep -Eiq 'passphrase'; then
    printf 'sparc-deploy: %s\n' "$SPARC_SSH_PASSWORD_HINT" >&2
  fi
  kill -TERM "$PPID" 2>/dev/null; exit 1
fi
if [ -n "${SPARC_SSH_MFA_ANSWER:-}" ] && printf '%s' "$line" | grep -Eiq -- "$SPARC_SSH_MFA_PATTERN"; then
  echo 'sparc-deploy-answered-second-factor' >&2
  printf '%s\n' "$SPARC_SSH_MFA_ANSWER"; exit 0
fi
printf 'sparc-deploy-refused-prompt: %s\n' "$line" >&2; kill -TERM "$PPID" 2>/dev/null; exit 1
