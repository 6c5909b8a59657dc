// The SlurmJob dynamic provider: submits (sbatch), reads (squeue, then sacct)
// and cancels (scancel) one batch job over SSH, keeping the job in Pulumi state.
//
// State holds a shim that requires this package by name at each call (shim.ts), so
// refresh and destroy run the installed code. The methods still reach runtime
// libraries only through require() at call time (providers/remote), and nothing
// here captures credentials: they travel as (secret) inputs.
import type * as pulumi from "@pulumi/pulumi";
import type { JobStatus, JobStatusFields, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { renderBatchScript } from "./render";
import { diffJob, scontrolUpdateArgv } from "./fields";
import { AmbiguousRemoteError, connectionKey, runRemote, sshPool, type RemoteResult } from "../remote/remote";
import {
    SACCT_FIELDS, SINFO_FORMAT, SQUEUE_FORMAT, gpuTypesOf, isTerminalState, parseClusterName, parseSacct, parseSbatchParsable, parseSinfo, parseSqueue,
} from "./parse";
import { jobComment, newAttemptId, parseJobComment, scriptHash } from "./ownership";
import { nextPollPause } from "./polling";
import { SHIM_MARKER } from "./shim";
import { formatSlurmTime, parseSlurmTime } from "./time";
import { UNKNOWN, validateJobInputs } from "./validate";
import { RENEWAL_OUTPUT_DEFAULTS, cancelFailedSuccessor, checkRunningJob, renewalDue, splitLiveJobs } from "./renewal";

/**
 * Defaults applied in check(), so that state always holds every setting. Polling: the
 * first query of a wait comes after waitPollSeconds, pauses grow 1.5x (to 120 s while
 * waiting, 60 s while deleting), and once a wait passes a minute queries are at least
 * 10 s apart (polling.ts), as HiPerGator's scheduler policy asks.
 */
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
    clusterName: "",
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

/**
 * Jobs of this user whose --comment carries this resource's ownership tag (any script
 * hash, any attempt): squeue, and with `accountingSince` also sacct from that moment on
 * (needs AccountingStoreFlags=job_comment), for jobs slurmctld has already purged.
 */
export async function findJobsByTag(inputs: SlurmJobInputs, accountingSince?: number, enough?: (jobs: JobStatus[]) => boolean): Promise<JobStatus[]> {
    const user = inputs.connection.user;
    const ask = async () => {
        const squeue = await runRemote(inputs.connection, ["squeue", "-h", "-t", "all", "-u", user, "-o", SQUEUE_FORMAT], { timeoutSeconds: 60 });
        if (squeue.code !== 0) {
            throw new SlurmCommandError("looking for an earlier submission of this job failed", squeue);
        }
        return parseSqueue(squeue.stdout);
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
    const sacct = await runRemote(inputs.connection, ["sacct", "-n", "-P", "-X", "-u", user, "-S", `now-${minutes}minutes`, "-o", SACCT_FIELDS], { timeoutSeconds: 60 });
    if (sacct.code !== 0) {
        throw new SlurmCommandError("looking for an earlier submission of this job in accounting failed", sacct);
    }
    const known = new Set(jobs.map((j) => j.jobId));
    return [...jobs, ...parseSacct(sacct.stdout).filter((j) => ours(j) && !known.has(j.jobId))];
}

function statusFields(status: JobStatus): JobStatusFields {
    const { comment: _comment, source: _source, ...fields } = status;
    return fields;
}

/** ClusterName of the cluster a connection reaches (shared for 10 minutes per connection). */
export function clusterNameOf(inputs: SlurmJobInputs): Promise<string> {
    return sharedQuery(inputs, "cluster-name", 600_000, async () => {
        const shown = await runRemote(inputs.connection, ["scontrol", "show", "config"], { timeoutSeconds: 60 });
        if (shown.code !== 0) {
            throw new SlurmCommandError("reading the cluster's name (scontrol show config) failed", shown);
        }
        return parseClusterName(shown.stdout);
    });
}

/** StdOut/StdErr as slurmctld resolved them (patterns such as %j expanded). */
async function logPaths(inputs: SlurmJobInputs, jobId: string): Promise<{ stdoutPath: string; stderrPath: string }> {
    const shown = await runRemote(inputs.connection, ["scontrol", "show", "job", "-o", jobId], { timeoutSeconds: 60 });
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(shown.stdout)?.[1] ?? "";
    return { stdoutPath: field("StdOut"), stderrPath: field("StdErr") };
}

function goalReached(waitFor: SlurmJobInputs["waitFor"], state: string | undefined): boolean {
    return waitFor === "running" ? state === "RUNNING" : waitFor === "completed" ? state === "COMPLETED" : true;
}

/** Waits, politely (growing pauses, bounded; polling.ts), until the job reaches `waitFor` or ends. */
async function waitForState(inputs: SlurmJobInputs, jobId: string, initial: JobStatus | undefined): Promise<JobStatus | undefined> {
    let status = initial;
    if (inputs.waitFor === "submitted") {
        return status;
    }
    const started = Date.now();
    const deadline = started + inputs.waitTimeoutSeconds * 1000;
    let pause = Math.max(1, inputs.waitPollSeconds);
    let lastState = status?.state ?? "";
    const reached = (s: JobStatus | undefined) => s !== undefined &&
        (isTerminalState(s.state) || (inputs.waitFor === "running" && s.state === "RUNNING"));
    while (!reached(status)) {
        if (Date.now() + pause * 1000 > deadline) {
            return status;
        }
        await sleep(pause);
        status = await readJobBatched(inputs, jobId);
        pause = nextPollPause(pause, (Date.now() - started) / 1000, 120);
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

function isInitFailure(err: unknown): boolean {
    return typeof err === "object" && err !== null && typeof (err as { id?: unknown }).id === "string";
}

/** sbatch's outcome is unknown and the job could not be found: nothing is in state, nothing was submitted again. */
export class UnknownSubmissionError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UnknownSubmissionError";
    }
}

// sbatch's own messages when slurmctld may have taken the job but the reply was lost.
const SBATCH_MAYBE_SUBMITTED = /Socket timed out on send\/recv operation|Zero Bytes were transmitted or received|Connection reset by peer/;

/**
 * After sbatch's outcome became unknown: looks (a few times, seconds apart) for the job this
 * very attempt submitted, by the attempt id in its comment, so an older job with the same
 * tag (e.g. a 14-day job that timed out) is never taken for it. Never submits again.
 */
async function findThisAttempt(inputs: SlurmJobInputs, attempt: string, since: number, why: string): Promise<string> {
    log(inputs.ownerTag, `sbatch outcome unknown (${why}); looking for the job this attempt (${attempt}) submitted`);
    let lookupError: Error | undefined;
    for (const pause of [1, 3, 6]) {
        await sleep(pause);
        try {
            const ofAttempt = (jobs: JobStatus[]) => jobs.filter((j) => parseJobComment(j.comment).attempt === attempt);
            const mine = ofAttempt(await findJobsByTag(inputs, since, (jobs) => ofAttempt(jobs).length > 0));
            lookupError = undefined;
            if (mine.length > 0) {
                return mine[0].jobId;
            }
        } catch (err) {
            lookupError = err as Error;
        }
    }
    throw new UnknownSubmissionError(
        `sbatch's outcome is unknown (${why}) and ${lookupError === undefined ? "no job of this attempt was found"
            : `looking for it failed (${lookupError.message})`}. Nothing was submitted again and nothing is in state: ` +
        "the next `pulumi up` adopts a live job that carries this resource's tag and script, or submits one. " +
        `Check with \`squeue -u ${inputs.connection.user} -o '%i %T %k'\` (comment contains "attempt=${attempt}").`);
}

/**
 * Submits once. Reports the job id through `onId` as soon as one may exist, so any
 * later failure can carry it. An ambiguous outcome (connection lost, timeout, output
 * that is not a job id after exit 0) is settled by looking for this attempt's job.
 */
async function submitOnce(inputs: SlurmJobInputs, script: string, hash: string): Promise<{ jobId: string; adopted: boolean }> {
    const attempt = newAttemptId();
    const since = Date.now();
    const argv = ["sbatch", "--parsable", `--comment=${jobComment(inputs.ownerTag, hash, attempt)}`];
    let result: RemoteResult;
    try {
        result = await runRemote(inputs.connection, argv, { stdin: script, timeoutSeconds: 120 });
    } catch (err) {
        if (!(err instanceof AmbiguousRemoteError)) {
            throw err;
        }
        return { jobId: await findThisAttempt(inputs, attempt, since, err.message), adopted: true };
    }
    if (result.code !== 0) {
        if (SBATCH_MAYBE_SUBMITTED.test(result.stderr)) {
            return { jobId: await findThisAttempt(inputs, attempt, since, `sbatch exited ${result.code}: ${result.stderr.trim()}`), adopted: true };
        }
        throw new SlurmCommandError("sbatch rejected the job", result);
    }
    try {
        return { jobId: parseSbatchParsable(result.stdout), adopted: false };
    } catch (err) {
        // Exit 0 means slurmctld took the job: unreadable output (a site wrapper, a login
        // script that prints) hides its id but does not undo it.
        return { jobId: await findThisAttempt(inputs, attempt, since, (err as Error).message), adopted: true };
    }
}

/**
 * Before submitting: live jobs of an interrupted earlier run that carry this resource's tag.
 * The newest one running exactly this script is adopted; the others (another script, or
 * duplicates) are cancelled, each reported, so no GPU job is kept silently. Jobs due for
 * renewal (renewal.ts) are set apart first: the newest is this create's predecessor, which
 * the engine cancels once the successor is ready; none is adopted or cancelled here.
 */
async function adoptOrClear(inputs: SlurmJobInputs, hash: string): Promise<{ adopted?: string; predecessor?: string }> {
    const tagged = (await findJobsByTag(inputs)).filter((j) => !isTerminalState(j.state));
    const { adoptable: live, predecessors } = await splitLiveJobs(inputs, tagged);
    const byId = (a: JobStatus, b: JobStatus) => Number(b.jobId.replace(/\D.*$/, "")) - Number(a.jobId.replace(/\D.*$/, ""));
    // The job in state runs this script (a renewal replaces nothing else); older versions tagged without a hash.
    const predecessor = [...predecessors].sort((a, b) =>
        Number(parseJobComment(b.comment).scriptHash === hash) - Number(parseJobComment(a.comment).scriptHash === hash) || byId(a, b))[0]?.jobId;
    if (predecessor !== undefined) {
        log(inputs.ownerTag, `renewing job ${predecessor}, due to end within renewBeforeSeconds (${inputs.renewBeforeSeconds} s): it keeps running until its successor is ready`);
    }
    const matching = live.filter((j) => parseJobComment(j.comment).scriptHash === hash).sort(byId);
    const adopted = matching[0];
    for (const job of live.filter((j) => j !== adopted)) {
        const theirs = parseJobComment(job.comment).scriptHash;
        const why = theirs === hash ? "a duplicate of the same script" : `another script (hash ${theirs || "none"}, now ${hash})`;
        const cancel = await runRemote(inputs.connection, ["scancel", job.jobId], { timeoutSeconds: 60 });
        if (cancel.code !== 0) {
            throw new SlurmCommandError(`job ${job.jobId} carries this resource's tag but runs ${why}; cancelling it failed`, cancel);
        }
        log(inputs.ownerTag, `cancelled job ${job.jobId} (${job.state}), left by an interrupted earlier run: it carries this resource's tag but runs ${why}`);
    }
    if (adopted !== undefined) {
        log(inputs.ownerTag, `adopted job ${adopted.jobId} (${adopted.state}, submitted ${adopted.submitTime || "?"}, attempt ${parseJobComment(adopted.comment).attempt}), ` +
            "left by an interrupted earlier run: it carries this resource's tag and runs exactly this script");
    }
    return { adopted: adopted?.jobId, predecessor };
}

/**
 * Waits for the goal, then (waitFor "running") runs the readiness check and records the job's end
 * (renewal.ts); an init failure (keeping the job) when either fails. `renewing`: this job is a
 * renewal's successor, which the caller cancels on failure, so no retry is promised.
 */
async function settle(inputs: SlurmJobInputs, jobId: string, clusterName: string, base: Partial<SlurmJobOutputs>, first: JobStatus | undefined, renewing = false): Promise<SlurmJobOutputs> {
    const paths = base.stdoutPath !== undefined && base.stdoutPath !== "" ? { stdoutPath: base.stdoutPath, stderrPath: base.stderrPath ?? "" }
        : await logPaths(inputs, jobId);
    const status = await waitForState(inputs, jobId, first);
    const outs: SlurmJobOutputs = {
        ...STATUS_DEFAULTS, ...RENEWAL_OUTPUT_DEFAULTS, ...base, ...inputs, ...(status ? statusFields(status) : {}), jobId, clusterName, ...paths,
    };
    if (!goalReached(inputs.waitFor, status?.state)) {
        const ended = status !== undefined && isTerminalState(status.state);
        throw initFailure(
            `job ${jobId} did not reach ${inputs.waitFor.toUpperCase()}` +
            `${ended ? "" : ` within waitTimeoutSeconds (${inputs.waitTimeoutSeconds} s)`}: ` +
            `state ${status?.state ?? "unknown"}${status?.reason ? `, reason ${status.reason}` : ""}` +
            `${status?.exitCode ? `, exit code ${status.exitCode}` : ""}. Log: ${paths.stdoutPath || "(none)"}` +
            `${ended || renewing ? "" : ". The next `pulumi up` reads it again and waits once more"}`,
            jobId, { ...(inputs as unknown as Record<string, unknown>), ...outs });
    }
    if (inputs.waitFor === "running") {
        try {
            Object.assign(outs, await checkRunningJob(inputs, jobId, status, paths.stdoutPath));
        } catch (err) {
            // readyReport stays "": the next `up` (an update) runs the check again.
            const failed = { ...outs, readyReport: "" };
            throw initFailure((err as Error).message, jobId, { ...(inputs as unknown as Record<string, unknown>), ...failed });
        }
    }
    return outs;
}

/** Any failure once a job id exists keeps the job in state (an init failure carrying the id). */
function keepJob(err: unknown, jobId: string, inputs: SlurmJobInputs, extra: Partial<SlurmJobOutputs>): Error {
    if (isInitFailure(err)) {
        return err as Error;
    }
    const message = `job ${jobId} exists, but ${(err as Error).message}. It is kept in state: the next \`pulumi up\` reads it again, \`pulumi destroy\` cancels it`;
    return initFailure(message, jobId, { ...STATUS_DEFAULTS, ...(inputs as unknown as Record<string, unknown>), ...extra, jobId });
}

/** Polls until the job ends or `seconds` pass (polling.ts); the last status read. */
async function waitUntilEnded(props: SlurmJobOutputs, id: string, status: JobStatus | undefined, seconds: number): Promise<JobStatus | undefined> {
    const started = Date.now();
    let pause = 1;
    while (status !== undefined && !isTerminalState(status.state)) {
        const left = started + seconds * 1000 - Date.now();
        if (left <= 0) {
            break;
        }
        await sleep(Math.min(pause, Math.max(0.1, left / 1000)));
        status = await readJobBatched(props, id);
        pause = nextPollPause(pause, (Date.now() - started) / 1000, 60);
    }
    return status;
}

/**
 * scancel that accepts "the job already ended": it may end between our read and the cancel,
 * and `scancel --signal` then exits 1 ("Invalid job id specified"). Resolves undefined when
 * the cancel was sent, or the job's final status when it had already ended.
 */
export async function scancel(props: SlurmJobOutputs, id: string, argv: string[], what: string): Promise<JobStatus | undefined> {
    const result = await runRemote(props.connection, argv, { timeoutSeconds: 60 });
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
        // State written before the shim holds a frozen copy of the whole provider, which a no-op
        // up would keep forever: an update (never a replace) swaps in the shim.
        const stored = (olds as unknown as { __provider?: unknown }).__provider;
        const frozen = typeof stored === "string" && !stored.includes(SHIM_MARKER);
        if (d.replaces.length === 0 && renewalDue(olds, news, Date.now())) {
            // Rolling renewal (renewal.ts): the successor is created, RUNNING and ready before the old job is
            // cancelled. Only here is deleteBeforeReplace false; the successor gets the shim like any new job.
            return { changes: true, replaces: ["endsAt"], deleteBeforeReplace: false };
        }
        // A value not known until apply (preview) is a change of its field's kind.
        return {
            changes: frozen || d.replaces.length + d.scontrol.length + d.state.length > 0,
            replaces: d.replaces,
            // A service job holds GPUs: cancel the old one before submitting its replacement.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs: SlurmJobInputs) {
        const tag = inputs.ownerTag;
        const clusterName = await clusterNameOf(inputs);
        let jobId: string;
        let predecessor: string | undefined;
        if (inputs.adoptJobId !== undefined && inputs.adoptJobId !== UNKNOWN) {
            jobId = inputs.adoptJobId;
            if (!(await queryJobs(inputs, [jobId])).has(jobId)) {
                throw new Error(`adoptJobId: job ${jobId} is known neither to squeue nor to sacct on ${inputs.connection.host} (cluster ${clusterName}). ` +
                    "Check the id with `squeue -u $USER`, or remove adoptJobId to submit a new job.");
            }
            log(tag, `adopted job ${jobId} (adoptJobId)`);
        } else {
            const script = renderBatchScript(inputs);
            const hash = scriptHash(script);
            // A job due for renewal is the predecessor of this create: never adopted, never cancelled here.
            const earlier = await adoptOrClear(inputs, hash);
            predecessor = earlier.predecessor;
            if (earlier.adopted !== undefined) {
                jobId = earlier.adopted;
            } else {
                if (inputs.clusterChecks !== "off") {
                    const failures = await clusterFailures(inputs);
                    if (failures.length > 0) {
                        throw new Error(`the cluster cannot run this job:\n  - ${failures.map((f) => `${f.property}: ${f.reason}`).join("\n  - ")}`);
                    }
                }
                const submitted = await submitOnce(inputs, script, hash);
                jobId = submitted.jobId;
                log(tag, submitted.adopted ? `adopted job ${jobId}, which this attempt submitted (its reply was lost)` : `submitted job ${jobId}`);
            }
        }
        // From here on the job exists: every failure keeps it in state, except in a renewal, where
        // the successor is cancelled and the old job (still in state) keeps serving.
        try {
            const first = await readJobBatched(inputs, jobId);
            return { id: jobId, outs: await settle(inputs, jobId, clusterName, {}, first, predecessor !== undefined) };
        } catch (err) {
            if (predecessor !== undefined) {
                throw new Error(`renewal of job ${predecessor} failed: ${(err as Error).message}; ${await cancelFailedSuccessor(inputs, jobId)}`);
            }
            throw keepJob(err, jobId, inputs, { clusterName });
        }
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
        return { id, props: { ...STATUS_DEFAULTS, ...props, ...statusFields(status) } };
    },

    async update(id: string, olds: SlurmJobOutputs, news: SlurmJobInputs) {
        const d = diffJob(olds, news);
        const kept: Partial<SlurmJobOutputs> = {};
        for (const key of Object.keys(STATUS_DEFAULTS) as (keyof typeof STATUS_DEFAULTS)[]) {
            (kept as Record<string, string>)[key] = olds[key] ?? "";
        }
        kept.readyReport = olds.readyReport ?? "";
        kept.endsAt = olds.endsAt ?? 0;
        // The connection is only how the cluster is reached: a new spelling must reach the same cluster.
        let clusterName = olds.clusterName ?? "";
        if (clusterName === "" || d.state.some((k) => k.startsWith("connection."))) {
            const reached = await clusterNameOf(news);
            if (clusterName !== "" && reached !== clusterName) {
                throw new Error(`connection: ${news.connection.user}@${news.connection.host}:${news.connection.port ?? 22} reaches cluster ` +
                    `"${reached}", but job ${id} runs on cluster "${clusterName}". Point connection at a login node of "${clusterName}", ` +
                    "or, to move the job to the other cluster, run `pulumi up --replace <this resource's URN>`.");
            }
            clusterName = reached;
        }
        if (d.scontrol.length > 0 && !isTerminalState(olds.state)) {
            const result = await runRemote(news.connection, scontrolUpdateArgv(id, news, d.scontrol), { timeoutSeconds: 60 });
            if (result.code !== 0) {
                throw new SlurmCommandError(`changing ${d.scontrol.join(", ")} of job ${id} in place failed ` +
                    "(Slurm lets only operators raise a running job's time limit; lower it, or replace the job)", result);
            }
            log(news.ownerTag, `updated ${d.scontrol.join(", ")} of job ${id} in place`);
        }
        const outs = { ...STATUS_DEFAULTS, ...kept, ...news, jobId: olds.jobId || id, clusterName } as SlurmJobOutputs;
        // A job kept after failing its readiness check (an init failure) has no readyReport yet.
        const readinessPending = news.waitFor === "running" && news.readyCheck !== undefined && (olds.readyReport ?? "") === "";
        // olds.state "" : the last create failed before it could read the job.
        if (goalReached(news.waitFor, olds.state) && (olds.state ?? "") !== "" && !readinessPending) {
            return { outs };
        }
        // The last create (or update) ended before the goal (e.g. still PENDING after the wait) or
        // before the readiness check passed: read the job again, wait again and check again,
        // instead of reporting success unchecked.
        try {
            const status = await readJobBatched(news, id);
            if (status === undefined) {
                throw new Error(`job ${id} is known neither to squeue nor to sacct; run \`pulumi refresh\` to drop it, then \`pulumi up\` submits a new one`);
            }
            return { outs: await settle(news, id, clusterName, outs, status) };
        } catch (err) {
            throw keepJob(err, id, news, outs);
        }
    },

    async delete(id: string, props: SlurmJobOutputs) {
        const tag = props.ownerTag;
        let status = await readJobBatched(props, id);
        if (status === undefined || isTerminalState(status.state)) {
            log(tag, `job ${id} already ${status?.state ?? "gone"}; nothing to cancel`);
            return;
        }
        if (props.cancelSignal !== "" && status.state === "RUNNING" && props.cancelGraceSeconds > 0) {
            const ended = await scancel(props, id, ["scancel", "--full", `--signal=${props.cancelSignal}`, id], `sending ${props.cancelSignal} to`);
            if (ended !== undefined) {
                return;
            }
            log(tag, `sent ${props.cancelSignal} to job ${id}; waiting up to ${props.cancelGraceSeconds} s for it to stop`);
            status = await waitUntilEnded(props, id, status, props.cancelGraceSeconds);
        }
        if (status !== undefined && !isTerminalState(status.state)) {
            const ended = await scancel(props, id, ["scancel", id], "cancelling");
            if (ended !== undefined) {
                return;
            }
        }
        status = await waitUntilEnded(props, id, status, props.deleteTimeoutSeconds);
        if (status !== undefined && !isTerminalState(status.state)) {
            throw new Error(`job ${id} was cancelled but is still ${status.state} after ${props.deleteTimeoutSeconds} s; ` +
                "it stays in Pulumi state. Check `squeue -j " + id + "` and run `pulumi destroy` again.");
        }
        log(tag, `job ${id} cancelled (${status?.state ?? "gone"})`);
    },
};

/** Scheduler load counters for benchmarks and tests. */
export function slurmStats(): { handshakes: number; commands: Record<string, number> } {
    return sshPool().stats;
}
