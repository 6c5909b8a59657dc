// The scheduler client of the SlurmJob provider: what it asks Slurm and how politely. Batched and
// shared queries (squeue, then sacct; HiPerGator forbids frequent scheduler queries), the lookup of
// jobs by ownership tag, log paths, the cluster's name and the pre-submit checks against sinfo, and
// scancel. The resource lifecycle (check/diff/create/read/update/delete) is provider.ts.
import { SHARED_GLOBALS } from "../legacy";
import type { JobStatus, JobStatusFields, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { connectionKey, runRemote, sshPool, type RemoteResult } from "../remote/remote";
import { progressLine } from "../remote/progress";
import { SACCT_FIELDS, SINFO_FORMAT, SQUEUE_FORMAT, gpuTypesOf, isTerminalState, parseClusterName, parseSacct, parseSinfo, parseSqueue } from "./parse";
import { parseJobComment } from "./ownership";
import { formatSlurmTime, parseSlurmTime } from "./time";
import { LIMITS_QUERY, limitFailures, parseLimits } from "./limits";

/**
 * One answer shared by every caller asking the same question of the same cluster
 * within `ttlMs` (concurrent creates in one `pulumi up` ask for the same sinfo and
 * the same queue): HiPerGator forbids frequent scheduler queries.
 */
export function sharedQuery<T>(inputs: SlurmJobInputs, what: string, ttlMs: number, run: () => Promise<T>): Promise<T> {
    // Under the frozen providers' key (legacy.ts): such a copy in the same process shares the answers.
    const g = globalThis as unknown as Record<typeof SHARED_GLOBALS.sharedQueries, Map<string, { at: number; value: Promise<unknown> }> | undefined>;
    const shared = (g[SHARED_GLOBALS.sharedQueries] ??= new Map());
    const key = `${what} ${connectionKey(inputs.connection)}`;
    const hit = shared.get(key);
    if (hit !== undefined && Date.now() - hit.at < ttlMs) {
        return hit.value as Promise<T>;
    }
    const value = run();
    shared.set(key, { at: Date.now(), value });
    const forget = () => {
        if (shared.get(key)?.value === value) {
            shared.delete(key);
        }
    };
    // ttlMs 0: shared only while in flight, so nobody is handed an answer older than their question.
    value.then(() => (ttlMs === 0 ? forget() : undefined), forget);
    return value;
}

/**
 * Checks what the job asks for (GPUs, CPUs, memory) against the group's association and QOS limits in
 * Slurm's accounting, with one remote command (sacctmgr), before anything is submitted: a request the
 * group cannot get would otherwise pend until waitTimeoutSeconds.
 */
export async function accountingFailures(inputs: SlurmJobInputs, jobs = 1): Promise<{ property: string; reason: string }[]> {
    if (inputs.script !== undefined) {
        return [];
    }
    const limits = await sharedQuery(inputs, "sacctmgr", 60_000, async () => {
        const r = await runRemote(inputs.connection, ["bash", "-c", LIMITS_QUERY]);
        if (r.code !== 0) {
            throw new SlurmCommandError("reading the group's association and QOS limits (sacctmgr) failed", r);
        }
        return parseLimits(r.stdout);
    });
    return limitFailures(inputs, limits, jobs);
}

/**
 * Before a first sbatch: throws, listing every failure, when the cluster cannot run the job (clusterFailures and
 * accountingFailures, read side by side: each is a round trip to the scheduler or its database).
 */
export async function assertClusterCanRun(inputs: SlurmJobInputs): Promise<void> {
    const failures = (await Promise.all([clusterFailures(inputs), accountingFailures(inputs)])).flat();
    if (failures.length > 0) {
        throw new Error(`the cluster cannot run this job:\n  - ${failures.map((f) => `${f.property}: ${f.reason}`).join("\n  - ")}`);
    }
}

/**
 * Checks the job's partition, time limit and GPU type against what `sinfo` says the
 * cluster offers (HiPerGator renames partitions and GPU types), before anything is
 * submitted. Returns failures in check()'s shape, each listing what is on offer.
 */
export async function clusterFailures(inputs: SlurmJobInputs): Promise<{ property: string; reason: string }[]> {
    if (inputs.script !== undefined) {
        return [];
    }
    const partitions = await sharedQuery(inputs, "sinfo", 60_000, async () => {
        const sinfo = await runRemote(inputs.connection, ["sinfo", "-h", "-o", SINFO_FORMAT]);
        if (sinfo.code !== 0) {
            throw new SlurmCommandError("reading the cluster's partitions failed", sinfo);
        }
        return parseSinfo(sinfo.stdout);
    });
    const offered = partitions
        .map(
            (p) =>
                `${p.name}${p.isDefault ? " (default)" : ""} (MaxTime ${p.maxTimeSeconds === undefined ? "?" : formatSlurmTime(p.maxTimeSeconds)}` +
                `${gpuTypesOf(partitions, p.name).length > 0 ? `, GPUs ${gpuTypesOf(partitions, p.name).join("/")}` : ""})`,
        )
        .join(", ");
    const failures: { property: string; reason: string }[] = [];
    const partition = partitions.find((p) => p.name === inputs.partition) ?? (inputs.partition === undefined ? partitions.find((p) => p.isDefault) : undefined);
    if (partition === undefined) {
        if (inputs.partition !== undefined) {
            failures.push({
                property: "partition",
                reason: `partition ${JSON.stringify(inputs.partition)} does not exist on ${inputs.connection.host}; it offers: ${offered}`,
            });
        }
        return failures;
    }
    const asked = inputs.time === undefined ? undefined : parseSlurmTime(inputs.time);
    if (asked !== undefined && partition.maxTimeSeconds !== undefined && asked > partition.maxTimeSeconds) {
        failures.push({
            property: "time",
            reason:
                `time ${JSON.stringify(inputs.time)} exceeds partition ${partition.name}'s MaxTime ` +
                `${formatSlurmTime(partition.maxTimeSeconds)}; lower it or pick another partition. The cluster offers: ${offered}`,
        });
    }
    const types = gpuTypesOf(partitions, partition.name);
    for (const property of ["gpus", "gpusPerTask", "gres"] as const) {
        const value = inputs[property];
        const typed =
            value === undefined ? undefined : property === "gres" ? /^gpu:([A-Za-z][\w-]*):\d+$/.exec(value)?.[1] : /^([A-Za-z][\w-]*):\d+$/.exec(value)?.[1];
        if (value !== undefined && (types.length === 0 || (typed !== undefined && !types.includes(typed)))) {
            const elsewhere = partitions.filter(
                (p) => gpuTypesOf(partitions, p.name).length > 0 && (typed === undefined || gpuTypesOf(partitions, p.name).includes(typed)),
            );
            failures.push({
                property,
                reason:
                    `${property} ${JSON.stringify(value)} asks for ${typed === undefined ? "GPUs" : `GPU type ${typed}`}, ` +
                    `but partition ${partition.name} offers ${types.length === 0 ? "no GPUs" : `GPU types ${types.join(", ")}`}` +
                    `${elsewhere.length > 0 ? `; ${typed ?? "GPUs"}${typed === undefined ? " are" : " GPUs are"} in partition ${elsewhere.map((p) => p.name).join(", ")}` : ""}. The cluster offers: ${offered}`,
            });
        }
    }
    return failures;
}

/** Status fields that exist only in outputs. */
export const STATUS_DEFAULTS = {
    jobId: "",
    state: "",
    reason: "",
    nodeList: "",
    submitTime: "",
    startTime: "",
    endTime: "",
    exitCode: "",
    stdoutPath: "",
    stderrPath: "",
    clusterName: "",
};

/** A Slurm command that ran and failed: carries the command, exit status and stderr (never credentials). */
export class SlurmCommandError extends Error {
    constructor(
        what: string,
        readonly result: RemoteResult,
    ) {
        super(
            `${what}: \`${result.command.length > 200 ? `${result.command.slice(0, 200)}...` : result.command}\` ` +
                `exited ${result.code}${result.signal ? ` (signal ${result.signal})` : ""}: ${result.stderr.trim() || result.stdout.trim() || "(no output)"}`,
        );
        this.name = "SlurmCommandError";
    }
}

/**
 * argv of a scheduler query whose times the parsers read, with the time format pinned: a login
 * shell that exports SLURM_TIME_FORMAT (e.g. "relative": "Tomorr 12:00") changes how squeue and
 * sacct print every time, which the state and the renewal's `date -d` must be able to read.
 */
export function pinnedQuery(argv: readonly string[]): string[] {
    return ["env", "SLURM_TIME_FORMAT=standard", ...argv];
}

/** The prefix of a job's lines when they go to stdout, and the label of its progress scope. */
export function jobLabel(tag: string): string {
    return `[SlurmJob ${tag}]`;
}

/** One diagnostic line about a job (the SlurmJob provider's log): under its resource in `pulumi up` (progress.ts). */
export function log(tag: string, message: string): void {
    progressLine(jobLabel(tag), message);
}

export function sleep(seconds: number): Promise<void> {
    return new Promise((r) => setTimeout(r, seconds * 1000));
}

/**
 * Status of several jobs: one squeue for all of them, then one sacct for the ids
 * slurmctld no longer knows (purged after MinJobAge). A failed query throws:
 * it must never be taken for "job gone".
 */
export async function queryJobs(inputs: SlurmJobInputs, ids: readonly string[]): Promise<Map<string, JobStatus>> {
    const found = new Map<string, JobStatus>();
    if (ids.length === 0) {
        return found;
    }
    const squeue = await runRemote(inputs.connection, pinnedQuery(["squeue", "-h", "-t", "all", "-j", ids.join(","), "-o", SQUEUE_FORMAT]));
    // A single unknown id makes squeue exit 1 ("Invalid job id specified"); a list does not.
    const unknownSingle = squeue.code === 1 && /Invalid job id specified/.test(squeue.stderr);
    if (squeue.code !== 0 && !unknownSingle) {
        throw new SlurmCommandError("reading the job from slurmctld failed", squeue);
    }
    for (const status of parseSqueue(squeue.stdout)) {
        found.set(status.jobId, status);
    }
    // squeue knows no exit code: ask accounting for ended jobs too (same single sacct call).
    const missing = ids.filter((id) => !found.has(id) || isTerminalState(found.get(id)?.state ?? ""));
    if (missing.length > 0) {
        const sacct = await runRemote(inputs.connection, pinnedQuery(["sacct", "-n", "-P", "-X", "-j", missing.join(","), "-o", SACCT_FIELDS]));
        if (sacct.code !== 0) {
            throw new SlurmCommandError(`job ${missing.join(",")} is not in the queue, and the accounting query failed`, sacct);
        }
        for (const status of parseSacct(sacct.stdout)) {
            const fromQueue = found.get(status.jobId);
            if (!missing.includes(status.jobId)) {
                continue;
            }
            // sacct lags slurmctld: keep squeue's state, take only the exit code from accounting.
            found.set(status.jobId, fromQueue === undefined ? status : { ...fromQueue, exitCode: status.exitCode });
        }
    }
    return found;
}

interface PendingRead {
    inputs: SlurmJobInputs;
    ids: Set<string>;
    waiters: { id: string; resolve: (s: JobStatus | undefined) => void; reject: (e: Error) => void }[];
}

/**
 * Status of one job, batched: the engine refreshes resources one call at a
 * time, so reads that arrive within a short window share one squeue/sacct.
 */
export function readJobBatched(inputs: SlurmJobInputs, id: string): Promise<JobStatus | undefined> {
    // Under the frozen providers' key (legacy.ts), like sharedQuery's.
    const g = globalThis as unknown as Record<typeof SHARED_GLOBALS.readBatches, Map<string, PendingRead> | undefined>;
    const batches = (g[SHARED_GLOBALS.readBatches] ??= new Map());
    const key = connectionKey(inputs.connection);
    let batch = batches.get(key);
    if (batch === undefined) {
        const created: PendingRead = { inputs, ids: new Set(), waiters: [] };
        batch = created;
        batches.set(key, created);
        setTimeout(() => {
            batches.delete(key);
            queryJobs(created.inputs, [...created.ids]).then(
                (found) => created.waiters.forEach((w) => w.resolve(found.get(w.id))),
                (err: Error) => created.waiters.forEach((w) => w.reject(err)),
            );
        }, 50);
    }
    batch.ids.add(id);
    return new Promise((resolve, reject) => batch.waiters.push({ id, resolve, reject }));
}

/**
 * Jobs of this user whose --comment carries this resource's ownership tag (any script
 * hash, any attempt): squeue, and with `accountingSince` also sacct from that moment on
 * (needs AccountingStoreFlags=job_comment), for jobs slurmctld has already purged.
 */
export async function findJobsByTag(inputs: SlurmJobInputs, accountingSince?: number, enough?: (jobs: JobStatus[]) => boolean): Promise<JobStatus[]> {
    const user = inputs.connection.user;
    const mentionsTag = (line: string) => line.includes(inputs.ownerTag);
    const ask = async () => {
        const squeue = await runRemote(inputs.connection, pinnedQuery(["squeue", "-h", "-t", "all", "-u", user, "-o", SQUEUE_FORMAT]), {
            defaultTimeoutSeconds: 60,
        });
        if (squeue.code !== 0) {
            throw new SlurmCommandError("looking for an earlier submission of this job failed", squeue);
        }
        // The user's other jobs may print lines we cannot read (a comment with a newline): only a line of ours may fail.
        return parseSqueue(squeue.stdout, mentionsTag);
    };
    // Concurrent creates share one in-flight query; after an ambiguous sbatch the answer must be our own.
    const queue = accountingSince !== undefined ? await ask() : await sharedQuery(inputs, "squeue-user", 0, ask);
    const ours = (j: JobStatus) => parseJobComment(j.comment).ownerTag === inputs.ownerTag;
    const jobs = queue.filter(ours);
    // Accounting only when the queue did not already answer (it lags slurmctld anyway).
    if (accountingSince === undefined || enough?.(jobs) === true) {
        return jobs;
    }
    const minutes = Math.ceil((Date.now() - accountingSince) / 60_000) + 5;
    const sacct = await runRemote(inputs.connection, pinnedQuery(["sacct", "-n", "-P", "-X", "-u", user, "-S", `now-${minutes}minutes`, "-o", SACCT_FIELDS]), {
        defaultTimeoutSeconds: 60,
    });
    if (sacct.code !== 0) {
        throw new SlurmCommandError("looking for an earlier submission of this job in accounting failed", sacct);
    }
    const known = new Set(jobs.map((j) => j.jobId));
    return [...jobs, ...parseSacct(sacct.stdout, mentionsTag).filter((j) => ours(j) && !known.has(j.jobId))];
}

/** The status fields kept in state (without the comment and where they were read). */
export function statusFields(status: JobStatus): JobStatusFields {
    const { comment: _comment, source: _source, ...fields } = status;
    return fields;
}

/** ClusterName of the cluster a connection reaches (shared for 10 minutes per connection). */
export function clusterNameOf(inputs: SlurmJobInputs): Promise<string> {
    return sharedQuery(inputs, "cluster-name", 600_000, async () => {
        const shown = await runRemote(inputs.connection, ["scontrol", "show", "config"], { defaultTimeoutSeconds: 60 });
        if (shown.code !== 0) {
            throw new SlurmCommandError("reading the cluster's name (scontrol show config) failed", shown);
        }
        return parseClusterName(shown.stdout);
    });
}

/** StdOut/StdErr as slurmctld resolved them (patterns such as %j expanded). */
export async function logPaths(inputs: SlurmJobInputs, jobId: string): Promise<{ stdoutPath: string; stderrPath: string }> {
    const shown = await runRemote(inputs.connection, ["scontrol", "show", "job", "-o", jobId], { defaultTimeoutSeconds: 60 });
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(shown.stdout)?.[1] ?? "";
    return { stdoutPath: field("StdOut"), stderrPath: field("StdErr") };
}

/**
 * scancel that accepts "the job already ended": it may end between our read and the cancel,
 * and `scancel --signal` then exits 1 ("Invalid job id specified"). Resolves undefined when
 * the cancel was sent, or the job's final status when it had already ended.
 */
export async function scancel(props: SlurmJobOutputs, id: string, argv: string[], what: string): Promise<JobStatus | undefined> {
    const result = await runRemote(props.connection, argv, { defaultTimeoutSeconds: 60 });
    if (result.code === 0) {
        return undefined;
    }
    const now = await readJobBatched(props, id);
    if (now === undefined || isTerminalState(now.state)) {
        log(props.ownerTag, `job ${id} ended (${now?.state ?? "gone"}) before ${what}; nothing to cancel`);
        return now ?? { ...STATUS_DEFAULTS, jobId: id, state: "GONE", comment: "", source: "squeue" };
    }
    throw new SlurmCommandError(`${what} job ${id} failed`, result);
}

/** Scheduler load counters for benchmarks and tests. */
export function slurmStats(): { handshakes: number; commands: Record<string, number> } {
    return sshPool().stats;
}
