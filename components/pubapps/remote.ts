// Pure builders of what runs on the PubApps instance (bash scripts as the service account);
// components/archive.ts saves the image archive on this machine. Every value reaches a shell through the one quoting helper.
import * as path from "node:path";
import { shJoin, shQuote } from "../../providers";
import type { UnitFile, UnitFormat } from "./units";

export type UnitFormatChoice = UnitFormat | "auto";

/** Where the stack records that it (not the site) turned linger on, so destroy can leave linger as found. */
export const LINGER_MARKER = "$HOME/.local/share/sparc-deploy/linger-enabled-by-sparc-deploy";
const UNIT_DIRS: Record<UnitFile["dir"], string> = {
    quadlet: "$HOME/.config/containers/systemd",
    user: "$HOME/.config/systemd/user",
};

export interface HostFacts {
    podmanVersion: string;
    format: UnitFormat;
    /** "already": linger was on before the stack came; "enabled": the stack turned it on. */
    linger: "already" | "enabled";
}

/** Podman version, unit format, linger (checked, enabled when off) and the archive directory. */
export function prepareHostScript(opts: { unitFormat: UnitFormatChoice; archiveDir: string }): string[] {
    return [
        "bash",
        "-c",
        [
            "set -euo pipefail",
            "v=$(podman version --format '{{.Client.Version}}' 2>/dev/null || podman --version | awk '{print $3}')",
            "major=${v%%.*}",
            `want=${shQuote(opts.unitFormat)}`,
            'if [ "$want" = auto ]; then if [ "$major" -ge 5 ]; then fmt=quadlet; else fmt=systemd; fi; else fmt=$want; fi',
            'if [ "$fmt" = quadlet ] && [ "$major" -lt 5 ]; then',
            '  echo "pubappsUnitFormat = quadlet, but this instance has Podman $v and a Quadlet .pod needs Podman 5. Fix: pulumi config set pubappsUnitFormat auto" >&2; exit 1',
            "fi",
            `marker="${LINGER_MARKER}"`,
            // Linger keeps the user's systemd (and so the pod) running without a login, and starts it at boot.
            'if [ -e "/var/lib/systemd/linger/$(id -un)" ]; then',
            '  if [ -e "$marker" ]; then linger=enabled; else linger=already; fi',
            "else",
            '  loginctl enable-linger "$(id -un)" || { echo "linger is off for $(id -un) and loginctl enable-linger was refused: ask UF RC to run loginctl enable-linger $(id -un)" >&2; exit 1; }',
            '  mkdir -p "$(dirname "$marker")" && touch "$marker" && linger=enabled',
            "fi",
            `mkdir -p ${shQuote(opts.archiveDir)} "${UNIT_DIRS.quadlet}" "${UNIT_DIRS.user}"`,
            'echo "podman=$v"; echo "format=$fmt"; echo "linger=$linger"',
        ].join("\n"),
    ];
}

export function parseHostFacts(stdout: string): HostFacts {
    const facts = Object.fromEntries(
        stdout
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l.includes("="))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const format = facts.format;
    const linger = facts.linger;
    if ((format !== "quadlet" && format !== "systemd") || (linger !== "already" && linger !== "enabled") || facts.podman === undefined) {
        throw new Error(`unexpected answer from the instance's preparation step: ${JSON.stringify(stdout.slice(0, 300))}`);
    }
    return { podmanVersion: facts.podman, format, linger };
}

/** Turns linger off only if this stack turned it on; removes the archive directory if empty. */
export function cleanupHostScript(archiveDir: string): string[] {
    return [
        "bash",
        "-c",
        [
            `marker="${LINGER_MARKER}"`,
            'if [ -e "$marker" ]; then loginctl disable-linger "$(id -un)" && rm -f "$marker"; fi',
            `rmdir ${shQuote(archiveDir)} 2>/dev/null || true`,
        ].join("\n"),
    ];
}

/** What one image becomes on its way to the instance, named by its image id. */
export interface ImagePlan {
    service: string;
    /** Reference the local engine saves (the image id itself, so the archive carries exactly that image). */
    imageId: string;
    localTar: string;
    remoteTar: string;
    /** The tag the unit runs, unique per image id: a changed image is a changed unit. */
    unitImage: string;
}

/** "sha256:<64 hex>" or "<64 hex>" -> 64 hex. */
export function bareImageId(id: string): string {
    const hex = id.replace(/^sha256:/, "");
    if (!/^[0-9a-f]{64}$/.test(hex)) {
        throw new Error(`not an image id: ${JSON.stringify(id)}`);
    }
    return hex;
}

export function imagePlan(service: string, imageId: string, localDir: string, remoteDir: string): ImagePlan {
    const hex = bareImageId(imageId);
    const base = `${service}-${hex.slice(0, 16)}`;
    return {
        service,
        imageId: hex,
        localTar: `${localDir}/${base}.tar`,
        remoteTar: `${remoteDir}/${base}.tar`,
        unitImage: `localhost/sparc-${service}:${hex.slice(0, 16)}`,
    };
}

/**
 * The copy's `unless`: the image is loaded already, or the archive is there with this checksum (then
 * nothing is sent, and the line says so).
 */
export function hasImageScript(p: ImagePlan, sha256: string): string[] {
    return [
        "bash",
        "-c",
        `{ podman image exists ${shQuote(p.imageId)} || echo ${shQuote(`${sha256}  ${p.remoteTar}`)} | sha256sum -c --status - 2>/dev/null; } && ` +
            `echo ${shQuote(`sent 0 bytes: ${p.service} image ${p.imageId.slice(0, 16)} is already on the instance`)}`,
    ];
}

/** The copy: the archive arrives on stdin (stdinFile, over the shared login) as .part, is checked, then renamed. */
export function copyImageScript(p: ImagePlan, sha256: string): string[] {
    const part = `${p.remoteTar}.part`;
    return [
        "bash",
        "-c",
        [
            "set -e",
            shJoin(["mkdir", "-p", path.posix.dirname(p.remoteTar)]),
            `cat > ${shQuote(part)}`,
            `echo ${shQuote(`${sha256}  ${part}`)} | sha256sum -c --status - || { echo ${shQuote(`checksum mismatch after copying to ${part}`)} >&2; exit 1; }`,
            shJoin(["mv", "-f", part, p.remoteTar]),
            `echo "sent $(stat -c %s ${shQuote(p.remoteTar)}) bytes to "${shQuote(p.remoteTar)}`,
        ].join("\n"),
    ];
}

/**
 * `podman load` (unless loaded) and the unit's tag; prints the image id the instance has. Once the loaded
 * image is verified to be this id, the archive is removed (UF's /podman may be 40 GB, shared with the loaded
 * images) unless `keepArchive` (pubappsKeepArchives); a failed or wrong load keeps it.
 */
export function loadImageScript(p: ImagePlan, opts: { keepArchive?: boolean } = {}): string[] {
    return [
        "bash",
        "-c",
        [
            "set -euo pipefail",
            `podman image exists ${shQuote(p.imageId)} || podman load -q -i ${shQuote(p.remoteTar)} >&2`,
            shJoin(["podman", "tag", p.imageId, p.unitImage]),
            `got=$(${shJoin(["podman", "image", "inspect", "--format", "{{.Id}}", p.unitImage])})`,
            `if [ "\${got#sha256:}" != ${shQuote(p.imageId)} ]; then echo ${shQuote(`${p.unitImage} is image `)}"$got"${shQuote(`, not ${p.imageId}: the archive is kept`)} >&2; exit 1; fi`,
            ...(opts.keepArchive === true
                ? []
                : [
                      `if [ -e ${shQuote(p.remoteTar)} ]; then rm -f ${shQuote(p.remoteTar)} && echo ${shQuote(`removed ${p.remoteTar} (image loaded and verified)`)} >&2; fi`,
                  ]),
            'echo "$got"',
        ].join("\n"),
    ];
}

export function removeImageScript(p: ImagePlan): string[] {
    return [
        "bash",
        "-c",
        [
            // -f: every tag of this id (the unit's and any the archive carried); the units are gone by now.
            `podman rmi -f --ignore ${shQuote(p.imageId)} >/dev/null`,
            shJoin(["rm", "-f", p.remoteTar, `${p.remoteTar}.part`]),
        ].join("\n"),
    ];
}

function unitPath(f: UnitFile): string {
    return `"${UNIT_DIRS[f.dir]}"/${shQuote(f.file)}`;
}

/**
 * Writes a unit, reloads systemd (Quadlet's generator runs then), enables it at boot (generated
 * units; Quadlet's [Install] does that itself) and (re)starts it: a changed image restarts only this unit.
 * For the pod, `thenStart` names container units to start again once the pod is back.
 * A unit whose file already has this text and that is active is left running (adopting what a previous
 * state made, e.g. after the pubapps migration): a change always comes through delete (deleteBeforeReplace),
 * which removes the file first.
 */
export function installUnitScript(f: UnitFile, opts: { thenStart?: readonly string[] } = {}): string[] {
    const target = unitPath(f);
    return [
        "bash",
        "-c",
        [
            "set -euo pipefail",
            `if [ -f ${target} ] && printf '%s' ${shQuote(f.text)} | cmp -s - ${target} && systemctl --user is-active --quiet ${shQuote(f.unit)}; then`,
            `  echo ${shQuote(`${f.unit} already runs from ${f.file} (unchanged)`)}; exit 0`,
            "fi",
            `mkdir -p "${UNIT_DIRS[f.dir]}"`,
            `printf '%s' ${shQuote(f.text)} > ${target}.part && mv -f ${target}.part ${target}`,
            "systemctl --user daemon-reload",
            ...(f.dir === "user" ? [shJoin(["systemctl", "--user", "enable", f.unit])] : []),
            shJoin(["systemctl", "--user", "restart", f.unit]),
            ...(opts.thenStart ?? []).map(
                (u) => `if systemctl --user cat ${shQuote(u)} >/dev/null 2>&1; then ${shJoin(["systemctl", "--user", "start", u])}; fi`,
            ),
            `echo ${shQuote(`${f.unit} started from ${f.file}`)}`,
        ].join("\n"),
    ];
}

/** Stops and removes a unit and what it ran (container or pod); repeatable. */
export function removeUnitScript(f: UnitFile, podmanObject: { kind: "container" | "pod"; name: string }): string[] {
    return [
        "bash",
        "-c",
        [
            `systemctl --user stop ${shQuote(f.unit)} 2>/dev/null || true`,
            ...(f.dir === "user" ? [`systemctl --user disable ${shQuote(f.unit)} 2>/dev/null || true`] : []),
            `rm -f "${UNIT_DIRS[f.dir]}"/${shQuote(f.file)}`,
            "systemctl --user daemon-reload",
            `systemctl --user reset-failed ${shQuote(f.unit)} 2>/dev/null || true`,
            podmanObject.kind === "pod"
                ? shJoin(["podman", "pod", "rm", "-f", "--ignore", podmanObject.name])
                : shJoin(["podman", "rm", "-f", "--ignore", podmanObject.name]),
        ].join("\n"),
    ];
}

/**
 * Readiness from the instance: the signaling server through the port UF's reverse proxy forwards to
 * (any HTTP answer), MAS /health, and every unit active on two polls in a row (a container that exits
 * at start, such as a player given a GPU the instance lacks, is "activating" between restarts and must
 * not pass on one lucky look); bounded. On failure, each unit's state and last journal lines.
 */
export function podReadinessScript(opts: { proxyPort: number; masPort: number; timeoutSeconds: number; units: readonly string[] }): string[] {
    const signaling = `http://127.0.0.1:${opts.proxyPort}/`;
    const mas = `http://127.0.0.1:${opts.masPort}/health`;
    return [
        "bash",
        "-c",
        [
            `deadline=$(( $(date +%s) + ${opts.timeoutSeconds} )); start=$(date +%s)`,
            "steady=0",
            "while :; do",
            `  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 3 ${shQuote(signaling)} 2>/dev/null || true)`,
            `  if [ "\${code:-000}" != 000 ] && curl -fsS --max-time 3 ${shQuote(mas)} >/dev/null 2>&1 && systemctl --user is-active --quiet ${opts.units.map(shQuote).join(" ")}; then`,
            "    steady=$((steady + 1))",
            `    [ "$steady" -lt 2 ] || { echo "ready after $(( $(date +%s) - start )) s: signaling ${signaling} (the reverse proxy's port) answered HTTP $code, MAS ${mas} answered, ${opts.units.length} units active"; exit 0; }`,
            "  else",
            "    steady=0",
            "  fi",
            '  [ "$(date +%s)" -lt "$deadline" ] || break',
            "  sleep 2",
            "done",
            `echo ${shQuote(`not ready within ${opts.timeoutSeconds} s (signaling ${signaling}, MAS ${mas}, every unit active); units:`)} >&2`,
            ...opts.units.map((u) => `systemctl --user --no-pager --lines=15 status ${shQuote(u)} >&2 || true`),
            "exit 1",
        ].join("\n"),
    ];
}
