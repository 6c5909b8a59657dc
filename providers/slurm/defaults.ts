// The SlurmJob lifecycle defaults: the one home of these values. SlurmJobArgs' doc comments
// (resource.ts), SlurmJobInputs' (types.ts) and the package README's inputs table are checked against
// them by test/unit/providers/slurm/defaults.test.ts.

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
 * Defaults of optional settings, applied where they are read, not written into state by check():
 * states written before these settings existed lack them, and filling them in would show as a change.
 */
export const SLURM_JOB_OPTIONAL_DEFAULTS = {
    readyTimeoutSeconds: 300,
    renewBeforeSeconds: 0,
    logTailLines: 0,
} as const;
