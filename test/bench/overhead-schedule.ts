// The scheduler queries a SlurmJob makes while it waits, from the provider's own schedule
// (polling.ts): npm run bench:overhead prints it, test/unit/providers/slurm/event-wait.test.ts pins it.
import { nextPollPause } from "../../providers/slurm/polling";

/** Queries in an hour of waiting for a job that has not reached its goal (hpg: waitPollSeconds 15, pauses at most 120 s). */
export function schedulerQueriesPerHour(firstPause = 15, maxPause = 120): number {
    let elapsed = 0;
    let pause = firstPause;
    let queries = 0;
    while (elapsed + pause <= 3600) {
        elapsed += pause;
        queries += 1;
        pause = nextPollPause(pause, elapsed, maxPause);
    }
    return queries;
}
