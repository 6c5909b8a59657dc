#!/usr/bin/env bash
# Migrates a pubapps stack deployed before its remote steps became RemoteCommands (issue 22): removes the
# old remote steps (the command:local:Command children of sparc:pubapps:PubappsStack named as main named its
# remote steps; the local "-archive" and "-turn-secret-value" steps stay) from the stack's STATE only. Nothing runs on the instance: their delete commands
# (stop units, remove images and secrets) must never run, or the next `up` would take the service down.
# The next `pulumi up` then adopts what is on the instance: an unchanged running unit is not restarted,
# a loaded image is not sent again, the podman secrets are kept. A backup of the state is written first.
#   npm run migrate:pubapps -- --stack <stack> [--dry-run] [--backup <file>]
set -euo pipefail

stack=""
dry_run=0
backup=""
while [ $# -gt 0 ]; do
    case "$1" in
        --stack) stack=${2:-}; shift 2 ;;
        --stack=*) stack=${1#--stack=}; shift ;;
        --dry-run) dry_run=1; shift ;;
        --backup) backup=${2:-}; shift 2 ;;
        *) echo "migrate-pubapps: unknown argument $1 (usage: --stack <stack> [--dry-run] [--backup <file>])" >&2; exit 2 ;;
    esac
done
if [ -z "$stack" ]; then
    echo "migrate-pubapps: --stack <stack> is required (the pubapps stack to migrate, e.g. --stack pubapps)" >&2
    exit 2
fi

[ -n "$backup" ] || backup="pulumi-state-backup-${stack//\//_}-$(date -u +%Y%m%dT%H%M%SZ).json"
pulumi stack export --stack "$stack" --file "$backup"
# The old remote steps, dependents first (the state lists a resource after what it depends on).
# shellcheck disable=SC2016 # a node script: its $ are JavaScript's
mapfile -t urns < <(node -e '
const state = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
// Exactly the names main gave its remote steps; the local steps (-archive, -turn-secret-value: the generated
// TURN secret, which must stay the one the instance has) are kept.
const remoteStep = /(::|\$)sparc:pubapps:PubappsStack\$command:local:Command::[^:]+-(host|pod|ready|turn-secret|ice-servers|[a-z]+-image|[a-z]+-unit)$/;
const old = (state.deployment.resources ?? []).filter((r) => r.type === "command:local:Command" && remoteStep.test(r.urn));
for (const r of old.reverse()) console.log(r.urn);
' "$backup")
if [ ${#urns[@]} -eq 0 ]; then
    echo "migrate-pubapps: stack $stack has no pubapps remote steps of the old kind: nothing to do (state backup: $backup)"
    exit 0
fi
echo "migrate-pubapps: removing from the state of stack $stack (nothing runs on the instance; backup: $backup):"
printf '  %s\n' "${urns[@]}"
if [ "$dry_run" = 1 ]; then
    echo "migrate-pubapps: --dry-run: nothing removed"
    exit 0
fi
for urn in "${urns[@]}"; do
    pulumi state delete --stack "$stack" --yes "$urn" >/dev/null
done
echo "migrate-pubapps: done. Next: pulumi up --stack $stack (adopts the running pod; restore with pulumi stack import --stack $stack --file $backup)"
