// Pure builders for the hpg pipeline's commands: docker-archive on this machine,
// copy to cluster storage with a checksum check, `apptainer build` on the cluster,
// the service job's body and the readiness probe. Every command is an argv array
// rendered through the one quoting helper. Remote steps are argv for RemoteCommand,
// which runs them through the stack's one SSH login (no ssh/scp of their own).
import { shJoin, shQuote } from "../../providers/slurm/quote";

export { knownHostsLine, openSshOptions, muxArgv, sshArgv, type OpenSshTarget } from "../../providers/slurm/openssh";

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

/** Saves the image as a docker-archive (atomically) and prints its sha256. */
export function saveArchiveCommand(cli: string, p: SifPlan): string {
    const part = `${p.localTar}.part`;
    return [
        "set -e",
        shJoin(["mkdir", "-p", p.localTar.slice(0, p.localTar.lastIndexOf("/"))]),
        shJoin([cli, "save", "--format", "docker-archive", "-o", part, p.imageRef]),
        shJoin(["mv", "-f", part, p.localTar]),
        `sha256sum ${shQuote(p.localTar)} | cut -d' ' -f1`,
    ].join("\n");
}

export function removeLocalArchiveCommand(p: SifPlan): string {
    return shJoin(["rm", "-f", p.localTar, `${p.localTar}.part`]);
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
        unless: ["bash", "-c", `cd ${shQuote(p.remoteDir)} 2>/dev/null && echo ${shQuote(`${sha256}  ${p.remoteTar}`)} | sha256sum -c --status - && ` +
            `echo ${shQuote(`sent 0 bytes: ${p.remoteTar} is already on the cluster`)}`],
        create: ["bash", "-c", [
            "set -e",
            shJoin(["mkdir", "-p", p.remoteDir]),
            `cat > ${shQuote(part)}`,
            `echo ${shQuote(`${sha256}  ${part}`)} | sha256sum -c --status - || { echo ${shQuote(`checksum mismatch after copying to ${part}`)} >&2; exit 1; }`,
            shJoin(["mv", "-f", part, p.remoteTar]),
            `echo "sent $(stat -c %s ${shQuote(p.remoteTar)}) bytes to ${p.remoteTar}"`,
        ].join("\n")],
    };
}

export function removeRemoteArgv(paths: readonly string[]): string[] {
    return ["rm", "-f", ...paths];
}

/** The module lines HiPerGator jobs start with (Lmod). */
export function moduleLines(modules: readonly string[]): string[][] {
    return modules.length === 0 ? [] : [["module", "purge"], ["module", "load", ...modules]];
}

/**
 * The `apptainer build` script from the copied docker-archive (HiPerGator has no Docker daemon:
 * docker-daemon:// cannot work). Run over SSH on the login node, or as a SlurmJob's body.
 */
export function sifBuildScript(p: SifPlan, modules: readonly string[]): string {
    return andThen([
        ...moduleLines(modules),
        ["apptainer", "build", "--force", `${p.remoteSif}.part`, `docker-archive://${p.remoteTar}`],
        ["mv", "-f", `${p.remoteSif}.part`, p.remoteSif],
    ]);
}

export function sifBuildArgv(p: SifPlan, modules: readonly string[]): string[] {
    return ["bash", "-c", sifBuildScript(p, modules)];
}

/** The MAS service job's body: modules, the endpoint file, then uvicorn inside the SIF (exec, so scancel's TERM reaches it). */
export function serviceJobBody(opts: { modules: readonly string[]; sif: string; port: number; endpointFile: string; gpus: boolean; appDir: string }): string {
    return [
        "set -euo pipefail",
        ...(opts.modules.length === 0 ? [] : [
            // Batch shells are not login shells: bring Lmod in where the site has it.
            "if ! command -v module >/dev/null 2>&1 && [ -f /etc/profile.d/lmod.sh ]; then . /etc/profile.d/lmod.sh; fi",
            ...moduleLines(opts.modules).map((argv) => shJoin(argv)),
        ]),
        `echo "$(hostname -s) ${opts.port} \${SLURM_JOB_ID}" > ${shQuote(opts.endpointFile)}`,
        // Apptainer ignores the image's WORKDIR (it starts in the caller's directory): --pwd puts uvicorn next to main.py.
        `exec ${shJoin(["apptainer", "exec", ...(opts.gpus ? ["--nv"] : []), "--pwd", opts.appDir, opts.sif,
            "uvicorn", "main:app", "--host", "0.0.0.0", "--port", String(opts.port)])}`,
        "",
    ].join("\n");
}

/** Asks the service's /health from the login node, bounded; on failure prints the job log's last lines. */
export function readinessRemoteArgv(opts: { node: string; port: number; timeoutSeconds: number; logPath: string }): string[] {
    const url = `http://${opts.node}:${opts.port}/health`;
    const tries = Math.max(1, Math.ceil(opts.timeoutSeconds / 5));
    return ["bash", "-c", [
        `for i in $(seq ${tries}); do`,
        `  if curl -fsS --max-time 5 ${shQuote(url)}; then echo; echo ${shQuote(`ready: ${url}`)}; exit 0; fi`,
        "  sleep 5",
        "done",
        `echo ${shQuote(`${url} did not answer within ${opts.timeoutSeconds} s; last lines of ${opts.logPath}:`)} >&2`,
        `tail -n 30 ${shQuote(opts.logPath)} >&2`,
        "exit 1",
    ].join("\n")];
}
