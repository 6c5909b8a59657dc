// Pure builders for the hpg pipeline's commands (components/archive.ts saves the docker-archive on
// this machine): copy to cluster storage with a checksum check, `apptainer build` on the cluster,
// the service job's body and the readiness probe. Every command is an argv array
// rendered through the one quoting helper. Remote steps are argv for RemoteCommand,
// which runs them through the stack's one SSH login (no ssh/scp of their own).
import { shJoin, shQuote } from "../../providers";

export { knownHostsLine, openSshOptions, muxArgv, sshArgv, type OpenSshTarget } from "../../providers";

/** Commands (argv arrays) joined with &&: each quoted by the one helper. */
export function andThen(lines: readonly (readonly string[])[]): string {
    return lines.map((argv) => shJoin(argv)).join(" && ");
}

/** A remote shell script (lines joined with &&) run by bash on the login node. */
export function remoteScript(lines: readonly (readonly string[])[]): string[] {
    return ["bash", "-c", andThen(lines)];
}

/** What one image becomes on its way to a .sif, all named by the image's identity so an unchanged image is never sent twice. */
export interface SifPlan {
    service: string;
    /** Image reference to save (local engine). */
    imageRef: string;
    /** 16 hex characters derived from the image id (built) or reference (prebuilt). */
    identity: string;
    localTar: string;
    remoteDir: string;
    remoteTar: string;
    remoteSif: string;
}

export function sifPlan(service: string, imageRef: string, identity: string, localDir: string, remoteDir: string): SifPlan {
    const base = `${service}-${identity}`;
    return {
        service,
        imageRef,
        identity,
        localTar: `${localDir}/${base}.tar`,
        remoteDir,
        remoteTar: `${remoteDir}/${base}.tar`,
        remoteSif: `${remoteDir}/${service}_server-${identity}.sif`,
    };
}

/** The copy of the archive as RemoteCommand steps: skipped when the cluster has it with this checksum; the archive arrives on stdin. */
export interface CopySteps {
    /** Exits 0 (saying "sent 0 bytes") when the archive is already there with this checksum. */
    unless: string[];
    /** Receives the archive on stdin into a .part file, verifies the checksum there, then renames it and says how many bytes came. */
    create: string[];
}

export function copyArchiveSteps(p: SifPlan, sha256: string): CopySteps {
    const part = `${p.remoteTar}.part`;
    return {
        unless: [
            "bash",
            "-c",
            `cd ${shQuote(p.remoteDir)} 2>/dev/null && echo ${shQuote(`${sha256}  ${p.remoteTar}`)} | sha256sum -c --status - && ` +
                `echo ${shQuote(`sent 0 bytes: ${p.remoteTar} is already on the cluster`)}`,
        ],
        create: [
            "bash",
            "-c",
            [
                "set -e",
                shJoin(["mkdir", "-p", p.remoteDir]),
                `cat > ${shQuote(part)}`,
                `echo ${shQuote(`${sha256}  ${part}`)} | sha256sum -c --status - || { echo ${shQuote(`checksum mismatch after copying to ${part}`)} >&2; exit 1; }`,
                shJoin(["mv", "-f", part, p.remoteTar]),
                // The path is a config value (hpgContainerDir): one quoted word, never inside the double quotes.
                `echo "sent $(stat -c %s ${shQuote(p.remoteTar)}) bytes to "${shQuote(p.remoteTar)}`,
            ].join("\n"),
        ],
    };
}

export function removeRemoteArgv(paths: readonly string[]): string[] {
    return ["rm", "-f", ...paths];
}

/** The module lines HiPerGator jobs start with (Lmod). */
export function moduleLines(modules: readonly string[]): string[][] {
    return modules.length === 0
        ? []
        : [
              ["module", "purge"],
              ["module", "load", ...modules],
          ];
}

/**
 * Shell lines that bring Lmod in and load the modules, the same for the service job, the .sif build
 * job and the login-node build: batch and `ssh host cmd` shells are not login shells.
 */
export function lmodPreamble(modules: readonly string[]): string[] {
    return modules.length === 0
        ? []
        : [
              "if ! command -v module >/dev/null 2>&1 && [ -f /etc/profile.d/lmod.sh ]; then . /etc/profile.d/lmod.sh; fi",
              ...moduleLines(modules).map((argv) => shJoin(argv)),
          ];
}

/**
 * The `apptainer build` script from the copied docker-archive (HiPerGator has no Docker daemon:
 * docker-daemon:// cannot work). Run over SSH on the login node, or as a SlurmJob's body; as a job,
 * `eventPattern` (%j = its id) is the marker it writes when it ends, "done 0" or "failed <status>",
 * which the SlurmJob (eventFile) sees within a second instead of at its next scheduler query.
 */
export function sifBuildScript(p: SifPlan, modules: readonly string[], dirs?: ApptainerDirs, eventPattern?: string): string {
    const marker =
        eventPattern === undefined
            ? []
            : [
                  // Written last (trap EXIT, also on an error under set -e), renamed into place: whole or absent.
                  `sparc_event=${withJobId(eventPattern, "SLURM_JOB_ID")}`,
                  `trap 'rc=$?; if [ "$rc" -eq 0 ]; then r=done; else r=failed; fi; printf "%s %s\\n" "$r" "$rc" > "$sparc_event.part" && mv -f "$sparc_event.part" "$sparc_event"' EXIT`,
              ];
    return [
        "set -euo pipefail",
        ...marker,
        ...lmodPreamble(modules),
        ...(dirs !== undefined ? apptainerDirLines(dirs) : []),
        andThen([
            ["apptainer", "build", "--force", `${p.remoteSif}.part`, `docker-archive://${p.remoteTar}`],
            ["mv", "-f", `${p.remoteSif}.part`, p.remoteSif],
        ]),
    ].join("\n");
}

export function sifBuildArgv(p: SifPlan, modules: readonly string[], dirs?: ApptainerDirs): string[] {
    return ["bash", "-c", sifBuildScript(p, modules, dirs)];
}

/** Where Apptainer caches layers and assembles the image (hpgApptainerCacheDir, hpgApptainerTmpDir). */
export interface ApptainerDirs {
    cacheDir: string;
    /** "" = the job's local scratch ($TMPDIR inside a Slurm job; UF points it at the node's local disk), else tmpFallback. */
    tmpDir: string;
    tmpFallback: string;
}

/**
 * Apptainer defaults its cache to $HOME/.apptainer (UF's home quota is 40 GB, and a full home breaks
 * logins): the cache goes to /blue, the build's temp files to the job's local scratch.
 */
export function apptainerDirLines(d: ApptainerDirs): string[] {
    const tmp =
        d.tmpDir !== ""
            ? `export APPTAINER_TMPDIR=${shQuote(d.tmpDir)}`
            : `if [ -n "\${SLURM_JOB_ID:-}" ] && [ -n "\${TMPDIR:-}" ]; then export APPTAINER_TMPDIR="$TMPDIR/sparc-apptainer-tmp"; else export APPTAINER_TMPDIR=${shQuote(d.tmpFallback)}; fi`;
    return [`export APPTAINER_CACHEDIR=${shQuote(d.cacheDir)}`, tmp, 'mkdir -p "$APPTAINER_CACHEDIR" "$APPTAINER_TMPDIR"'];
}

/**
 * Where a job's endpoint file lies: next to its log (the directory of `output`, relative to `workDir`),
 * named by the job id (%j), so that a renewal's two jobs never write the same file.
 */
export function endpointFilePattern(workDir: string, output: string): string {
    const slash = output.lastIndexOf("/");
    const dir = slash < 0 ? workDir : output.startsWith("/") ? output.slice(0, slash) : `${workDir}/${output.slice(0, slash)}`;
    return `${dir}/sparc_service_%j.endpoint`;
}

/** The file that names the endpoint now serving (switched by readiness, e.g. at a renewal). */
export function currentEndpointFile(pattern: string): string {
    return `${pattern.slice(0, pattern.lastIndexOf("/"))}/sparc_service.endpoint`;
}

/** Shell text for a path pattern with %j replaced by the value of a shell variable. */
function withJobId(pattern: string, variable: string): string {
    return pattern
        .split("%j")
        .map((part) => (part === "" ? "" : shQuote(part)))
        .join(`"\${${variable}}"`);
}

/**
 * Shell function `sparc_port_taken PORT`: true when something listens on PORT on this node
 * (IPv4 or IPv6, any address), read from /proc/net/tcp{,6}: no tool the node may lack.
 */
const PORT_TAKEN_FUNCTION = [
    "sparc_port_taken() {",
    "    local hex; hex=$(printf '%04X' \"$1\")",
    "    { cat /proc/net/tcp; cat /proc/net/tcp6 2>/dev/null || true; } |",
    '        awk -v p="$hex" \'$4 == "0A" && substr($2, length($2) - 3) == p { found = 1 } END { exit !found }\'',
    "}",
];

/**
 * The MAS service job's body: modules; a free port (the configured one only if free, else a random
 * free one), written with the node and the job id to the endpoint file next to the log; then uvicorn
 * inside the SIF (exec, so scancel's TERM reaches it), told its job id so /health can answer with it.
 */
export function serviceJobBody(opts: {
    modules: readonly string[];
    sif: string;
    port: number;
    endpointPattern: string;
    gpus: boolean;
    appDir: string;
}): string {
    const uvicorn = shJoin([
        "apptainer",
        "exec",
        ...(opts.gpus ? ["--nv"] : []),
        "--pwd",
        opts.appDir,
        opts.sif,
        "uvicorn",
        "main:app",
        "--host",
        "0.0.0.0",
        "--port",
    ]);
    return [
        "set -euo pipefail",
        ...lmodPreamble(opts.modules),
        ...PORT_TAKEN_FUNCTION,
        // The Slurm node name is what squeue shows and what the login nodes resolve.
        "node=${SLURMD_NODENAME:-$(hostname -s)}",
        `port=${opts.port}`,
        'if sparc_port_taken "$port"; then',
        "    for _ in $(seq 200); do",
        "        port=$((20000 + RANDOM % 40000))",
        '        sparc_port_taken "$port" || break',
        "    done",
        `    if sparc_port_taken "$port"; then echo "sparc: no free port found on $node" >&2; exit 1; fi`,
        `    echo "sparc: port ${opts.port} is taken on $node; using $port"`,
        "fi",
        `endpoint=${withJobId(opts.endpointPattern, "SLURM_JOB_ID")}`,
        'printf \'%s %s %s\\n\' "$node" "$port" "$SLURM_JOB_ID" > "$endpoint.part"',
        'mv -f "$endpoint.part" "$endpoint"',
        'echo "sparc: serving on $node:$port (endpoint file $endpoint)"',
        // Apptainer (and its stand-in) sets SPARC_JOB_ID inside the container from APPTAINERENV_SPARC_JOB_ID.
        'export APPTAINERENV_SPARC_JOB_ID="$SLURM_JOB_ID"',
        `exec ${uvicorn} "$port"`,
        "",
    ].join("\n");
}

/** What the readiness check reports on its last line (JSON). */
export interface ReadinessReport {
    node: string;
    port: number;
    jobId: string;
    /** The job's end (its time limit) as seconds since the epoch, by the cluster's clock; 0 if unknown. */
    endsAt: number;
}

/**
 * The readiness check, a bash script run on the login node by the SlurmJob provider once the job is
 * RUNNING, with arguments: job id, log path, end time (squeue's, in the cluster's time zone).
 * It reads the job's endpoint file, which must name that job, then asks /health on node:port, which
 * must answer with that job id: a foreign service that holds the port is refused at once. On success
 * it points the current-endpoint file at this job and prints a ReadinessReport as its last line.
 * On failure it says why and where the job's log is, never what the log or /health said: the
 * provider puts the check's stderr into the error, which Pulumi prints and keeps in state
 * (initErrors), and a job may print secrets (a token in its environment).
 */
export function readinessScript(opts: { endpointPattern: string; timeoutSeconds: number }): string {
    const current = currentEndpointFile(opts.endpointPattern);
    return [
        "job=$1 log=$2 end=$3",
        // Where to look, not what is there: the log may hold what the job printed (secrets too).
        `sparc_log_hint() { echo "the job's log is not shown here (it may hold secrets): $log; read it on the login node with: tail -n 30 $log" >&2; }`,
        `endpoint=${withJobId(opts.endpointPattern, "job")}`,
        `deadline=$((SECONDS + ${opts.timeoutSeconds}))`,
        "url='' looks=0",
        "while :; do",
        '    if [ -s "$endpoint" ] && read -r node port id < "$endpoint"; then',
        '        if [ "$id" != "$job" ] || ! [[ "$port" =~ ^[0-9]+$ && "$node" =~ ^[A-Za-z0-9._-]+$ ]]; then',
        "            echo \"refusing $endpoint: it names job '$id' at '$node:$port', not job $job\" >&2; exit 1",
        "        fi",
        '        url="http://$node:$port/health"',
        '        if body=$(curl -fsS --max-time 5 "$url" 2>/dev/null); then',
        '            if ! printf \'%s\' "$body" | grep -Eq "\\"job_id\\": ?\\"$job\\""; then',
        '                echo "refusing $url: it answers, but not as job $job (another service holds the port; its answer is not shown)" >&2',
        "                sparc_log_hint; exit 1",
        "            fi",
        // A temporary name of this check's own: a chain's predecessor and successor may switch at the same moment.
        `            cp -f "$endpoint" ${shQuote(`${current}.part`)}.$$ && mv -f ${shQuote(`${current}.part`)}.$$ ${shQuote(current)}`,
        '            ends=$(date -d "$end" +%s 2>/dev/null || echo 0)',
        '            echo "ready: $url (job $job)"',
        '            printf \'{"node":"%s","port":%d,"jobId":"%s","endsAt":%d}\\n\' "$node" "$port" "$job" "$ends"',
        "            exit 0",
        "        fi",
        "    fi",
        '    if [ "$SECONDS" -ge "$deadline" ]; then break; fi',
        // A stat and a curl to the node, from the login node (no scheduler query): every 0.25 s in the first
        // 10 s, when a service that just started is most likely to answer, then every second.
        '    if [ "$((looks++))" -lt 40 ]; then sleep 0.25; else sleep 1; fi',
        "done",
        `if [ -z "$url" ]; then echo "job $job wrote no endpoint file $endpoint within ${opts.timeoutSeconds} s" >&2`,
        `else echo "$url did not answer within ${opts.timeoutSeconds} s" >&2; fi`,
        "sparc_log_hint",
        "exit 1",
    ].join("\n");
}

/** The ReadinessReport on the last line of the readiness output; undefined when there is none. */
export function parseReadinessReport(stdout: string): ReadinessReport | undefined {
    const last = stdout.trim().split("\n").pop() ?? "";
    try {
        const r = JSON.parse(last) as Partial<ReadinessReport>;
        if (typeof r.node === "string" && typeof r.port === "number" && typeof r.jobId === "string") {
            return { node: r.node, port: r.port, jobId: r.jobId, endsAt: typeof r.endsAt === "number" ? r.endsAt : 0 };
        }
    } catch {
        // not a report
    }
    return undefined;
}

/**
 * The line a user runs to reach the service from their machine: a local port forwarded through the
 * login node (with the ProxyJump the user's ~/.ssh/config sets for it) to node:port.
 */
export function tunnelCommand(opts: { localPort: number; node: string; port: number; user: string; host: string; sshPort: number; proxyJump: string }): string {
    return shJoin([
        "ssh",
        "-N",
        "-L",
        `${opts.localPort}:${opts.node}:${opts.port}`,
        ...(opts.proxyJump !== "" ? ["-J", opts.proxyJump] : []),
        ...(opts.sshPort !== 22 ? ["-p", String(opts.sshPort)] : []),
        `${opts.user}@${opts.host}`,
    ]);
}
