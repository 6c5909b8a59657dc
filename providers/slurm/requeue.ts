// A requeued Slurm job (scontrol requeue, a node failure, preemption) keeps its id but starts
// again, maybe on other nodes. SlurmJob follows the move rather than submitting with
// --no-requeue: a long-lived service that Slurm restarts is what its users want, as long as
// the outputs (node, start, end), the readiness check and endsAt follow it. read() uses this to
// notice the move. Pure: only the pure parse module.
import type { JobStatusFields } from "./types";
import { isTerminalState } from "./parse";

/**
 * How a job recorded RUNNING has moved since (requeued: pending again, or started again, maybe on
 * other nodes); "" when it has not. A job that merely ended is not a move (diff replaces a service that ended).
 */
export function jobMoved(recorded: Partial<JobStatusFields>, now: JobStatusFields): string {
    if (recorded.state !== "RUNNING" || isTerminalState(now.state)) {
        return "";
    }
    if (now.state !== "RUNNING") {
        return `left RUNNING for ${now.state}${now.reason ? ` (${now.reason})` : ""} (requeued)`;
    }
    if ((recorded.startTime ?? "") !== "" && now.startTime !== recorded.startTime) {
        return `started again at ${now.startTime} on ${now.nodeList || "?"} (was ${recorded.startTime} on ${recorded.nodeList || "?"}; requeued)`;
    }
    return "";
}
