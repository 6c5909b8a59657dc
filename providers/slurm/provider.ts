// The SlurmJob dynamic provider's resource lifecycle: check, diff, create (submit, wait, readiness),
// read, update and delete (signal, scancel, wait) of one batch job, kept in Pulumi state. What it
// asks Slurm is scheduler.ts; submitting exactly once is submit.ts; the SSH transport is providers/remote.
//
// State holds a shim that requires this package by name at each call (shim.ts), so
// refresh and destroy run the installed code. The methods still reach runtime
// libraries only through require() at call time (providers/remote), and nothing
// here captures credentials: they travel as (secret) inputs.
import type * as pulumi from "@pulumi/pulumi";
import type { JobStatus, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { renderBatchScript } from "./render";
import { diffJob, scontrolUpdateArgv } from "./fields";
import { connectionLabel, runRemote } from "../remote/remote";
import { isTerminalState } from "./parse";
import { isOwnerNonce, newOwnerNonce, scriptHash } from "./ownership";
import { nextPollPause, pendingLine } from "./polling";
import { jobMoved } from "./requeue";
import { engineCancelled, trackInFlight, watchEngineCancel } from "./cancellation";
import { QUICK_QUERIES_AFTER_EVENT, eventFileOf, waitForEvent } from "./markers";
import { journalRecord, type JournalRecord } from "./journal";
import { SHIM_MARKER } from "./shim";
import { validateJobInputs } from "./validate";
import { UNKNOWN } from "./validation";
import { RENEWAL_OUTPUT_DEFAULTS, checkRunningJob } from "./renewal";
import {
    STATUS_DEFAULTS,
    SlurmCommandError,
    accountingFailures,
    assertClusterCanRun,
    clusterFailures,
    clusterNameOf,
    jobLabel,
    log,
    logPaths,
    queryJobs,
    readJobBatched,
    scancel,
    sleep,
    statusFields,
} from "./scheduler";
import { adoptOrClear, submitOnce } from "./submit";
import { isChain } from "./chain";
import { readChainOutputs, selfRenewalReport, stopChain, submitChain, updateChainSettings } from "./chainLifecycle";
import { SLURM_JOB_DEFAULTS } from "./defaults";
import { otherMachineProblem } from "./machine";
import { newTailLines, withProgressScope } from "../remote/progress";

export { SLURM_JOB_DEFAULTS } from "./defaults";

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

function goalReached(waitFor: SlurmJobInputs["waitFor"], state: string | undefined): boolean {
    return waitFor === "running" ? state === "RUNNING" : waitFor === "completed" ? state === "COMPLETED" : true;
}

/**
 * Waits, politely (growing pauses, bounded; polling.ts), until the job reaches `waitFor` or ends.
 * Each poll of a pending job reports its reason and start estimate; a job waited for to complete
 * (the .sif build) reports its log's new last lines when logTailLines asks (progress.ts puts them under the resource).
 */
async function waitForState(inputs: SlurmJobInputs, jobId: string, initial: JobStatus | undefined, logPath = ""): Promise<JobStatus | undefined> {
    let status = initial;
    if (inputs.waitFor === "submitted") {
        return status;
    }
    const started = Date.now();
    const deadline = started + inputs.waitTimeoutSeconds * 1000;
    let pause = Math.max(1, inputs.waitPollSeconds);
    let lastState = status?.state ?? "";
    let shownTail: string[] = [];
    const report = async (s: JobStatus | undefined) => {
        if (s?.state === "PENDING") {
            log(inputs.ownerTag, pendingLine(jobId, s.reason, s.startTime, (Date.now() - started) / 1000, (deadline - Date.now()) / 1000));
        } else if (s?.state === "RUNNING" && inputs.waitFor === "completed" && (inputs.logTailLines ?? 0) > 0 && logPath !== "" && logPath !== "/dev/null") {
            shownTail = await reportLogTail(inputs, jobId, logPath, shownTail);
        }
    };
    const reached = (s: JobStatus | undefined) => s !== undefined && (isTerminalState(s.state) || (inputs.waitFor === "running" && s.state === "RUNNING"));
    if (!reached(status)) {
        await report(status);
    }
    // The job's event file (markers.ts): watched on the login node between queries until it appears.
    let eventFile = eventFileOf(inputs, jobId);
    let quick = 0;
    while (!reached(status)) {
        // A cancelled up (Ctrl-C) stops waiting at once: the caller returns the job as an init failure.
        const wait = quick > 0 ? 1 : pause;
        if (Date.now() + wait * 1000 > deadline || engineCancelled()) {
            return status;
        }
        const waited = await waitForEvent(inputs, eventFile, wait);
        if (waited.kind === "cancelled") {
            return status;
        }
        if (waited.kind === "event") {
            log(inputs.ownerTag, `job ${jobId} wrote ${eventFile}: asking the scheduler now`);
            // The job ends (or runs) right after writing it: a few quick queries, then the usual schedule.
            eventFile = undefined;
            quick = QUICK_QUERIES_AFTER_EVENT - 1;
        } else if (quick > 0) {
            quick -= 1;
        }
        status = await readJobBatched(inputs, jobId);
        if (quick === 0) {
            pause = nextPollPause(pause, (Date.now() - started) / 1000, 120);
        }
        const state = status?.state ?? "UNKNOWN";
        if (state !== lastState) {
            log(inputs.ownerTag, `job ${jobId}: ${lastState || "submitted"} -> ${state}${status?.reason ? ` (${status.reason})` : ""}`);
            lastState = state;
        }
        if (!reached(status)) {
            await report(status);
        }
    }
    return status;
}

/** Logs the lines of the job's log that are new since `shown` (one `tail -n`, never the whole log); returns the tail read. */
async function reportLogTail(inputs: SlurmJobInputs, jobId: string, logPath: string, shown: string[]): Promise<string[]> {
    try {
        const r = await runRemote(inputs.connection, ["tail", "-n", String(inputs.logTailLines ?? 0), "--", logPath], { defaultTimeoutSeconds: 30 });
        if (r.code !== 0) {
            return shown;
        }
        const current = r.stdout.split("\n").filter((l) => l.trim() !== "");
        const fresh = newTailLines(shown, current);
        if (fresh.length > 0) {
            log(inputs.ownerTag, `job ${jobId} log (${logPath}):\n${fresh.map((l) => `  ${l.slice(0, 300)}`).join("\n")}`);
        }
        return current;
    } catch {
        // Only a progress report: a failed read never fails the wait.
        return shown;
    }
}

/** Error that tells the engine the job exists but did not reach its goal: state keeps it, so destroy can cancel it. */
function initFailure(message: string, id: string, properties: Record<string, unknown>): Error {
    return Object.assign(new Error(message), { id, properties, reasons: [message] });
}

function isInitFailure(err: unknown): boolean {
    return typeof err === "object" && err !== null && typeof (err as { id?: unknown }).id === "string";
}

/**
 * Waits for the goal, then (waitFor "running") runs the readiness check and records the job's end
 * (renewal.ts); an init failure (keeping the job) when either fails.
 */
async function settle(
    inputs: SlurmJobInputs,
    jobId: string,
    clusterName: string,
    base: Partial<SlurmJobOutputs>,
    first: JobStatus | undefined,
): Promise<SlurmJobOutputs> {
    const paths =
        base.stdoutPath !== undefined && base.stdoutPath !== ""
            ? { stdoutPath: base.stdoutPath, stderrPath: base.stderrPath ?? "" }
            : await logPaths(inputs, jobId);
    const status = await waitForState(inputs, jobId, first, paths.stdoutPath);
    const outs: SlurmJobOutputs = {
        ...STATUS_DEFAULTS,
        ...RENEWAL_OUTPUT_DEFAULTS,
        ...base,
        ...inputs,
        ...(status ? statusFields(status) : {}),
        jobId,
        clusterName,
        ...paths,
        goalPending: false,
    };
    if (!goalReached(inputs.waitFor, status?.state)) {
        const ended = status !== undefined && isTerminalState(status.state);
        const why = ended ? "" : engineCancelled() ? " (the update was cancelled, Ctrl-C)" : ` within waitTimeoutSeconds (${inputs.waitTimeoutSeconds} s)`;
        throw initFailure(
            `job ${jobId} did not reach ${inputs.waitFor.toUpperCase()}${why}: ` +
                `state ${status?.state ?? "unknown"}${status?.reason ? `, reason ${status.reason}` : ""}` +
                `${status?.exitCode ? `, exit code ${status.exitCode}` : ""}. Log: ${paths.stdoutPath || "(none)"}` +
                `${ended ? "" : ". The next `pulumi up` reads it again and waits once more"}`,
            jobId,
            { ...(inputs as unknown as Record<string, unknown>), ...outs, goalPending: true },
        );
    }
    if (inputs.waitFor === "running") {
        try {
            Object.assign(outs, await checkRunningJob(inputs, jobId, status, paths.stdoutPath));
        } catch (err) {
            // readyReport stays "": the next `up` (an update) runs the check again.
            const failed = { ...outs, readyReport: "", goalPending: true };
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
    return initFailure(message, jobId, { ...STATUS_DEFAULTS, ...(inputs as unknown as Record<string, unknown>), ...extra, jobId, goalPending: true });
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

const lifecycle: Required<Omit<pulumi.dynamic.ResourceProvider<SlurmJobInputs, SlurmJobOutputs>, "configure">> = {
    async check(olds: SlurmJobInputs, news: SlurmJobInputs) {
        const inputs = normalizeInputs(news as unknown as Record<string, unknown>);
        // olds are the old inputs ({} for a new resource): a resource keeps its nonce for life.
        inputs.ownerNonce = isOwnerNonce(olds?.ownerNonce) ? olds.ownerNonce : newOwnerNonce();
        const failures = validateJobInputs(inputs);
        // Asking the cluster during preview costs a login (a Duo prompt on HiPerGator): only on request.
        const known = !JSON.stringify(inputs).includes(UNKNOWN);
        if (failures.length === 0 && inputs.clusterChecks === "preview" && known) {
            failures.push(...(await clusterFailures(inputs)));
        }
        return { inputs, failures };
    },

    async diff(_id: string, olds: SlurmJobOutputs, news: SlurmJobInputs) {
        const d = diffJob(olds, news);
        const chain = isChain(news) && (olds.chainPath ?? "") !== "";
        if (chain && d.scontrol.length > 0) {
            // A chain's jobs run the script in its directory: a new time limit or name is a new chain, not a scontrol of one job.
            d.replaces.push(...d.scontrol);
            d.scontrol = [];
        }
        // State written before the shim holds a frozen copy of the whole provider, which a no-op
        // up would keep forever: an update (never a replace) swaps in the shim.
        const stored = (olds as unknown as { __provider?: unknown }).__provider;
        const frozen = typeof stored === "string" && !stored.includes(SHIM_MARKER);
        // Renewal is the chain's own, on the cluster (chain.ts): diff never plans one, and the chain's
        // live job id changing is no change.
        // A value not known until apply (preview) is a change of its field's kind.
        // A job short of its goal (an init failure, or moved by a requeue) is waited for and checked
        // again by update: the marker is the provider's own, so a refresh does not erase it.
        const pending = olds.goalPending === true;
        return {
            changes: frozen || pending || d.replaces.length + d.scontrol.length + d.state.length > 0,
            replaces: d.replaces,
            // A service job holds GPUs: cancel the old one before submitting its replacement.
            deleteBeforeReplace: true,
        };
    },

    async create(inputs: SlurmJobInputs) {
        watchEngineCancel();
        const tag = inputs.ownerTag;
        const clusterName = await clusterNameOf(inputs);
        let jobId: string;
        let journal: JournalRecord | undefined;
        let chainPath: string | undefined;
        if (inputs.adoptJobId !== undefined && inputs.adoptJobId !== UNKNOWN) {
            jobId = inputs.adoptJobId;
            if (!(await queryJobs(inputs, [jobId])).has(jobId)) {
                throw new Error(
                    `adoptJobId: job ${jobId} is known neither to squeue nor to sacct on ${inputs.connection.host} (cluster ${clusterName}). ` +
                        "Check the id with `squeue -u $USER`, or remove adoptJobId to submit a new job.",
                );
            }
            log(tag, `adopted job ${jobId} (adoptJobId)`);
        } else if (isChain(inputs)) {
            if (inputs.clusterChecks !== "off") {
                await assertClusterCanRun(inputs);
            }
            if (inputs.clusterChecks !== "off") {
                // The same limits, already read: can the group hold a predecessor and its successor at once?
                for (const f of await accountingFailures(inputs, 2)) {
                    log(
                        tag,
                        `WARNING: the group's limits cannot hold two jobs of this chain at once (${f.property}: ${f.reason.replace(/; ask for at most.*$/, "")}): ` +
                            "each renewal's successor waits until its predecessor ends, which leaves a gap",
                    );
                }
            }
            if (engineCancelled()) {
                throw new Error("the update was cancelled (Ctrl-C) before the job was submitted: nothing was submitted");
            }
            const started = await submitChain(inputs, clusterName);
            jobId = started.jobId;
            journal = started.journal;
            chainPath = started.chainPath;
        } else {
            const script = renderBatchScript(inputs);
            const hash = scriptHash(script);
            const earlier = await adoptOrClear(inputs, hash);
            if (earlier.adopted !== undefined) {
                jobId = earlier.adopted;
                if (earlier.adoptedNonce) {
                    journal = journalRecord(inputs, earlier.adoptedNonce, earlier.adoptedAttempt || "adopted", jobId);
                }
            } else {
                if (inputs.clusterChecks !== "off") {
                    await assertClusterCanRun(inputs);
                }
                if (engineCancelled()) {
                    throw new Error("the update was cancelled (Ctrl-C) before the job was submitted: nothing was submitted");
                }
                const submitted = await submitOnce(inputs, script, hash, clusterName);
                jobId = submitted.jobId;
                journal = submitted.journal;
                log(tag, submitted.adopted ? `adopted job ${jobId}, which this attempt submitted (its reply was lost)` : `submitted job ${jobId}`);
            }
        }
        // From here on the job exists: every failure keeps it in state. Until this call returns, a
        // terminated up would leave it in no state: cancellation.ts cancels it then.
        const returned = trackInFlight(jobId, inputs, () => journal?.forget());
        try {
            const first = await readJobBatched(inputs, jobId);
            const base: Partial<SlurmJobOutputs> = chainPath === undefined ? {} : { chainPath, selfRenewal: "" };
            const outs = await settle(inputs, jobId, clusterName, base, first);
            if (chainPath !== undefined) {
                outs.selfRenewal = await selfRenewalReport(inputs, chainPath);
            }
            return { id: jobId, outs };
        } catch (err) {
            // A chain kept as an init failure keeps its directory in state: destroy stops the chain, not only this job.
            throw keepJob(err, jobId, inputs, chainPath === undefined ? { clusterName } : { clusterName, chainPath, selfRenewal: "" });
        } finally {
            returned();
            journal?.forget();
        }
    },

    async read(id: string, props?: SlurmJobOutputs) {
        if (props === undefined || props.connection === undefined) {
            throw new Error("SlurmJob cannot be imported with `pulumi import`; use the adoptJobId input to take over an existing job.");
        }
        if ((props.chainPath ?? "") !== "") {
            // The resource is the chain: its id stays the first job's, jobId follows the chain's current job.
            const outs = await readChainOutputs(props, props.chainPath as string);
            if (outs !== undefined) {
                return { id, props: outs };
            }
            // slurmctld no longer knows any job of the chain: the last one, from accounting.
        }
        const last = props.jobId || id;
        const status = await readJobBatched(props, last);
        if (status === undefined) {
            log(props.ownerTag, `job ${last} is known neither to squeue nor to sacct: removing it from state`);
            return { id: "" };
        }
        if (status.state !== props.state) {
            log(props.ownerTag, `job ${id}: ${props.state || "unknown"} -> ${status.state}`);
        }
        const moved = jobMoved(props, status);
        if (moved !== "") {
            // A requeued job keeps its id but starts again, maybe elsewhere: what readiness found no longer
            // holds. The marker makes the next `up` wait for it and check it again (an update, never a replace).
            log(props.ownerTag, `job ${id} ${moved}: the next \`pulumi up\` waits for it and checks it again`);
            return { id, props: { ...STATUS_DEFAULTS, ...props, ...statusFields(status), readyReport: "", endsAt: 0, goalPending: true } };
        }
        return { id, props: { ...STATUS_DEFAULTS, ...props, ...statusFields(status) } };
    },

    async update(id: string, olds: SlurmJobOutputs, news: SlurmJobInputs) {
        watchEngineCancel();
        const d = diffJob(olds, news);
        const kept: Partial<SlurmJobOutputs> = {};
        for (const key of Object.keys(STATUS_DEFAULTS) as (keyof typeof STATUS_DEFAULTS)[]) {
            (kept as Record<string, string>)[key] = olds[key] ?? "";
        }
        kept.readyReport = olds.readyReport ?? "";
        kept.endsAt = olds.endsAt ?? 0;
        const chainPath = olds.chainPath ?? "";
        if (chainPath !== "") {
            kept.chainPath = chainPath;
            kept.selfRenewal = olds.selfRenewal ?? "";
            await updateChainSettings(olds, news, chainPath);
        }
        // A chain's id is its first job's; the job to act on is its current one.
        const live = olds.jobId || id;
        // The connection is only how the cluster is reached: a new spelling must reach the same cluster.
        let clusterName = olds.clusterName ?? "";
        if (clusterName === "" || d.state.some((k) => k.startsWith("connection."))) {
            const reached = await clusterNameOf(news);
            if (clusterName !== "" && reached !== clusterName) {
                throw new Error(
                    `connection: ${connectionLabel(news.connection)} reaches cluster ` +
                        `"${reached}", but job ${id} runs on cluster "${clusterName}". Point connection at a login node of "${clusterName}", ` +
                        "or, to move the job to the other cluster, run `pulumi up --replace <this resource's URN>`.",
                );
            }
            clusterName = reached;
        }
        if (d.scontrol.length > 0 && !isTerminalState(olds.state)) {
            const result = await runRemote(news.connection, scontrolUpdateArgv(live, news, d.scontrol), { defaultTimeoutSeconds: 60 });
            if (result.code !== 0) {
                throw new SlurmCommandError(
                    `changing ${d.scontrol.join(", ")} of job ${live} in place failed ` +
                        "(Slurm lets only operators raise a running job's time limit; lower it, or replace the job)",
                    result,
                );
            }
            log(news.ownerTag, `updated ${d.scontrol.join(", ")} of job ${live} in place`);
        }
        const outs = { ...STATUS_DEFAULTS, ...kept, ...news, jobId: live, clusterName, goalPending: false } as SlurmJobOutputs;
        // A job kept after failing its readiness check (an init failure) has no readyReport yet.
        const readinessPending = news.waitFor === "running" && news.readyCheck !== undefined && (olds.readyReport ?? "") === "";
        // olds.state "" : the last create failed before it could read the job.
        if (goalReached(news.waitFor, olds.state) && (olds.state ?? "") !== "" && !readinessPending && olds.goalPending !== true) {
            return { outs };
        }
        // The last create (or update) ended before the goal (e.g. still PENDING after the wait) or
        // before the readiness check passed: read the job again, wait again and check again,
        // instead of reporting success unchecked.
        try {
            const status = await readJobBatched(news, live);
            if (status === undefined) {
                throw new Error(`job ${live} is known neither to squeue nor to sacct; run \`pulumi refresh\` to drop it, then \`pulumi up\` submits a new one`);
            }
            return { outs: await settle(news, live, clusterName, outs, status) };
        } catch (err) {
            throw keepJob(err, live, news, outs);
        }
    },

    async delete(id: string, props: SlurmJobOutputs) {
        const elsewhere = otherMachineProblem(props.connection, `cancelling job ${id}`);
        if (elsewhere !== undefined) {
            throw new Error(elsewhere);
        }
        const tag = props.ownerTag;
        if ((props.chainPath ?? "") !== "") {
            await stopChain(props, props.chainPath as string);
            return;
        }
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
            throw new Error(
                `job ${id} was cancelled but is still ${status.state} after ${props.deleteTimeoutSeconds} s; ` +
                    "it stays in Pulumi state. Check `squeue -j " +
                    id +
                    "` and run `pulumi destroy` again.",
            );
        }
        log(tag, `job ${id} cancelled (${status?.state ?? "gone"})`);
    },
};

/**
 * The provider, each method run in its resource's progress scope (progress.ts): its lines, and the
 * login it may start, appear under that resource in `pulumi up`.
 */
export const slurmJobProvider: pulumi.dynamic.ResourceProvider<SlurmJobInputs, SlurmJobOutputs> = {
    check: (olds, news) => withProgressScope(news, jobLabel(news.ownerTag), () => lifecycle.check(olds, news)),
    diff: (id, olds, news) => lifecycle.diff(id, olds, news),
    create: (inputs) => withProgressScope(inputs, jobLabel(inputs.ownerTag), () => lifecycle.create(inputs)),
    read: (id, props) => withProgressScope(props, jobLabel(props?.ownerTag ?? id), () => lifecycle.read(id, props)),
    update: (id, olds, news) => withProgressScope(news, jobLabel(news.ownerTag), () => lifecycle.update(id, olds, news)),
    delete: (id, props) => withProgressScope(props, jobLabel(props.ownerTag), () => lifecycle.delete(id, props)),
};
