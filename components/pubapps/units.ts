// Pure renderers of the avatar pod's systemd user units, in the two forms PubApps may need:
// Quadlet files (.pod + .container, Podman >= 5) and, for older Podman, unit files equivalent to
// `podman generate systemd --new` (measured against Podman 4.3.1's own output; see unitsFor docs).
// Both use the same unit names, so outputs, restarts and removal do not depend on the form.
import { secretOption, type ContainerSpec } from "../pod";

export type UnitFormat = "quadlet" | "systemd";

export interface PodUnitSpec {
    podName: string;
    /** podman -p publications, e.g. "8080:8080", "127.0.0.1:8000:8000", "3478:3478/udp". */
    publish: string[];
    /** Seconds podman waits after SIGTERM. */
    stopTimeoutSeconds: number;
}

export interface UnitFile {
    /** Unit (service) name systemctl knows, e.g. "mas-server.service". */
    unit: string;
    /** File name to write, in `dir`. */
    file: string;
    /** Quadlet: ~/.config/containers/systemd; generated units: ~/.config/systemd/user. */
    dir: "quadlet" | "user";
    text: string;
}

export const PODMAN = "/usr/bin/podman";

/** Service name of the pod's unit (Quadlet names a `P.pod`'s service `P-pod.service`; we use the same). */
export function podUnitName(podName: string): string {
    return `${podName}-pod.service`;
}

export function containerUnitName(containerName: string): string {
    return `${containerName}.service`;
}

// After escaping, %% and $$ are literal: safe unquoted.
const SAFE_WORD = /^[A-Za-z0-9_@+=:,./%$-]+$/;

/**
 * One word of a systemd command line or Quadlet value: `%` and `$` escaped (systemd would expand them),
 * double-quoted when it holds anything but safe characters.
 */
export function systemdWord(word: string): string {
    if (/[\n\r\0]/.test(word)) {
        throw new TypeError(`systemdWord: a unit file word cannot hold a line break or NUL: ${JSON.stringify(word.slice(0, 80))}`);
    }
    const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
    return SAFE_WORD.test(escaped) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A command line: `raw` parts are ours (they may carry %t, %n), every other word is escaped. */
type Part = string | { raw: string };
function commandLine(parts: readonly Part[]): string {
    return parts.map((p) => (typeof p === "string" ? systemdWord(p) : p.raw)).join(" ");
}

function section(name: string, lines: readonly string[]): string {
    return [`[${name}]`, ...lines, ""].join("\n");
}

const HEADER = "# Written by sparc-deploy (pulumi); changes here are overwritten by the next `pulumi up`.\n";
const install = section("Install", ["WantedBy=default.target"]);

/** The frame every unit shares: our header, the given sections, then [Install]. */
function unitFile(unit: string, file: string, dir: UnitFile["dir"], sections: readonly string[]): UnitFile {
    return { unit, file, dir, text: HEADER + [...sections, install].join("\n") };
}

// The lines `podman generate systemd --new` (4.3.1) opens every [Unit] and [Service] with.
const GENERATED_UNIT_LINES = [
    "Documentation=man:podman-generate-systemd(1)",
    "Wants=network-online.target",
    "After=network-online.target",
    "RequiresMountsFor=%t/containers",
] as const;
const GENERATED_SERVICE_LINES = ["Environment=PODMAN_SYSTEMD_UNIT=%n", "Restart=on-failure", "TimeoutStopSec=70"] as const;

// ---------------------------------------------------------------- Quadlet (Podman >= 5)

export function quadletPod(spec: PodUnitSpec): UnitFile {
    return unitFile(podUnitName(spec.podName), `${spec.podName}.pod`, "quadlet", [
        section("Unit", [`Description=SPARC avatar pod ${spec.podName}`]),
        section("Pod", [`PodName=${spec.podName}`, ...spec.publish.map((p) => `PublishPort=${p}`)]),
    ]);
}

export function quadletContainer(c: ContainerSpec, pod: PodUnitSpec): UnitFile {
    const env = Object.entries(c.env).map(([k, v]) => `Environment=${systemdWord(`${k}=${v}`)}`);
    return unitFile(containerUnitName(c.name), `${c.name}.container`, "quadlet", [
        section("Unit", [`Description=SPARC ${c.name} in pod ${pod.podName}`]),
        section("Container", [
            `ContainerName=${c.name}`,
            `Image=${c.image}`,
            `Pod=${pod.podName}.pod`,
            ...env,
            ...(c.secrets ?? []).map((x) => `Secret=${systemdWord(secretOption(x))}`),
            ...(c.runOptions.length > 0 ? [`PodmanArgs=${c.runOptions.map(systemdWord).join(" ")}`] : []),
            ...(c.args.length > 0 ? [`Exec=${c.args.map(systemdWord).join(" ")}`] : []),
            `StopTimeout=${pod.stopTimeoutSeconds}`,
        ]),
        section("Service", ["Restart=on-failure", "TimeoutStartSec=300"]),
    ]);
}

// ------------------------------------------- as `podman generate systemd --new` (Podman < 5)

/**
 * The pod unit of `podman generate systemd --new --name POD` (Podman 4.3.1) with one measured
 * difference: no --exit-policy=stop. With it the pod, and its unit, stop whenever its containers are
 * stopped together (a restart of the last running one, or of all on an image change); the restart
 * then fails ("A dependency job for container-X.service failed", Podman 4.3.1, systemd 252).
 */
export function generatedPod(spec: PodUnitSpec, containerUnits: readonly string[]): UnitFile {
    const unit = podUnitName(spec.podName);
    const podIdFile = { raw: `%t/${spec.podName}-pod.pod-id` };
    const pidFile = `%t/${spec.podName}-pod.pid`;
    return unitFile(unit, unit, "user", [
        section("Unit", [
            `Description=SPARC avatar pod ${spec.podName}`,
            ...GENERATED_UNIT_LINES,
            ...(containerUnits.length > 0 ? [`Wants=${containerUnits.join(" ")}`, `Before=${containerUnits.join(" ")}`] : []),
        ]),
        section("Service", [
            ...GENERATED_SERVICE_LINES,
            `ExecStartPre=/bin/rm -f ${pidFile} ${podIdFile.raw}`,
            `ExecStartPre=${commandLine([
                PODMAN,
                "pod",
                "create",
                "--infra-conmon-pidfile",
                { raw: pidFile },
                "--pod-id-file",
                podIdFile,
                "--name",
                spec.podName,
                ...spec.publish.flatMap((p) => ["-p", p]),
                "--replace",
            ])}`,
            `ExecStart=${commandLine([PODMAN, "pod", "start", "--pod-id-file", podIdFile])}`,
            `ExecStop=${commandLine([PODMAN, "pod", "stop", "--ignore", "--pod-id-file", podIdFile, "-t", String(spec.stopTimeoutSeconds)])}`,
            `ExecStopPost=${commandLine([PODMAN, "pod", "rm", "--ignore", "-f", "--pod-id-file", podIdFile])}`,
            `PIDFile=${pidFile}`,
            "Type=forking",
        ]),
    ]);
}

/** The container unit of `podman generate systemd --new` (Podman 4.3.1), line for line. */
export function generatedContainer(c: ContainerSpec, pod: PodUnitSpec): UnitFile {
    const unit = containerUnitName(c.name);
    const cidFile = { raw: "%t/%n.ctr-id" };
    const stop = String(pod.stopTimeoutSeconds);
    const env = Object.entries(c.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    return unitFile(unit, unit, "user", [
        section("Unit", [
            `Description=SPARC ${c.name} in pod ${pod.podName}`,
            ...GENERATED_UNIT_LINES,
            `BindsTo=${podUnitName(pod.podName)}`,
            `After=${podUnitName(pod.podName)}`,
        ]),
        section("Service", [
            ...GENERATED_SERVICE_LINES,
            `ExecStartPre=/bin/rm -f ${cidFile.raw}`,
            `ExecStart=${commandLine([
                PODMAN,
                "run",
                { raw: `--cidfile=${cidFile.raw}` },
                "--cgroups=no-conmon",
                "--rm",
                "--pod-id-file",
                { raw: `%t/${pod.podName}-pod.pod-id` },
                "--sdnotify=conmon",
                "-d",
                "--replace",
                "--name",
                c.name,
                ...env,
                ...(c.secrets ?? []).flatMap((x) => ["--secret", secretOption(x)]),
                ...c.runOptions,
                c.image,
                ...c.args,
            ])}`,
            `ExecStop=${commandLine([PODMAN, "stop", "--ignore", "-t", stop, { raw: `--cidfile=${cidFile.raw}` }])}`,
            `ExecStopPost=${commandLine([PODMAN, "rm", "-f", "--ignore", "-t", stop, { raw: `--cidfile=${cidFile.raw}` }])}`,
            "Type=notify",
            "NotifyAccess=all",
        ]),
    ]);
}

/** Both renderings of the pod and its containers; the instance's Podman version picks one at up time. */
export interface PodUnits {
    pod: Record<UnitFormat, UnitFile>;
    containers: { service: ContainerSpec["service"]; name: string; files: Record<UnitFormat, UnitFile> }[];
}

export function podUnits(pod: PodUnitSpec, containers: readonly ContainerSpec[]): PodUnits {
    const names = containers.map((c) => containerUnitName(c.name));
    return {
        pod: { quadlet: quadletPod(pod), systemd: generatedPod(pod, names) },
        containers: containers.map((c) => ({
            service: c.service,
            name: c.name,
            files: { quadlet: quadletContainer(c, pod), systemd: generatedContainer(c, pod) },
        })),
    };
}
