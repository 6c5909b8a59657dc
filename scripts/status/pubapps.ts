// pubapps status and logs: one command on the instance over the stack's own connection
// (components/pubapps/plan.ts pubappsConnection: the same jump host, host keys, askpass and ControlPath as
// `up`, so a master of your own at pubappsControlPath means no login), plus the public URL asked from this machine.
import type { PubappsConfig } from "../../components/pubapps/config";
import { pubappsConnection } from "../../components/pubapps/plan";
import { runRemote } from "../../providers/remote";
import { describeProbe, probeHint, probePassed, probePublicUrl, type PublicProbe } from "../../components/pubapps/publicCheck";

const MARK = "@@sparc-status@@";

/** Where `df` looks: the archive directory (or its nearest existing parent) and Podman's own storage. */
export function pubappsStatusArgv(units: readonly string[], storageDir: string): string[] {
    const script = [
        "dir=$1; shift",
        `echo ${MARK}units`,
        'systemctl --user show --no-pager -p Id -p LoadState -p ActiveState -p SubState -- "$@" 2>&1',
        `echo ${MARK}podman`,
        "podman ps -a --format '{{.Names}}|{{.Status}}|{{.Image}}' 2>&1",
        `echo ${MARK}df`,
        'd=$dir; while [ ! -e "$d" ] && [ "$d" != / ]; do d=$(dirname -- "$d"); done',
        "root=$(podman info --format '{{.Store.GraphRoot}}' 2>/dev/null || true)",
        'df -hP -- "$d" ${root:+"$root"} 2>&1 | awk \'NR == 1 || !seen[$0]++\'',
    ].join("\n");
    return ["bash", "-c", script, "sparc-status", storageDir, ...units];
}

export interface UnitState {
    id: string;
    load: string;
    active: string;
    sub: string;
}

/** `systemctl show` blocks (Key=value lines, a blank line between units). */
export function parseUnits(text: string): UnitState[] {
    return text
        .split(/\n\s*\n/)
        .map((block) =>
            Object.fromEntries(block.split("\n").flatMap((l) => (l.includes("=") ? [[l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]] : []))),
        )
        .filter((f) => f.Id !== undefined)
        .map((f) => ({ id: f.Id ?? "", load: f.LoadState ?? "", active: f.ActiveState ?? "", sub: f.SubState ?? "" }));
}

export function sections(stdout: string): Record<string, string> {
    const out: Record<string, string> = {};
    let current = "";
    for (const line of stdout.split("\n")) {
        if (line.startsWith(MARK)) {
            current = line.slice(MARK.length);
            out[current] = "";
        } else if (current !== "") {
            out[current] += `${line}\n`;
        }
    }
    return out;
}

function indent(text: string): string {
    const t = text.replace(/\n+$/, "");
    return t === ""
        ? "  (none)"
        : t
              .split("\n")
              .map((l) => `  ${l}`)
              .join("\n");
}

export function formatPubappsStatus(stackName: string, unitNames: Record<string, string>, stdout: string, probe: PublicProbe | undefined): string {
    const s = sections(stdout);
    const states = parseUnits(s.units ?? "");
    const byId = new Map(states.map((u) => [u.id, u]));
    const unitLines = Object.entries(unitNames).map(([service, unit]) => {
        const u = byId.get(unit);
        const state = u === undefined ? "unknown" : u.load === "not-found" ? "not installed" : `${u.active} (${u.sub})`;
        return `  ${service.padEnd(10)} ${unit.padEnd(28)} ${state}`;
    });
    const containers = (s.podman ?? "")
        .replace(/\n+$/, "")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("|").join("  "));
    const publicLine =
        probe === undefined
            ? "public URL: not asked"
            : `public URL: ${probePassed(probe) ? "OK" : "NOT READY"}: ${describeProbe(probe)}${probePassed(probe) ? "" : `\n  likely: ${probeHint(probe)}`}`;
    return [
        `pubapps stack "${stackName}"`,
        "units:",
        ...unitLines,
        "containers (podman ps -a):",
        indent(containers.join("\n")),
        "disk:",
        indent(s.df ?? ""),
        publicLine,
    ].join("\n");
}

/**
 * Runs one remote argv over the stack's connection (providers/remote: one login per host, closed by the
 * caller's closeAllConnections). A login that fails is exit 255 with the provider's message (key, value, fix).
 */
export async function runOnInstance(
    cfg: PubappsConfig,
    mfaAnswers: readonly string[] | undefined,
    argv: readonly string[],
    timeoutSeconds = 120,
): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const r = await runRemote(pubappsConnection(cfg, mfaAnswers), argv, { timeoutSeconds });
        return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
        return { code: 255, stdout: "", stderr: (err as Error).message };
    }
}

export async function pubappsStatus(
    cfg: PubappsConfig,
    mfaAnswers: readonly string[] | undefined,
    stackName: string,
    outputs: { unitNames: Record<string, string>; publicUrl: string },
): Promise<{ text: string; ok: boolean }> {
    const [r, probe] = await Promise.all([
        runOnInstance(cfg, mfaAnswers, pubappsStatusArgv(Object.values(outputs.unitNames), cfg.archiveDir)),
        probePublicUrl(outputs.publicUrl, 10_000),
    ]);
    if (r.code !== 0 && !r.stdout.includes(`${MARK}units`)) {
        return { text: `cannot reach the instance ${cfg.user}@${cfg.host} (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`, ok: false };
    }
    return { text: formatPubappsStatus(stackName, outputs.unitNames, r.stdout, probe), ok: true };
}

/** Per unit: its journal, then the output of the container systemd runs for it (the label Podman sets for systemd units). */
export function pubappsLogsArgv(units: readonly string[], lines: number): string[] {
    const script = [
        "lines=$1; shift",
        'for u in "$@"; do',
        `  echo "==> $u: journal (journalctl --user -u $u, last $lines lines) <=="`,
        '  journalctl --user -u "$u" -n "$lines" --no-pager 2>&1',
        "  c=$(podman ps -a --filter \"label=PODMAN_SYSTEMD_UNIT=$u\" --format '{{.Names}}' 2>/dev/null | head -n 1)",
        '  if [ -n "$c" ]; then',
        `    echo "==> $u: container $c (podman logs, last $lines lines) <=="`,
        '    podman logs --tail "$lines" -- "$c" 2>&1',
        "  fi",
        "done",
    ].join("\n");
    return ["bash", "-c", script, "sparc-logs", String(lines), ...units];
}

/** The units to show for a service argument ("" = all); an unknown service names the known ones. */
export function unitsFor(service: string, unitNames: Record<string, string>): string[] {
    if (service === "") {
        return Object.values(unitNames);
    }
    const unit = unitNames[service] ?? Object.values(unitNames).find((u) => u === service || u === `${service}.service`);
    if (unit === undefined) {
        throw new Error(`no service "${service}" in this stack: one of ${Object.keys(unitNames).join(", ")} (or a unit name)`);
    }
    return [unit];
}
