// The SlurmJob dynamic provider: submits (sbatch), reads (squeue, then sacct)
// and cancels (scancel) one batch job over SSH, keeping the job in Pulumi state.
//
// Pulumi serializes this object, and everything it references, into state;
// `pulumi destroy` runs the copy stored there. So the methods reach runtime
// libraries only through require() at call time (see ssh.ts), and nothing
// here captures credentials: they travel as (secret) inputs.
import type * as pulumi from "@pulumi/pulumi";
import type { JobStatus, JobStatusFields, RenewalOutputs, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { renderBatchScript } from "./render";
import { diffJob, scontrolUpdateArgv } from "./fields";
import { AmbiguousRemoteError, connectionKey, runRemote, sshPool, type RemoteResult } from "./ssh";
import {
    SACCT_FIELDS, SINFO_FORMAT, SQUEUE_FORMAT, gpuTypesOf, isTerminalState, parseSacct, parseSbatchParsable, parseSinfo, parseSqueue,
} from "./parse";
import { formatSlurmTime, parseSlurmTime } from "./time";
import { UNKNOWN, validateJobInputs } from "./validate";
import { RENEWAL_OUTPUT_DEFAULTS, cancelFailedSuccessor, checkRunningJob, renewalDue, splitLiveJobs } from "./renewal";

/** Defaults applied in check(), so that state always holds every setting. */
export const SLURM_JOB_DEFAULTS = {
    waitFor: "submitted",
    waitTimeoutSeconds: 600,
    waitPollSeconds: 10,
    cancelSignal: "TERM",
    cancelGraceSeconds: 30,
    deleteTimeoutSeconds: 300,
    clusterChecks: "up",
} as const;

/**
 * One answer shared by every caller asking the same question of the same cluster
 * within `ttlMs` (concurrent creates in one `pulumi up` ask for the same sinfo and
 * the same queue): HiPerGator forbids frequent scheduler queries.
 */
export function sharedQuery<T>(inputs: SlurmJobInputs, what: string, ttlMs: number, run: () => Promise<T>): Promise<T> {
    const g = globalThis as unknown as { __sparcSlurmShared?: Map<string, { at: number; value: Promise<unknown> }> };
    g.__sparcSlurmShared ??= new Map();
    const key = `${what} ${connectionKey(inputs.connection)}`;
    const hit = g.__sparcSlurmShared.get(key);
    if (hit !== undefined && Date.now() - hit.at < ttlMs) {
        return hit.value as Promise<T>;
    }
    const value = run();
    g.__sparcSlurmShared.set(key, { at: Date.now(), value });
    const forget = () => {
        if (g.__sparcSlurmShared?.get(key)?.value === value) {
            g.__sparcSlurmShared.delete(key);
        }
    };
    // ttlMs 0: shared only while in flight, so nobody is handed an answer older than their question.
    value.then(() => (ttlMs === 0 ? forget() : undefined), forget);
    return value;
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
    const offered = partitions.map((p) => `${p.name}${p.isDefault ? " (default)" : ""} (MaxTime ${p.maxTimeSeconds === undefined ? "?" : formatSlurmTime(p.maxTimeSeconds)}` +
        `${gpuTypesOf(partitions, p.name).length > 0 ? `, GPUs ${gpuTypesOf(partitions, p.name).join("/")}` : ""})`).join(", ");
    const failures: { property: string; reason: string }[] = [];
    const partition = partitions.find((p) => p.name === inputs.partition) ??
        (inputs.partition === undefined ? partitions.find((p) => p.isDefault) : undefined);
    if (partition === undefined) {
        if (inputs.partition !== undefined) {
            failures.push({ property: "partition", reason: `partition ${JSON.stringify(inputs.partition)} does not exist on ${inputs.connection.host}; it offers: ${offered}` });
        }
        return failures;
    }
    const asked = inputs.time === undefined ? undefined : parseSlurmTime(inputs.time);
    if (asked !== undefined && partition.maxTimeSeconds !== undefined && asked > partition.maxTimeSeconds) {
        failures.push({ property: "time", reason: `time ${JSON.stringify(inputs.time)} exceeds partition ${partition.name}'s MaxTime ` +
            `${formatSlurmTime(partition.maxTimeSeconds)}; lower it or pick another partition. The cluster offers: ${offered}` });
    }
    const types = gpuTypesOf(partitions, partition.name);
    for (const property of ["gpus", "gpusPerTask", "gres"] as const) {
        const value = inputs[property];
        const typed = value === undefined ? undefined : property === "gres" ? /^gpu:([A-Za-z][\w-]*):\d+$/.exec(value)?.[1] : /^([A-Za-z][\w-]*):\d+$/.exec(value)?.[1];
        if (value !== undefined && (types.length === 0 || (typed !== undefined && !types.includes(typed)))) {
            const elsewhere = partitions.filter((p) => gpuTypesOf(partitions, p.name).length > 0 && (typed === undefined || gpuTypesOf(partitions, p.name).includes(typed)));
            failures.push({ property, reason: `${property} ${JSON.stringify(value)} asks for ${typed === undefined ? "GPUs" : `GPU type ${typed}`}, ` +
                `but partition ${partition.name} offers ${types.length === 0 ? "no GPUs" : `GPU types ${types.join(", ")}`}` +
                `${elsewhere.length > 0 ? `; ${typed ?? "GPUs"}${typed === undefined ? " are" : " GPUs are"} in partition ${elsewhere.map((p) => p.name).join(", ")}` : ""}. The cluster offers: ${offered}` });
        }
    }
    return failures;
}

/** Status fields that exist only in outputs. */
const STATUS_DEFAULTS = {
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
};

/** A Slurm command that ran and failed: carries the command, exit status and stderr (never credentials). */
export class SlurmCommandError extends Error {
    constructor(what: string, readonly result: RemoteResult) {
        super(`${what}: \`${result.command.length > 200 ? `${result.command.slice(0, 200)}...` : result.command}\` ` +
            `exited ${result.code}${result.signal ? ` (signal ${result.signal})` : ""}: ${result.stderr.trim() || result.stdout.trim() || "(no output)"}`);
        this.name = "SlurmCommandError";
    }
}

function log(tag: string, message: string): void {
    // The dynamic-provider process has no engine connection; its stdout reaches
    // `pulumi up` as diagnostics, so every line names the job it is about.
    console.log(`[SlurmJob ${tag}] ${message}`);
}

function sleep(seconds: number): Promise<void> {
    return new Promise((r) => setTimeout(r, seconds * 1000));
}

/** Drops undefined values (Pulumi cannot serialize them) and fills in defaults. */
function normalizeInputs(news: Record<string, unknown>): SlurmJobInputs {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries({ ...SLURM_JOB_DEFAULTS, ...news })) {
        if (value !== undefined && value !== null) {
            out[key] = value;
        }
    }
    if (typeof out.connection === "object" && out.connection !== null) {
        const conn: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(out.connection)) {
            if (value !== undefined && value !== null) {
                conn[key] = value;
            }
        }
        out.connection = conn;
    }
    return out as unknown as SlurmJobInputs;
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
    const squeue = await runRemote(inputs.connection, ["squeue", "-h", "-t", "all", "-j", ids.join(","), "-o", SQUEUE_FORMAT]);
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
        const sacct = await runRemote(inputs.connection, ["sacct", "-n", "-P", "-X", "-j", missing.join(","), "-o", SACCT_FIELDS]);
        if (sacct.code !== 0) {
            throw new SlurmCommandError(`job ${missing.join(",")} is not in the queue, and the accounting query failed`, sacct);
        }
        for (const status of parseSacct(sacct.stdout)) {
            const fromQueue = found.get(status.jobId);
            if (!missing.includes(status.jobId)) {
                continue;
            }
            // sacct lags slurmctld: keep squeue's state, take only the exit code from accounting.
            found.set(status.jobId, fromQueue === undefined ? status
                : { ...fromQueue, exitCode: status.exitCode });
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
    const g = globalThis as unknown as { __sparcSlurmReads?: Map<string, PendingRead> };
    g.__sparcSlurmReads ??= new Map();
    const batches = g.__sparcSlurmReads;
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

/** Jobs of this user whose --comment is the ownership tag: squeue first, then (optionally) sacct. */
export async function findJobsByTag(inputs: SlurmJobInputs, withAccounting: boolean): Promise<JobStatus[]> {
    const user = inputs.connection.user;
    const ask = async () => {
        const squeue = await runRemote(inputs.connection, ["squeue", "-h", "-t", "all", "-u", user, "-o", SQUEUE_FORMAT]);
        if (squeue.code !== 0) {
            throw new SlurmCommandError("looking for an earlier submission of this job failed", squeue);
        }
        return parseSqueue(squeue.stdout);
    };
    // Concurrent creates share one in-flight query; after an ambiguous sbatch the answer must be our own.
    const queue = withAccounting ? await ask() : await sharedQuery(inputs, "squeue-user", 0, ask);
    const jobs = queue.filter((j) => j.comment === inputs.ownerTag);
    if (jobs.length > 0 || !withAccounting) {
        return jobs;
    }
    const sacct = await runRemote(inputs.connection, ["sacct", "-n", "-P", "-X", "-u", user, "-S", "now-1days", "-o", SACCT_FIELDS]);
    if (sacct.code !== 0) {
        throw new SlurmCommandError("looking for an earlier submission of this job in accounting failed", sacct);
    }
    return parseSacct(sacct.stdout).filter((j) => j.comment === inputs.ownerTag);
}

function statusFields(status: JobStatus): JobStatusFields {
    const { comment: _comment, source: _source, ...fields } = status;
    return fields;
}

/** StdOut/StdErr as slurmctld resolved them (patterns such as %j expanded). */
async function logPaths(inputs: SlurmJobInputs, jobId: string): Promise<{ stdoutPath: string; stderrPath: string }> {
    const shown = await runRemote(inputs.connection, ["scontrol", "show", "job", "-o", jobId]);
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(shown.stdout)?.[1] ?? "";
    return { stdoutPath: field("StdOut"), stderrPath: field("StdErr") };
}

/** Waits, politely (growing pauses, bounded), until the job reaches `waitFor` or ends. */
async function waitForState(inputs: SlurmJobInputs, jobId: string, initial: JobStatus | undefined): Promise<JobStatus | undefined> {
    let status = initial;
    if (inputs.waitFor === "submitted") {
        return status;
    }
    const deadline = Date.now() + inputs.waitTimeoutSeconds * 1000;
    let pause = Math.max(1, inputs.waitPollSeconds);
    let lastState = status?.state ?? "";
    const reached = (s: JobStatus | undefined) => s !== undefined &&
        (isTerminalState(s.state) || (inputs.waitFor === "running" && s.state === "RUNNING"));
    while (!reached(status)) {
        if (Date.now() + pause * 1000 > deadline) {
            return status;
        }
        await sleep(pause);
        pause = Math.min(120, pause * 1.5);
        status = await readJobBatched(inputs, jobId);
        const state = status?.state ?? "UNKNOWN";
        if (state !== lastState) {
            log(inputs.ownerTag, `job ${jobId}: ${lastState || "submitted"} -> ${state}${status?.reason ? ` (${status.reason})` : ""}`);
            lastState = state;
        }
    }
    return status;
}

/** Error that tells the engine the job exists but did not reach its goal: state keeps it, so destroy can cancel it. */
function initFailure(message: string, id: string, properties: Record<string, unknown>): Error {
    return Object.assign(new Error(message), { id, properties, reasons: [message] });
}

/** Submits once; after an ambiguous failure, looks for the job by its tag before submitting again. */
async function submitExactlyOnce(inputs: SlurmJobInputs, script: string): Promise<{ jobId: string; adopted: boolean }> {
    const argv = ["sbatch", "--parsable", `--comment=${inputs.ownerTag}`];
    for (let attempt = 1; attempt <= 3; attempt++) {
        let result: RemoteResult;
        try {
            result = await runRemote(inputs.connection, argv, { stdin: script, timeoutSeconds: 120 });
        } catch (err) {
            if (!(err instanceof AmbiguousRemoteError) || attempt === 3) {
                throw err;
            }
            log(inputs.ownerTag, `sbatch outcome unknown (${(err as Error).message}); looking for the job before submitting again`);
            await sleep(attempt * 2);
            const existing = await findJobsByTag(inputs, true);
            if (existing.length > 0) {
                return { jobId: existing[existing.length - 1].jobId, adopted: true };
            }
            continue;
        }
        if (result.code !== 0) {
            throw new SlurmCommandError("sbatch rejected the job", result);
        }
        return { jobId: parseSbatchParsable(result.stdout), adopted: false };
    }
    throw new Error("unreachable");
}

export const slurmJobProvider: pulumi.dynamic.ResourceProvider<SlurmJobInputs, SlurmJobOutputs> = {
    async check(_olds: SlurmJobInputs, news: SlurmJobInputs) {
        const inputs = normalizeInputs(news as unknown as Record<string, unknown>);
        const failures = validateJobInputs(inputs);
        // Asking the cluster during preview costs a login (a Duo prompt on HiPerGator): only on request.
        const known = !JSON.stringify(inputs).includes(UNKNOWN);
        if (failures.length === 0 && inputs.clusterChecks === "preview" && known) {
            failures.push(...await clusterFailures(inputs));
        }
        return { inputs, failures };
    },

    async diff(_id: string, olds: SlurmJobOutputs, news: SlurmJobInputs) {
        const d = diffJob(olds, news);
        if (d.replaces.length === 0 && renewalDue(olds, news, Date.now())) {
            // Rolling renewal (renewal.ts): the successor is created, RUNNING and ready before the old job is cancelled.
            return { changes: true, replaces: ["endsAt"], deleteBeforeReplace: false };
        }
        // A value not known until apply (preview) is a change of its field's kind.
        return {
            changes: d.replaces.length + d.scontrol.length + d.state.length > 0,
            replaces: d.replaces,
            // A service job holds GPUs: cancel the old one before submitting its replacement.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs: SlurmJobInputs) {
        const tag = inputs.ownerTag;
        let jobId: string;
        let predecessor: string | undefined;
        if (inputs.adoptJobId !== undefined && inputs.adoptJobId !== UNKNOWN) {
            jobId = inputs.adoptJobId;
            if (!(await queryJobs(inputs, [jobId])).has(jobId)) {
                throw new Error(`adoptJobId: job ${jobId} is known neither to squeue nor to sacct on ${inputs.connection.host}. ` +
                    "Check the id with `squeue -u $USER`, or remove adoptJobId to submit a new job.");
            }
            log(tag, `adopted job ${jobId} (adoptJobId)`);
        } else {
            // A job left by an interrupted earlier run carries our tag: adopt it instead of submitting twice.
            const tagged = (await findJobsByTag(inputs, false)).filter((j) => !isTerminalState(j.state));
            // A job due for renewal is the predecessor of this create, never adopted as its own successor.
            const { adoptable: live, predecessors } = await splitLiveJobs(inputs, tagged);
            predecessor = predecessors[0]?.jobId;
            if (live.length > 0) {
                jobId = live[live.length - 1].jobId;
                log(tag, `adopted running job ${jobId}, which already carries this resource's tag`);
            } else {
                if (inputs.clusterChecks !== "off") {
                    const failures = await clusterFailures(inputs);
                    if (failures.length > 0) {
                        throw new Error(`the cluster cannot run this job:\n  - ${failures.map((f) => `${f.property}: ${f.reason}`).join("\n  - ")}`);
                    }
                }
                const submitted = await submitExactlyOnce(inputs, renderBatchScript(inputs));
                jobId = submitted.jobId;
                log(tag, submitted.adopted ? `adopted job ${jobId} after an interrupted sbatch` : `submitted job ${jobId}`);
            }
        }
        let paths: { stdoutPath: string; stderrPath: string };
        let status: JobStatus | undefined;
        try {
            const first = await readJobBatched(inputs, jobId);
            paths = await logPaths(inputs, jobId);
            status = await waitForState(inputs, jobId, first);
        } catch (err) {
            if (predecessor !== undefined) {
                throw new Error(`renewal of job ${predecessor} failed: ${(err as Error).message}; ${await cancelFailedSuccessor(inputs, jobId)}`);
            }
            throw err;
        }
        const outs: SlurmJobOutputs = { ...STATUS_DEFAULTS, ...RENEWAL_OUTPUT_DEFAULTS, ...inputs, ...(status ? statusFields(status) : {}), jobId, ...paths };
        const goalMissed = inputs.waitFor === "running" ? status?.state !== "RUNNING"
            : inputs.waitFor === "completed" ? status?.state !== "COMPLETED" : false;
        let failure = "";
        if (goalMissed) {
            const ended = status !== undefined && isTerminalState(status.state);
            failure = `job ${jobId} did not reach ${inputs.waitFor.toUpperCase()}` +
                `${ended ? "" : ` within waitTimeoutSeconds (${inputs.waitTimeoutSeconds} s)`}: ` +
                `state ${status?.state ?? "unknown"}${status?.reason ? `, reason ${status.reason}` : ""}` +
                `${status?.exitCode ? `, exit code ${status.exitCode}` : ""}. Log: ${paths.stdoutPath || "(none)"}`;
        } else if (inputs.waitFor === "running") {
            try {
                Object.assign(outs, await checkRunningJob(inputs, jobId, status, paths.stdoutPath));
            } catch (err) {
                failure = (err as Error).message;
            }
        }
        if (failure !== "" && predecessor !== undefined) {
            // A renewal costs nothing on error: the successor goes, the old job (still in state) keeps serving.
            throw new Error(`renewal of job ${predecessor} failed: ${failure}; ${await cancelFailedSuccessor(inputs, jobId)}`);
        }
        if (failure !== "") {
            throw initFailure(failure, jobId, { ...(inputs as unknown as Record<string, unknown>), ...outs });
        }
        return { id: jobId, outs };
    },

    async read(id: string, props?: SlurmJobOutputs) {
        if (props === undefined || props.connection === undefined) {
            throw new Error("SlurmJob cannot be imported with `pulumi import`; use the adoptJobId input to take over an existing job.");
        }
        const status = await readJobBatched(props, id);
        if (status === undefined) {
            log(props.ownerTag, `job ${id} is known neither to squeue nor to sacct: removing it from state`);
            return { id: "" };
        }
        if (status.state !== props.state) {
            log(props.ownerTag, `job ${id}: ${props.state || "unknown"} -> ${status.state}`);
        }
        return { id, props: { ...props, ...statusFields(status) } };
    },

    async update(id: string, olds: SlurmJobOutputs, news: SlurmJobInputs) {
        const d = diffJob(olds, news);
        if (d.scontrol.length > 0 && !isTerminalState(olds.state)) {
            const result = await runRemote(news.connection, scontrolUpdateArgv(id, news, d.scontrol));
            if (result.code !== 0) {
                throw new SlurmCommandError(`changing ${d.scontrol.join(", ")} of job ${id} in place failed ` +
                    "(Slurm lets only operators raise a running job's time limit; lower it, or replace the job)", result);
            }
            log(news.ownerTag, `updated ${d.scontrol.join(", ")} of job ${id} in place`);
        }
        const status: Partial<SlurmJobOutputs> = {};
        for (const key of Object.keys(STATUS_DEFAULTS) as (keyof typeof STATUS_DEFAULTS)[]) {
            status[key] = olds[key] ?? "";
        }
        let checked: RenewalOutputs = { readyReport: olds.readyReport ?? "", endsAt: olds.endsAt ?? 0 };
        if (news.readyCheck !== undefined && (checked.readyReport ?? "") === "" && olds.state === "RUNNING") {
            // A job kept after failing its readiness check (init failure): checked again, so the outputs can name it.
            checked = await checkRunningJob(news, id, { ...olds, comment: "", source: "squeue" }, olds.stdoutPath);
        }
        return { outs: { ...STATUS_DEFAULTS, ...status, ...checked, ...news } as SlurmJobOutputs };
    },

    async delete(id: string, props: SlurmJobOutputs) {
        const tag = props.ownerTag;
        let status = await readJobBatched(props, id);
        if (status === undefined || isTerminalState(status.state)) {
            log(tag, `job ${id} already ${status?.state ?? "gone"}; nothing to cancel`);
            return;
        }
        if (props.cancelSignal !== "" && status.state === "RUNNING" && props.cancelGraceSeconds > 0) {
            const signal = await runRemote(props.connection, ["scancel", "--full", `--signal=${props.cancelSignal}`, id]);
            if (signal.code !== 0) {
                throw new SlurmCommandError(`sending ${props.cancelSignal} to job ${id} failed`, signal);
            }
            log(tag, `sent ${props.cancelSignal} to job ${id}; waiting up to ${props.cancelGraceSeconds} s for it to stop`);
            const graceEnd = Date.now() + props.cancelGraceSeconds * 1000;
            let pause = 1;
            while (Date.now() < graceEnd && status !== undefined && !isTerminalState(status.state)) {
                await sleep(Math.min(pause, Math.max(0.1, (graceEnd - Date.now()) / 1000)));
                pause = Math.min(10, pause * 2);
                status = await readJobBatched(props, id);
            }
        }
        if (status !== undefined && !isTerminalState(status.state)) {
            const cancel = await runRemote(props.connection, ["scancel", id]);
            if (cancel.code !== 0) {
                throw new SlurmCommandError(`cancelling job ${id} failed`, cancel);
            }
        }
        const deadline = Date.now() + props.deleteTimeoutSeconds * 1000;
        let pause = 1;
        while (status !== undefined && !isTerminalState(status.state)) {
            if (Date.now() > deadline) {
                throw new Error(`job ${id} was cancelled but is still ${status.state} after ${props.deleteTimeoutSeconds} s; ` +
                    "it stays in Pulumi state. Check `squeue -j " + id + "` and run `pulumi destroy` again.");
            }
            await sleep(pause);
            pause = Math.min(10, pause * 2);
            status = await readJobBatched(props, id);
        }
        log(tag, `job ${id} cancelled (${status?.state ?? "gone"})`);
    },
};

/** Scheduler load counters for benchmarks and tests. */
export function slurmStats(): { handshakes: number; commands: Record<string, number> } {
    return sshPool().stats;
}
