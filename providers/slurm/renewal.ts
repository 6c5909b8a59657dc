// The in-create readiness check of a long-lived (service) SlurmJob, and the job's end it records.
//
// Renewal itself is the chain's, on the cluster (chain.ts): with renewBeforeSeconds and chainDir,
// each job submits its successor and hands over. The renewal by `pulumi up` of 0.1.0 (a
// create-before-delete replacement planned by diff) was removed in 0.2.0: it was a second
// mechanism, and it cancelled a successor after a fixed wait.
//
// Runtime libraries only through the SSH module's require()s at call time (providers/remote).
import type { JobStatus, RenewalOutputs, SlurmJobInputs } from "./types";
import { runRemote } from "../remote/remote";
import { SLURM_JOB_OPTIONAL_DEFAULTS } from "./defaults";

export const RENEWAL_OUTPUT_DEFAULTS: RenewalOutputs = { readyReport: "", endsAt: 0 };

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
        // An unreadable end (e.g. "Unknown") counts as far away: no end is recorded for it (endsAt 0).
        left.set(j.jobId, result.code === 0 && Number.isFinite(value) && j.endTime !== "" && !/^(Unknown|N\/A|None)$/.test(j.endTime) ? value : Infinity);
    });
    return left;
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
