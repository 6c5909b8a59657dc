#!/bin/sh
# SSH_ASKPASS helper: answers ssh's keyboard-interactive prompt (Duo: "push" or "1") from the
# environment, so that the answer never appears on a command line.
printf '%s\n' "$SPARC_ASKPASS_ANSWER"
