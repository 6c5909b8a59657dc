// Rolling renewal and the in-create readiness check of a long-lived (service) SlurmJob.
//
// A service job ends at its time limit. With renewBeforeSeconds set, an `up` that finds the job
// within that many seconds of its end replaces it create-before-delete: the successor is submitted
// while the old job still serves, waited for until RUNNING and ready (readyCheck), and only then
// does the engine delete (cancel) the old job. A successor that fails is cancelled here and the
// create fails with a plain error, so the engine keeps the old job as it was.
//
// Runtime libraries only through the SSH module's require()s at call time (providers/remote).
import type { JobStatus, RenewalOutputs, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { runRemote } from "../remote/remote";
import { isTerminalState } from "./parse";
import { nextPollPause } from "./polling";
import { SLURM_JOB_OPTIONAL_DEFAULTS } from "./defaults";

export const RENEWAL_OUTPUT_DEFAULTS: RenewalOutputs = { readyReport: "", endsAt: 0 };

/**
 * True when the recorded job is RUNNING and within renewBeforeSeconds of its end (by the state's
 * endsAt: no scheduler query, so preview shows the renewal too). Off when renewBeforeSeconds is 0.
 */
export function renewalDue(olds: Partial<SlurmJobOutputs>, news: Partial<SlurmJobInputs>, nowMs: number): boolean {
    const before = news.renewBeforeSeconds ?? SLURM_JOB_OPTIONAL_DEFAULTS.renewBeforeSeconds;
    const endsAt = olds.endsAt ?? 0;
    return before > 0 && olds.state === "RUNNING" && endsAt > 0 && endsAt - nowMs / 1000 <= before;
}

/**
 * Seconds each job has left, by the cluster's clock (squeue prints times in the cluster's zone, which
 * this machine may not share): one remote `date` call, no scheduler query.
 */
export async function secondsLeft(inputs: SlurmJobInputs, jobs: readonly Pick<JobStatus, "jobId" | "endTime">[]): Promise<Map<string, number>> {
    const script = 'now=$(date +%s); for t in "$@"; do echo $(( $(date -d "$t" +%s 2>/dev/null || echo 0) - now )); done';
    const result = await runRemote(inputs.connection, ["bash", "-c", script, "seconds-left", ...jobs.map((j) => j.endTime || "never")]);
    const lines = result.stdout.trim().split("\n");
    const left = new Map<string, number>();
    jobs.forEach((j, i) => {
        const value = Number(lines[i]);
        // An unreadable end (e.g. "Unknown") counts as far away: such a job is never renewed by mistake.
        left.set(j.jobId, result.code === 0 && Number.isFinite(value) && j.endTime !== "" && !/^(Unknown|N\/A|None)$/.test(j.endTime) ? value : Infinity);
    });
    return left;
}

/**
 * diff decides "due" by the state's endsAt and this machine's clock; create by the cluster's clock.
 * create counts a job as due this much earlier, so a job diff renews is never taken (adopted) as
 * its own successor, which the engine would then cancel as the old job.
 */
export const RENEWAL_CLOCK_SLACK_SECONDS = 60;

/**
 * Splits this resource's live jobs into those create may adopt (left by an interrupted run) and
 * predecessors: jobs due for renewal, which must never be adopted as their own successor.
 */
export async function splitLiveJobs(inputs: SlurmJobInputs, live: readonly JobStatus[]): Promise<{ adoptable: JobStatus[]; predecessors: JobStatus[] }> {
    const before = inputs.renewBeforeSeconds ?? SLURM_JOB_OPTIONAL_DEFAULTS.renewBeforeSeconds;
    if (before <= 0 || live.length === 0) {
        return { adoptable: [...live], predecessors: [] };
    }
    const left = await secondsLeft(inputs, live);
    const due = (j: JobStatus) => j.state === "RUNNING" && (left.get(j.jobId) ?? Infinity) <= before + RENEWAL_CLOCK_SLACK_SECONDS;
    return { adoptable: live.filter((j) => !due(j)), predecessors: live.filter(due) };
}

/**
 * After the job is RUNNING: its end by the cluster's clock, and the readiness check when there is one.
 * One remote command. Throws with the check's stderr (its reasons; never its stdout) when the check fails.
 */
export async function checkRunningJob(inputs: SlurmJobInputs, jobId: string, status: JobStatus | undefined, logPath: string): Promise<RenewalOutputs> {
    const endTime = status?.endTime ?? "";
    if (inputs.readyCheck === undefined) {
        if ((inputs.renewBeforeSeconds ?? SLURM_JOB_OPTIONAL_DEFAULTS.renewBeforeSeconds) <= 0) {
            return { ...RENEWAL_OUTPUT_DEFAULTS };
        }
        const left = await secondsLeft(inputs, [{ jobId, endTime }]);
        const seconds = left.get(jobId) ?? Infinity;
        return { readyReport: "", endsAt: Number.isFinite(seconds) ? Math.round(Date.now() / 1000 + seconds) : 0 };
    }
    const timeout = inputs.readyTimeoutSeconds ?? SLURM_JOB_OPTIONAL_DEFAULTS.readyTimeoutSeconds;
    const result = await runRemote(inputs.connection, ["bash", "-c", inputs.readyCheck, "ready-check", jobId, logPath, endTime], {
        timeoutSeconds: timeout + 60,
    });
    if (result.code !== 0) {
        // The error is printed and kept in state (initErrors): only the check's stderr, its reasons. Its
        // stdout may carry what the service or the job printed (a /health body, a token), never shown.
        throw new Error(`job ${jobId} is RUNNING but not ready: ${result.stderr.trim() || `readiness check exited ${result.code}`}`);
    }
    const last = result.stdout.trim().split("\n").pop() ?? "";
    let endsAt = 0;
    try {
        const parsed = JSON.parse(last) as { endsAt?: unknown };
        endsAt = typeof parsed.endsAt === "number" ? parsed.endsAt : 0;
    } catch {
        endsAt = 0;
    }
    return { readyReport: last, endsAt };
}

/**
 * Cancels a successor that failed, so that the old job stays the only one, and waits (bounded)
 * until Slurm has ended it. Never throws: the failure being reported matters more.
 */
export async function cancelFailedSuccessor(inputs: SlurmJobInputs, jobId: string): Promise<string> {
    try {
        const cancel = await runRemote(inputs.connection, ["scancel", jobId]);
        if (cancel.code !== 0) {
            return `cancelling the failed successor ${jobId} failed (${cancel.stderr.trim()}); cancel it with \`scancel ${jobId}\``;
        }
        const started = Date.now();
        const deadline = started + inputs.deleteTimeoutSeconds * 1000;
        let pause = 1;
        while (Date.now() < deadline) {
            const q = await runRemote(inputs.connection, ["squeue", "-h", "-t", "all", "-j", jobId, "-o", "%T"]);
            const state = q.stdout.trim();
            if (q.code !== 0 || state === "" || isTerminalState(state)) {
                return `the successor ${jobId} was cancelled; the old job keeps serving`;
            }
            await new Promise((r) => setTimeout(r, pause * 1000));
            // The scheduler-polling policy of every other wait (polling.ts).
            pause = nextPollPause(pause, (Date.now() - started) / 1000, 60);
        }
        return `the successor ${jobId} was cancelled but had not ended after ${inputs.deleteTimeoutSeconds} s`;
    } catch (err) {
        return `cancelling the failed successor ${jobId} failed (${(err as Error).message}); cancel it with \`scancel ${jobId}\``;
    }
}
