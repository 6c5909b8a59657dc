// Names that version 0.1.0 and the frozen providers before it wrote where today's code must still
// find them: in Pulumi state, in the process-wide globals a frozen copy of the provider (held by a
// state written before the shim) shares with today's code in one provider process, on disk, and in
// environment variables its users set. They are the package's history, not its behaviour: this is
// the one module allowed to spell them (test/unit/providers/provider-neutral-names.test.ts checks that).

/** The package name the shim in every recorded state requires at each call (slurm/shim.ts, remote/shim.ts): it never changes. */
export const PACKAGE_NAME = "@sparc-deploy/slurm-provider";

/** Marks state written through the shims (slurm/shim.ts, remote/shim.ts); recorded states hold this exact text. */
export const LEGACY_SHIM_MARKER = "sparc-slurm-shim/1";

/**
 * globalThis keys a frozen provider copy also uses: the SSH pool, the shared scheduler queries and the
 * batched reads stay one per process (one login per run) when old and new code run side by side.
 */
export const SHARED_GLOBALS = {
    sshPool: "__sparcSlurmSsh",
    sharedQueries: "__sparcSlurmShared",
    readBatches: "__sparcSlurmReads",
} as const;

/**
 * Deprecated environment variable names, read when the new name is unset: 0.1.0 documented them, and
 * refresh and destroy run in the provider process without the calling program, so no caller can map them.
 */
export const DEPRECATED_ENV = {
    /** → SLURM_PROVIDER_MFA_ANSWERS */
    mfaAnswers: "SPARC_HPG_MFA_ANSWERS",
    /** → SLURM_PROVIDER_JOURNAL_DIR */
    journalDir: "SPARC_SLURM_JOURNAL_DIR",
} as const;

/** 0.1.0's journal directory under $XDG_STATE_HOME: a create killed under 0.1.0 left its entry there. */
export const LEGACY_JOURNAL_SUBDIR = ["sparc-deploy", "slurm-journal"] as const;

/**
 * 0.1.0's prefix of the per-process run directories under $TMPDIR: the sweep of dead processes'
 * directories also recognises it (and leaves another user's alone, as for today's prefix).
 */
export const LEGACY_RUN_DIR_PREFIX = "sparc-ssh-";
