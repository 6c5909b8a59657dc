// The two SlurmJobs of the hpg stack (the service job, the .sif build job) as typed config makes
// them, and the way back: which config key each job field comes from, so that a field the
// SlurmJob provider's check would refuse is reported at preview under the user's key
// (`sparc-deploy:hpgPartition`), not the provider's field name (`partition`).
import { describeValue, gpuRequestProblem, parseGpuRequest, validateJobInputs, type SlurmJobInputs, type SshConnection } from "../../providers";
import { showValue } from "../configCheck";
import { endpointFilePattern, readinessScript } from "./commands";
import type { HpgConfig } from "./config";
import { HIPERGATOR_GPU_OFFER } from "./site";

/** Where each service job writes "node port jobid" (%j = its job id), next to its log. */
export function endpointPatternOf(cfg: HpgConfig): string {
    return endpointFilePattern(cfg.workDir, cfg.output);
}

/** Seconds between the waiting predecessor's squeue of its successor: HiPerGator forbids frequent polling. */
export const CHAIN_POLL_SECONDS = 60;

/** Where the service chain keeps its script, stop marker and reports (on /blue, which compute nodes see). */
export function chainDirOf(cfg: HpgConfig): string {
    return `${cfg.workDir}/.sparc-chain`;
}

/** The service job's fields (everything but the connection and the command), from typed config. */
export function serviceJobSpec(cfg: HpgConfig) {
    return {
        jobName: cfg.jobName,
        partition: cfg.partition,
        ...(cfg.account !== "" ? { account: cfg.account } : {}),
        ...(cfg.qos !== "" ? { qos: cfg.qos } : {}),
        nodes: cfg.nodes,
        // The reference script's --gpus-per-task alone is refused by sbatch: it needs a task count.
        ntasks: cfg.ntasks,
        ...(cfg.gpusPerTask !== "" && cfg.gpusPerTask !== "0" ? { gpusPerTask: cfg.gpusPerTask } : {}),
        ...(cfg.gpus !== "" ? { gpus: cfg.gpus } : {}),
        cpusPerTask: cfg.cpusPerTask,
        mem: cfg.mem,
        time: cfg.time,
        output: cfg.output,
        workdir: cfg.workDir,
        waitFor: "running" as const,
        waitTimeoutSeconds: cfg.waitTimeoutSeconds,
        waitPollSeconds: 15,
        cancelSignal: "TERM",
        cancelGraceSeconds: 30,
        clusterChecks: cfg.clusterChecks,
        // Readiness is part of the job's create: a renewal's successor must be ready before the old job goes.
        readyCheck: readinessScript({ endpointPattern: endpointPatternOf(cfg), timeoutSeconds: cfg.readinessTimeoutSeconds }),
        readyTimeoutSeconds: cfg.readinessTimeoutSeconds,
        renewBeforeSeconds: Math.round(cfg.renewBeforeHours * 3600),
        // The chain renews itself on the cluster (docs/hpg-renewal.md): its script and stop marker live here.
        ...(cfg.renewBeforeHours > 0 ? { chainDir: chainDirOf(cfg), chainPollSeconds: CHAIN_POLL_SECONDS } : {}),
        // Only when asked: a changed extraArgs replaces the job.
        ...(cfg.mailUser !== "" ? { extraArgs: [`--mail-user=${cfg.mailUser}`, "--mail-type=END,FAIL"] } : {}),
    };
}

/** The .sif build job's fields: a CPU partition, no GPUs, the same account and QOS. */
export function sifBuildJobSpec(cfg: HpgConfig, service: string) {
    return {
        jobName: `sparc-sif-${service}`,
        partition: cfg.sifBuildPartition,
        ...(cfg.account !== "" ? { account: cfg.account } : {}),
        ...(cfg.qos !== "" ? { qos: cfg.qos } : {}),
        cpusPerTask: cfg.sifBuildCpus,
        mem: cfg.sifBuildMem,
        time: cfg.sifBuildTime,
        output: `${cfg.workDir}/sif_build_${service}_%j.log`,
        waitFor: "completed" as const,
        waitTimeoutSeconds: 7200,
        waitPollSeconds: 15,
        // apptainer build's own lines (no secret goes into the build), under the build job in `pulumi up`.
        logTailLines: 5,
        clusterChecks: cfg.clusterChecks,
    };
}

/** A SlurmJob field, the config key it comes from, and how to fix that key. */
export interface JobFieldKey {
    key: string;
    fix: string;
}

const accountKey: JobFieldKey = { key: "hpgAccount", fix: "pulumi config set hpgAccount <Slurm account, e.g. your group>" };
const qosKey: JobFieldKey = { key: "hpgQos", fix: 'pulumi config set hpgQos <QOS name> (or "" for the account\'s default)' };

/** Service job field -> config key. Fields not listed are set by the stack itself, not by config. */
export const SERVICE_JOB_KEYS: Readonly<Record<string, JobFieldKey>> = {
    jobName: { key: "hpgJobName", fix: "pulumi config set hpgJobName <one line of at most 200 characters, e.g. sparc-production-service>" },
    partition: { key: "hpgPartition", fix: "pulumi config set hpgPartition <partition, e.g. hpg-ai>" },
    account: accountKey,
    qos: qosKey,
    nodes: { key: "hpgNodes", fix: "pulumi config set hpgNodes <whole number >= 1>" },
    ntasks: { key: "hpgNtasks", fix: "pulumi config set hpgNtasks <whole number >= 1>" },
    gpusPerTask: { key: "hpgGpusPerTask", fix: "pulumi config set hpgGpusPerTask <count or type:count, e.g. 4 or a100:4; 0 for none>" },
    gpus: { key: "hpgGpus", fix: 'pulumi config set hpgGpus <count or type:count, e.g. a100:4; "" for none>' },
    cpusPerTask: { key: "hpgCpusPerTask", fix: "pulumi config set hpgCpusPerTask <whole number >= 1>" },
    mem: { key: "hpgMem", fix: "pulumi config set hpgMem <Slurm memory size, e.g. 256gb>" },
    time: { key: "hpgTime", fix: "pulumi config set hpgTime <Slurm time, e.g. 14-00:00:00>" },
    output: { key: "hpgOutput", fix: "pulumi config set hpgOutput <log path pattern, e.g. sparc_service_%j.log>" },
    workdir: { key: "hpgWorkDir", fix: 'pulumi config set hpgWorkDir <absolute directory on the cluster> (or "" for the parent of hpgContainerDir)' },
    waitTimeoutSeconds: { key: "hpgWaitTimeoutSeconds", fix: "pulumi config set hpgWaitTimeoutSeconds <seconds, e.g. 1800>" },
    readyTimeoutSeconds: { key: "hpgReadinessTimeoutSeconds", fix: "pulumi config set hpgReadinessTimeoutSeconds <seconds, e.g. 300>" },
    renewBeforeSeconds: { key: "hpgRenewBeforeHours", fix: "pulumi config set hpgRenewBeforeHours <hours, e.g. 48; 0 = off>" },
    clusterChecks: { key: "hpgClusterChecks", fix: "pulumi config set hpgClusterChecks up|preview|off" },
    chainDir: { key: "hpgWorkDir", fix: "pulumi config set hpgWorkDir <absolute directory on the cluster>" },
    "extraArgs[0]": { key: "hpgMailUser", fix: 'pulumi config set hpgMailUser <one email address> (or "" for no mail)' },
};

/** .sif build job field -> config key. */
export const SIF_BUILD_JOB_KEYS: Readonly<Record<string, JobFieldKey>> = {
    partition: { key: "hpgSifBuildPartition", fix: "pulumi config set hpgSifBuildPartition <CPU partition, e.g. hpg-default>" },
    account: accountKey,
    qos: qosKey,
    cpusPerTask: { key: "hpgSifBuildCpus", fix: "pulumi config set hpgSifBuildCpus <whole number >= 1>" },
    mem: { key: "hpgSifBuildMem", fix: "pulumi config set hpgSifBuildMem <Slurm memory size, e.g. 16gb>" },
    time: { key: "hpgSifBuildTime", fix: "pulumi config set hpgSifBuildTime <Slurm time, e.g. 02:00:00>" },
    output: { key: "hpgWorkDir", fix: "pulumi config set hpgWorkDir <absolute directory on the cluster>" },
    clusterChecks: { key: "hpgClusterChecks", fix: "pulumi config set hpgClusterChecks up|preview|off" },
};

/** Connection field -> config key (the plain fields; secrets are Outputs, checked by the provider). */
export const CONNECTION_KEYS: Readonly<Record<string, JobFieldKey>> = {
    "connection.host": { key: "hpgHost", fix: "pulumi config set hpgHost <login node or ~/.ssh/config alias, e.g. hpg.rc.ufl.edu>" },
    "connection.user": { key: "hpgUser", fix: "pulumi config set hpgUser <your GatorLink user>" },
    "connection.port": { key: "hpgPort", fix: "pulumi config set hpgPort <1-65535> (or 0 for ~/.ssh/config, else 2222)" },
    "connection.hostKey": {
        key: "hpgHostKey",
        fix: 'pulumi config set hpgHostKey "ssh-ed25519 AAAA..." (a line of `ssh-keyscan -p 2222 HOST` without the host name)',
    },
    "connection.identityFile": { key: "hpgIdentityFile", fix: 'pulumi config set hpgIdentityFile <path of your private key> (or "" for ssh-agent)' },
    "connection.controlPath": { key: "hpgControlPath", fix: "pulumi config set hpgControlPath <socket path, e.g. ~/.ssh/sparc-cm-%C>" },
};

/** The connection's plain fields as the stack passes them (slurmConnection in hpgStack.ts), for the provider's rules. */
function plainConnection(cfg: HpgConfig): Record<string, unknown> {
    return {
        host: cfg.host,
        port: cfg.port,
        user: cfg.user,
        transport: cfg.transport,
        ...(cfg.hostKey !== "" ? { hostKey: cfg.hostKey } : {}),
        ...(cfg.insecureIgnoreHostKey ? { insecureIgnoreHostKey: true } : {}),
        ...(cfg.transport === "openssh" ? { identityFile: cfg.identityFile, controlPath: cfg.controlPath } : {}),
    };
}

/** A problem in the config vocabulary, with the key it belongs to (for de-duplication by the loader). */
export interface KeyedProblem {
    key: string;
    message: string;
}

/**
 * What the SlurmJob provider's check (providers/slurm/validate.ts, the one set of rules) refuses in
 * `spec`, for the fields that come from config, reworded as `project:key = value: what. Fix: how`.
 * The value shown is the job field's (e.g. hpgRenewBeforeHours shows the seconds it becomes).
 */
export function jobSpecProblems(project: string, spec: Partial<SlurmJobInputs>, keys: Readonly<Record<string, JobFieldKey>>): KeyedProblem[] {
    const fields = spec as Record<string, unknown>;
    return validateJobInputs(spec).flatMap((failure) => {
        const mapped = keys[failure.property];
        if (mapped === undefined) {
            return [];
        }
        // "connection.user" is a nested field.
        const value = failure.property.split(".").reduce<unknown>((v, part) => (v as Record<string, unknown> | undefined)?.[part], fields);
        // The provider's reasons read "field = value: what; how" (validate.ts): keep "what; how", name the key.
        const prefix = `${failure.property} = ${describeValue(value)}: `;
        const what = failure.reason.startsWith(prefix) ? failure.reason.slice(prefix.length) : failure.reason;
        return [{ key: mapped.key, message: `${project}:${mapped.key} = ${describeValue(value)}: ${what}. Fix: ${mapped.fix}` }];
    });
}

/** Every config-derived field either job of the stack would be refused for (services: the images built into .sif files). */
export function hpgJobProblems(project: string, cfg: HpgConfig): KeyedProblem[] {
    const problems = jobSpecProblems(project, serviceJobSpec(cfg), SERVICE_JOB_KEYS);
    if (cfg.sifBuildOn === "slurm") {
        // The build jobs differ only in their fixed names: one stands for all.
        problems.push(...jobSpecProblems(project, sifBuildJobSpec(cfg, "mas"), SIF_BUILD_JOB_KEYS));
    }
    // An unset user or host key is reported by the loader as unset, not as a bad connection field.
    if (cfg.user !== "") {
        problems.push(
            ...jobSpecProblems(project, { connection: plainConnection(cfg) as unknown as SshConnection }, CONNECTION_KEYS).filter(
                (p) => !(p.key === "hpgHostKey" && cfg.hostKey === ""),
            ),
        );
    }
    const seen = new Set<string>();
    return problems.filter((p) => !seen.has(p.message) && seen.add(p.message));
}

/**
 * Typed GPU requests checked at preview: the form ("4" or "type:4"), one way of asking, and the type
 * against the partitions HiPerGator is known to have (others are checked against sinfo at up).
 * Each problem is keyed, its message the part after "project:key = ".
 */
export function gpuConfigProblems(partition: string, requests: { hpgGpusPerTask: string; hpgGpus: string }): KeyedProblem[] {
    const problems: KeyedProblem[] = [];
    const given = Object.entries(requests).filter(([, value]) => value !== "" && value !== "0");
    if (given.length > 1) {
        problems.push({
            key: "hpgGpus",
            message:
                `${showValue(requests.hpgGpus)}: asks for GPUs as well as hpgGpusPerTask = ${showValue(requests.hpgGpusPerTask)}. ` +
                'Fix: ask for GPUs one way; set the other to "0" (hpgGpusPerTask) or "" (hpgGpus)',
        });
    }
    for (const [key, value] of given) {
        const request = parseGpuRequest(value, "gpus");
        if (request === undefined || request.count === 0) {
            problems.push({
                key,
                message: `${showValue(value)}: is not a GPU request. Fix: use a count or type:count, e.g. "4" or "a100:4" (HiPerGator asks for GPUs by type)`,
            });
            continue;
        }
        const problem = gpuRequestProblem(HIPERGATOR_GPU_OFFER, partition, request);
        if (problem !== "") {
            problems.push({ key, message: `${showValue(value)}: with hpgPartition = ${showValue(partition)}, ${problem}. Fix: change hpgPartition or ${key}` });
        }
    }
    return problems;
}
