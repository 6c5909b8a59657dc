// Waits that react to a job's own event instead of to the next scheduler query: a job tells the
// provider about itself through the cluster filesystem (eventFile: a build's done/failed marker, a
// service's endpoint file). Between two scheduler queries the provider runs one command over the
// open login that checks for that file every second on the login node (a stat: no scheduler load)
// and returns as soon as it is there, so the scheduler is asked at once rather than up to 120 s later.
// The schedule of scheduler queries itself (polling.ts) is unchanged: a job that dies without
// writing its file is noticed at the next query, as before.
import type { SlurmJobInputs } from "./types";
import { runRemote } from "../remote/remote";
import { sleepUnlessCancelled, whenCancelled } from "./cancellation";

/** After the event, this many scheduler queries (the first at once, then one a second) come sooner than the schedule: the job ends right after writing it. */
export const QUICK_QUERIES_AFTER_EVENT = 5;

/**
 * The login-node side of one wait: argv for bash, the path and the bound as arguments ($1, $2), so
 * nothing is spliced into the script. Exits 0 once the file is non-empty (printing nothing: what a job
 * writes is not shown), 3 after `seconds` checks, one a second.
 */
export function eventWaitArgv(file: string, seconds: number): string[] {
    const script = ["for ((i = 0; i < $2; i++)); do", '    if [ -s "$1" ]; then exit 0; fi', "    sleep 1", "done", "exit 3"].join("\n");
    return ["bash", "-c", script, "slurm-event-wait", file, String(Math.max(1, Math.round(seconds)))];
}

/** The job's event file (%j = its id), or undefined when the job has none. */
export function eventFileOf(inputs: SlurmJobInputs, jobId: string): string | undefined {
    const pattern = inputs.eventFile;
    return typeof pattern === "string" && pattern !== "" ? pattern.split("%j").join(jobId) : undefined;
}

export type EventWait = { kind: "event" } | { kind: "timeout" } | { kind: "cancelled" };

/**
 * Waits up to `seconds` for the job's event file (or for Ctrl-C). Without an event file, or when the
 * check itself fails (the login dropped), it simply waits out the pause: the next scheduler query decides.
 */
export async function waitForEvent(inputs: SlurmJobInputs, file: string | undefined, seconds: number): Promise<EventWait> {
    if (file === undefined) {
        return (await sleepUnlessCancelled(seconds)) ? { kind: "cancelled" } : { kind: "timeout" };
    }
    const started = Date.now();
    const check = runRemote(inputs.connection, eventWaitArgv(file, seconds), { timeoutSeconds: seconds + 60 }).then(
        (r) => (r.code === 0 ? ({ kind: "event" } as const) : undefined),
        () => undefined,
    );
    // A Ctrl-C ends the wait at once; the check on the login node ends by itself within `seconds`.
    const cancel = whenCancelled();
    const first = await Promise.race([check, cancel.cancelled.then(() => ({ kind: "cancelled" }) as const)]).finally(cancel.dispose);
    if (first !== undefined) {
        return first;
    }
    // The check ended without the file (its bound, or a failure): wait out what is left of the pause.
    const left = seconds - (Date.now() - started) / 1000;
    if (left > 0.05 && (await sleepUnlessCancelled(left))) {
        return { kind: "cancelled" };
    }
    return { kind: "timeout" };
}
