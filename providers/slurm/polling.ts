// How often SlurmJob may ask the scheduler while it waits. HiPerGator forbids processes
// that "frequently poll the scheduler": pauses grow, and once a wait has lasted a minute
// no query comes sooner than 10 s after the previous one (waits for RUNNING, for a
// cancelled job to end, and the grace period after the cancel signal alike).
// Pure: captured into the serialized provider.

/** After this many seconds of waiting... */
export const POLL_FLOOR_AFTER_SECONDS = 60;
/** ...queries are at least this many seconds apart. */
export const POLL_FLOOR_SECONDS = 10;

/**
 * The pause before the next query: the previous pause times 1.5, at most `maxSeconds`, at
 * least 1 s, and at least POLL_FLOOR_SECONDS once the wait (including this pause) passes a minute.
 */
export function nextPollPause(previousSeconds: number, elapsedSeconds: number, maxSeconds: number): number {
    let pause = Math.min(maxSeconds, Math.max(1, previousSeconds * 1.5));
    if (elapsedSeconds + pause > POLL_FLOOR_AFTER_SECONDS) {
        pause = Math.max(pause, POLL_FLOOR_SECONDS);
    }
    return pause;
}

/**
 * The progress line of one poll of a pending job: Slurm's reason and its start estimate (squeue's
 * %S, read by the same query, so no extra scheduler query), and how long the wait has lasted and may last.
 */
export function pendingLine(jobId: string, reason: string, startEstimate: string, waitedSeconds: number, leftSeconds: number): string {
    const estimate = startEstimate === "" ? "no start estimate yet" : `Slurm's start estimate ${startEstimate}`;
    return (
        `job ${jobId} PENDING (${reason === "" ? "no reason given" : reason}); ${estimate}; ` +
        `waited ${Math.round(waitedSeconds)} s, at most ${Math.max(0, Math.round(leftSeconds))} s more (waitTimeoutSeconds)`
    );
}
