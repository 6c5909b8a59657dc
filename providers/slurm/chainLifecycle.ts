// The provider's side of a self-renewing chain (chain.ts): create lays out the chain directory and
// submits its first job (or adopts the chain's live job), read finds the chain's current job with one
// scheduler query, update rewrites the settings the chain reads at its next renewal, and delete stops
// the chain: stop marker first, then cancel every job of it, then look again until none is left.
import type { JobStatus, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { runRemote } from "../remote/remote";
import { isTerminalState } from "./parse";
import { nextPollPause } from "./polling";
import { renderBatchScript } from "./render";
import { parseJobComment, scriptHash } from "./ownership";
import { SlurmCommandError, findJobsByTag, log, sleep } from "./scheduler";
import { submitOnce } from "./submit";
import type { JournalRecord } from "./journal";
import {
    chainOutputs,
    chainPathOf,
    limitWarning,
    liveChainJobs,
    parseChainRead,
    selfRenewalWarning,
    prepareChainArgv,
    readChainArgv,
    renderChainScript,
    reportNames,
    stopArgv,
    writeSettingsArgv,
    type ChainView,
} from "./chain";

/** Reads the chain: ONE scheduler query (squeue of the user's jobs) and the chain directory's reports, in one remote command. */
export async function readChain(inputs: SlurmJobInputs, chainPath: string): Promise<ChainView> {
    const argv = readChainArgv(chainPath, inputs.connection.user);
    // Times as the parsers (and date -d) read them, whatever the login shell exports.
    const r = await runRemote(inputs.connection, ["env", "SLURM_TIME_FORMAT=standard", ...argv], { defaultTimeoutSeconds: 60 });
    if (r.code !== 0) {
        throw new SlurmCommandError("reading the chain's jobs failed", r);
    }
    return parseChainRead(r.stdout, chainPath);
}

/**
 * Before a chain's first job: this resource's live jobs (tag and nonce). Those of this chain (same
 * script) are adopted, the newest serving one first; those of another chain of this resource (a
 * replaced script an interrupted run left) are stopped, so one resource never has two chains.
 */
export async function adoptOrStopChains(inputs: SlurmJobInputs, hash: string): Promise<JobStatus | undefined> {
    const mine = inputs.ownerNonce ?? "";
    const live = (await findJobsByTag(inputs)).filter((j) => !isTerminalState(j.state) && parseJobComment(j.comment).nonce === mine);
    const others = new Set(live.filter((j) => parseJobComment(j.comment).scriptHash !== hash).map((j) => parseJobComment(j.comment).scriptHash));
    for (const other of others) {
        const path = chainPathOf(inputs, other);
        log(inputs.ownerTag, `stopping the chain of another script (hash ${other}) of this resource, left by an interrupted run`);
        await stopChain(inputs, path);
    }
    const ours = live.filter((j) => parseJobComment(j.comment).scriptHash === hash).sort((a, b) => Number(b.jobId) - Number(a.jobId));
    return ours.find((j) => j.state === "RUNNING") ?? ours[0];
}

/**
 * Submits a chain's first job: the chain directory laid out (script, comment, settings; stop marker
 * removed) just before sbatch, with the same script on stdin. Exactly once (submit.ts).
 */
export async function submitChain(
    inputs: SlurmJobInputs,
    clusterName: string,
): Promise<{ jobId: string; chainPath: string; adopted: boolean; journal?: JournalRecord }> {
    const hash = scriptHash(renderBatchScript(inputs));
    const chainPath = chainPathOf(inputs, hash);
    const existing = await adoptOrStopChains(inputs, hash);
    if (existing !== undefined) {
        log(inputs.ownerTag, `adopted job ${existing.jobId} (${existing.state}) of this resource's chain ${chainPath}`);
        return { jobId: existing.jobId, chainPath, adopted: true };
    }
    const script = renderChainScript(inputs, chainPath);
    const submitted = await submitOnce(inputs, script, hash, clusterName, async (comment) => {
        const r = await runRemote(inputs.connection, prepareChainArgv(chainPath, script, comment, inputs), { defaultTimeoutSeconds: 60 });
        if (r.code !== 0) {
            throw new SlurmCommandError(`preparing the chain directory ${chainPath} failed`, r);
        }
    });
    log(inputs.ownerTag, `submitted job ${submitted.jobId}, the first of chain ${chainPath}`);
    return { jobId: submitted.jobId, chainPath, adopted: submitted.adopted, journal: submitted.journal };
}

/** What `up` says about whether the chain can renew itself: the first job's probe (sbatch --test-only from inside the job). */
export async function selfRenewalReport(inputs: SlurmJobInputs, chainPath: string): Promise<string> {
    // The probe is the job's first step; readiness (already passed here) takes longer. A few short looks, no scheduler query.
    for (const pause of [0, 1, 2, 3]) {
        await sleep(pause);
        const r = await runRemote(inputs.connection, ["cat", "--", `${chainPath}/probe`], { defaultTimeoutSeconds: 30 });
        const probe = r.stdout.trim();
        if (r.code === 0 && probe !== "") {
            if (probe === "ok") {
                log(
                    inputs.ownerTag,
                    `this site lets a job submit jobs (sbatch --test-only from the job): the chain renews itself ${inputs.renewBeforeSeconds} s before each job's end`,
                );
            } else {
                log(inputs.ownerTag, selfRenewalWarning(inputs, probe));
            }
            return probe;
        }
    }
    return "";
}

/** refresh of a chain: the current job's fields, end and endpoint report; warnings for what needs a person. */
export async function readChainOutputs(props: SlurmJobOutputs, chainPath: string): Promise<SlurmJobOutputs | undefined> {
    const view = await readChain(props, chainPath);
    if (view.current === undefined) {
        return undefined;
    }
    const outs: SlurmJobOutputs = { ...props, ...chainOutputs(props, view), chainPath, selfRenewal: view.probe || (props.selfRenewal ?? "") };
    if (outs.jobId !== props.jobId) {
        log(props.ownerTag, `chain: job ${props.jobId} renewed itself; the chain's current job is ${outs.jobId} (${outs.state})`);
    }
    const live = liveChainJobs(view.jobs);
    if (live.length > 1) {
        log(props.ownerTag, `chain: ${live.length} live jobs (${live.map((j) => `${j.jobId} ${j.state}`).join(", ")}): a renewal is under way`);
    }
    const warning = limitWarning(view);
    if (warning !== "") {
        log(props.ownerTag, `WARNING: ${warning}`);
    }
    if (view.renewalFailed !== "" && view.renewalFailed === outs.jobId) {
        log(props.ownerTag, `WARNING: job ${outs.jobId} could not submit its successor (see its log); it serves until its end`);
    }
    // Not serving, or serving but the endpoint not yet switched to it: the next `up` waits and checks it (an update, never a replace).
    if (!isTerminalState(outs.state) && (outs.state !== "RUNNING" || !reportNames(view.report, outs.jobId))) {
        outs.goalPending = true;
    }
    return outs;
}

/** Rewrites the chain's settings (read at its next renewal) when one of them changed. */
export async function updateChainSettings(olds: SlurmJobOutputs, news: SlurmJobInputs, chainPath: string): Promise<void> {
    const keys = ["renewBeforeSeconds", "readyCheck", "chainPollSeconds", "readyTimeoutSeconds"] as const;
    if (keys.every((k) => olds[k] === news[k])) {
        return;
    }
    const r = await runRemote(news.connection, writeSettingsArgv(chainPath, news), { defaultTimeoutSeconds: 60 });
    if (r.code !== 0) {
        throw new SlurmCommandError(`rewriting the settings of chain ${chainPath} failed`, r);
    }
    log(news.ownerTag, `chain ${chainPath}: settings rewritten; its current job reads them at its renewal`);
}

/** Bound on the rounds of delete: each round cancels what the last look found, then looks again. */
const STOP_ROUNDS = 5;

/**
 * Ends the chain: the stop marker (no job submits a successor after it), then every live job of the
 * chain signalled, cancelled and waited for, then a fresh look: a job that was inside its sbatch
 * when the marker appeared may have made a successor, which that look finds. Done when a look finds none.
 */
export async function stopChain(props: SlurmJobInputs & Partial<SlurmJobOutputs>, chainPath: string): Promise<void> {
    const tag = props.ownerTag;
    const stop = await runRemote(props.connection, stopArgv(chainPath), { defaultTimeoutSeconds: 60 });
    if (stop.code !== 0) {
        throw new SlurmCommandError(`writing the stop marker of chain ${chainPath} failed; nothing was cancelled`, stop);
    }
    let cancelled: string[] = [];
    for (let round = 0; round < STOP_ROUNDS; round++) {
        const live = liveChainJobs((await readChain(props, chainPath)).jobs);
        if (live.length === 0) {
            log(tag, cancelled.length === 0 ? `chain ${chainPath}: no job left` : `chain ${chainPath} stopped: cancelled ${cancelled.join(", ")}; no job left`);
            return;
        }
        const ids = live.map((j) => j.jobId);
        const running = live.filter((j) => j.state === "RUNNING").map((j) => j.jobId);
        const signal = props.cancelSignal ?? "TERM";
        const grace = props.cancelGraceSeconds ?? 0;
        if (signal !== "" && grace > 0 && running.length > 0) {
            await runRemote(props.connection, ["scancel", "--full", `--signal=${signal}`, ...running], { defaultTimeoutSeconds: 60 });
            log(tag, `sent ${signal} to ${running.join(", ")}; waiting up to ${grace} s for them to stop`);
            await waitChainEnded(props, chainPath, ids, grace);
        }
        const r = await runRemote(props.connection, ["scancel", ...ids], { defaultTimeoutSeconds: 60 });
        if (r.code !== 0) {
            // scancel exits 1 when one of them ended meanwhile: the next look decides.
            log(tag, `scancel ${ids.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
        }
        cancelled = [...new Set([...cancelled, ...ids])];
        if (!(await waitChainEnded(props, chainPath, ids, props.deleteTimeoutSeconds ?? 300))) {
            throw new Error(
                `chain ${chainPath}: jobs ${ids.join(", ")} were cancelled but have not ended after ${props.deleteTimeoutSeconds} s; ` +
                    `the chain stays in Pulumi state (its stop marker is written). Check \`squeue -u ${props.connection.user}\` and run \`pulumi destroy\` again.`,
            );
        }
    }
    throw new Error(
        `chain ${chainPath}: jobs kept appearing after ${STOP_ROUNDS} rounds of cancelling; it stays in Pulumi state. Run \`pulumi destroy\` again.`,
    );
}

/** Waits (polling.ts's pauses, bounded) until none of `ids` is live; true when none is. */
async function waitChainEnded(props: SlurmJobInputs, chainPath: string, ids: readonly string[], seconds: number): Promise<boolean> {
    const started = Date.now();
    let pause = 1;
    for (;;) {
        const live = liveChainJobs((await readChain(props, chainPath)).jobs).filter((j) => ids.includes(j.jobId));
        if (live.length === 0) {
            return true;
        }
        const left = started + seconds * 1000 - Date.now();
        if (left <= 0) {
            return false;
        }
        await sleep(Math.min(pause, Math.max(0.2, left / 1000)));
        pause = nextPollPause(pause, (Date.now() - started) / 1000, 30);
    }
}
