// Submitting a SlurmJob exactly once: sbatch with an attempt id in --comment, an ambiguous outcome
// (connection lost, lost reply) settled by looking for that attempt's job instead of submitting
// again, and the jobs of an interrupted earlier run adopted or cancelled before a new submit.
import type { JobStatus, SlurmJobInputs } from "./types";
import { AmbiguousRemoteError, runRemote, type RemoteResult } from "../remote/remote";
import { isTerminalState, parseSbatchParsable } from "./parse";
import { jobComment, newAttemptId, parseJobComment } from "./ownership";
import { journalLeftovers, journalRecord, type JournalRecord } from "./journal";
import { SlurmCommandError, findJobsByTag, log, sleep } from "./scheduler";

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
        `sbatch's outcome is unknown (${why}) and ${
            lookupError === undefined ? "no job of this attempt was found" : `looking for it failed (${lookupError.message})`
        }. Nothing was submitted again and nothing is in state: ` +
            "the next `pulumi up` adopts a live job that carries this resource's tag and script, or submits one. " +
            `Check with \`squeue -u ${inputs.connection.user} -o '%i %T %k'\` (comment contains "attempt=${attempt}").`,
    );
}

/**
 * Submits once, to `clusterName` (the login node's own cluster). An ambiguous outcome (connection lost, timeout, output
 * that is not a job id after exit 0) is settled by looking for this attempt's job.
 */
export async function submitOnce(
    inputs: SlurmJobInputs,
    script: string,
    hash: string,
    clusterName: string,
    prepare?: (comment: string) => Promise<void>,
): Promise<{ jobId: string; adopted: boolean; journal: JournalRecord | undefined }> {
    const attempt = newAttemptId();
    const since = Date.now();
    const nonce = inputs.ownerNonce ?? "";
    const comment = jobComment(inputs.ownerTag, hash, attempt, nonce);
    const argv = ["sbatch", "--parsable", `--comment=${comment}`];
    // A chain's directory (chain.ts) holds the comment its jobs give their successors: written before the first sbatch.
    await prepare?.(comment);
    // Before sbatch: a process killed from here on leaves the next create of this resource the job's nonce (journal.ts).
    const journal = nonce === "" ? undefined : journalRecord(inputs, nonce, attempt);
    const found = async (why: string) => {
        const jobId = await findThisAttempt(inputs, attempt, since, why);
        journal?.setJob(jobId);
        return { jobId, adopted: true, journal };
    };
    let result: RemoteResult;
    try {
        result = await runRemote(inputs.connection, argv, { stdin: script, defaultTimeoutSeconds: 120 });
    } catch (err) {
        if (!(err instanceof AmbiguousRemoteError)) {
            journal?.forget();
            throw err;
        }
        return found(err.message);
    }
    if (result.code !== 0) {
        if (SBATCH_MAYBE_SUBMITTED.test(result.stderr)) {
            return found(`sbatch exited ${result.code}: ${result.stderr.trim()}`);
        }
        journal?.forget();
        throw new SlurmCommandError("sbatch rejected the job", result);
    }
    let reply: { jobId: string; cluster: string };
    try {
        reply = parseSbatchParsable(result.stdout);
    } catch (err) {
        // Exit 0 means slurmctld took the job: unreadable output (a site wrapper, a login
        // script that prints) hides its id but does not undo it.
        return found((err as Error).message);
    }
    if (reply.cluster !== "" && reply.cluster !== clusterName) {
        journal?.forget(); // cancelled on the other cluster (or named in the error): nothing of ours to find here
        throw await foreignClusterError(inputs, reply, clusterName);
    }
    journal?.setJob(reply.jobId);
    return { jobId: reply.jobId, adopted: false, journal };
}

/**
 * sbatch answered "1234;other": the job went to another cluster (SBATCH_CLUSTERS in the login
 * environment, or a wrapper adding --clusters), where squeue on this login node never sees it.
 * It is cancelled there rather than left running untracked.
 */
async function foreignClusterError(inputs: SlurmJobInputs, reply: { jobId: string; cluster: string }, clusterName: string): Promise<Error> {
    const cancel = await runRemote(inputs.connection, ["scancel", "-M", reply.cluster, reply.jobId], { defaultTimeoutSeconds: 60 });
    const cancelled =
        cancel.code === 0
            ? "It was cancelled."
            : `Cancelling it failed (${cancel.stderr.trim() || `exit ${cancel.code}`}): cancel it with \`scancel -M ${reply.cluster} ${reply.jobId}\`.`;
    return new Error(
        `sbatch submitted job ${reply.jobId} to cluster "${reply.cluster}", not to "${clusterName}", the cluster of ${inputs.connection.host} ` +
            "(SBATCH_CLUSTERS set by the login shell, or an sbatch wrapper adding --clusters); SlurmJob tracks jobs of the login node's own cluster only. " +
            `${cancelled} Unset SBATCH_CLUSTERS in ${inputs.connection.user}'s login files, or point connection at a login node of "${reply.cluster}".`,
    );
}

/**
 * Before submitting: live jobs of an interrupted earlier run that carry this resource's tag.
 * The newest one running exactly this script is adopted; the others (another script, or
 * duplicates) are cancelled, each reported, so no GPU job is kept silently.
 */
export async function adoptOrClear(inputs: SlurmJobInputs, hash: string): Promise<{ adopted?: string; adoptedNonce?: string; adoptedAttempt?: string }> {
    const tagged = (await findJobsByTag(inputs)).filter((j) => !isTerminalState(j.state));
    // The tag names a project/stack/resource, which another state may share: only jobs with this
    // resource's nonce are ours to adopt or cancel, and those a create of it on this machine
    // journaled before it was killed (journal.ts). A job of a version before the nonce (none in
    // its comment) is never touched here.
    const mine = inputs.ownerNonce ?? "";
    const leftovers = journalLeftovers(inputs);
    const ours = new Set([mine, ...leftovers.entries.map((e) => e.nonce)]);
    const nonceOf = (j: JobStatus) => parseJobComment(j.comment).nonce;
    const live = tagged.filter((j) => ours.has(nonceOf(j)));
    for (const job of tagged.filter((j) => !ours.has(nonceOf(j)))) {
        log(
            inputs.ownerTag,
            `left job ${job.jobId} (${job.state}) alone: it carries this resource's tag but ${
                nonceOf(job) === "" ? "no nonce (submitted by an older version)" : `another state's nonce (${nonceOf(job)})`
            }, and this state's is ${mine}. If no state of yours holds it, cancel it with \`scancel ${job.jobId}\``,
        );
    }
    const byId = (a: JobStatus, b: JobStatus) => Number(b.jobId.replace(/\D.*$/, "")) - Number(a.jobId.replace(/\D.*$/, ""));
    const matching = live.filter((j) => parseJobComment(j.comment).scriptHash === hash).sort(byId);
    const adopted = matching[0];
    for (const job of live.filter((j) => j !== adopted)) {
        const theirs = parseJobComment(job.comment).scriptHash;
        const why = theirs === hash ? "a duplicate of the same script" : `another script (hash ${theirs || "none"}, now ${hash})`;
        const cancel = await runRemote(inputs.connection, ["scancel", job.jobId], { defaultTimeoutSeconds: 60 });
        if (cancel.code !== 0) {
            throw new SlurmCommandError(`job ${job.jobId} carries this resource's tag but runs ${why}; cancelling it failed`, cancel);
        }
        log(inputs.ownerTag, `cancelled job ${job.jobId} (${job.state}), left by an interrupted earlier run: it carries this resource's tag but runs ${why}`);
    }
    if (adopted !== undefined) {
        const journaled = nonceOf(adopted) !== mine ? ` (journaled on this machine by a create killed before its id reached the state)` : "";
        log(
            inputs.ownerTag,
            `adopted job ${adopted.jobId} (${adopted.state}, submitted ${adopted.submitTime || "?"}, attempt ${parseJobComment(adopted.comment).attempt}), ` +
                `left by an interrupted earlier run${journaled}: it carries this resource's tag and runs exactly this script`,
        );
    }
    // Handled: adopted (this create journals it again), cancelled, or ended.
    leftovers.forget();
    return {
        adopted: adopted?.jobId,
        adoptedNonce: adopted === undefined ? undefined : nonceOf(adopted),
        adoptedAttempt: adopted === undefined ? undefined : parseJobComment(adopted.comment).attempt,
    };
}
