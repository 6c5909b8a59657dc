// Plain data types shared by the SlurmJob provider and its pure helpers.
// Nothing here imports a runtime library; the value lists are the one home of their vocabulary.

import type { SshConnection } from "../remote/connection";

/** How the provider reaches the cluster's login node (the neutral SSH module's type, re-exported for existing importers). */
export type { SshConnection };

/** States the provider can wait for after sbatch returns. */
export const WAIT_FOR_VALUES = ["submitted", "running", "completed"] as const;
export type WaitFor = (typeof WAIT_FOR_VALUES)[number];

/** When partition, time limit and GPU type are checked against sinfo: before submitting, also at preview, never. */
export const CLUSTER_CHECK_MODES = ["up", "preview", "off"] as const;
export type ClusterChecks = (typeof CLUSTER_CHECK_MODES)[number];

/** The job itself: either a whole `script`, or structured fields rendered into #SBATCH lines + `command`. */
export interface JobSpec {
    script?: string;
    command?: string;
    jobName?: string;
    partition?: string;
    account?: string;
    qos?: string;
    /** Slurm time limit in any Slurm format, e.g. "14-00:00:00", "90", "2:00:00". */
    time?: string;
    nodes?: number;
    ntasks?: number;
    cpusPerTask?: number;
    /** Memory per node, e.g. "256gb", "100G", "4096M", "4096". */
    mem?: string;
    /** --gpus, e.g. "4" or "a100:4". */
    gpus?: string;
    /** --gpus-per-task, e.g. "4" or "a100:4". */
    gpusPerTask?: string;
    /** --gres, e.g. "gpu:a100:2". */
    gres?: string;
    constraint?: string;
    /** --output path (Slurm filename pattern, e.g. "service_%j.log"). */
    output?: string;
    /** --error path. */
    error?: string;
    /** --chdir: working directory of the job. */
    workdir?: string;
    /** Exported at the top of the script body (values shell-quoted). */
    environment?: Record<string, string>;
    /** --dependency, e.g. "afterok:123". */
    dependency?: string;
    /** Further sbatch options, each one whole argument such as "--exclusive" or "--signal=B:TERM@120". */
    extraArgs?: string[];
}

/** Resolved inputs as the provider receives them. */
export interface SlurmJobInputs extends JobSpec {
    connection: SshConnection;
    /** Deterministic ownership tag, also put in --comment; set by the resource class. */
    ownerTag: string;
    /**
     * Which state (deployment) owns the resource's jobs, also put in --comment: drawn by check() for a
     * new resource and carried from the old inputs after, so two states with the same tag (two machines,
     * a lost local backend) never adopt or cancel each other's job. Absent in states written before it.
     */
    ownerNonce?: string;
    waitFor: WaitFor;
    /** Bound on waiting for `waitFor`, in seconds. */
    waitTimeoutSeconds: number;
    /**
     * First pause between scheduler queries while waiting, in seconds; it grows 1.5x per query up to
     * 120 s, and once a wait passes a minute queries are at least 10 s apart (polling.ts).
     */
    waitPollSeconds: number;
    /** Signal sent before scancel on delete (e.g. "TERM"); "" sends none. */
    cancelSignal: string;
    /** Seconds between the signal and the final scancel. */
    cancelGraceSeconds: number;
    /** Bound on waiting for the job to become terminal after scancel, in seconds. */
    deleteTimeoutSeconds: number;
    /** Adopt this existing job id instead of submitting (Pulumi import does not work for dynamic providers). */
    adoptJobId?: string;
    /**
     * Check partition, time limit and GPU type against `sinfo` before submitting ("up"), also during
     * `pulumi preview` ("preview": costs an SSH login, i.e. a Duo prompt), or never ("off"); default "up".
     */
    clusterChecks: ClusterChecks;
    /**
     * A bash script run on the login node once the job is RUNNING (waitFor "running"), with the
     * arguments job id, log path and squeue's end time; it must exit 0 within readyTimeoutSeconds.
     * Its last stdout line is kept as readyReport. A job that fails it while an older job of this
     * resource still serves (a renewal) is cancelled.
     */
    readyCheck?: string;
    /** Bound on readyCheck, in seconds (default 300). */
    readyTimeoutSeconds?: number;
    /**
     * While waiting for waitFor "completed" (a build job), show this many last lines of the job's log
     * under the resource at each poll while it runs (one `tail -n`; only lines not shown yet). Default 0:
     * none, since a log may hold what must not reach the terminal or the backend's logs.
     */
    logTailLines?: number;
    /**
     * A file on the cluster the job writes when it has news for the provider (%j = the job id, required, so
     * an earlier job's file is never taken for this one's), e.g. a build's done/failed marker or a service's
     * endpoint file. While waiting, the provider checks it every second on the login node (one command over
     * the open login; no scheduler query) and asks the scheduler as soon as it appears, instead of at the next
     * pause. The scheduler queries keep their schedule (waitPollSeconds, growing to 120 s), so a job that ends
     * without writing it is noticed at the next one, as without it. Absent: pauses only.
     */
    eventFile?: string;
    /**
     * With chainDir: each job of the chain submits its successor this many seconds before its end
     * (chain.ts). 0 or absent = off. Above 0 without chainDir is refused at check (0.1.0 renewed by `up`).
     */
    renewBeforeSeconds?: number;
    /**
     * With renewBeforeSeconds > 0: the resource is a chain that renews itself on the cluster
     * (chain.ts). A directory on the cluster, visible to the compute nodes, under which the chain
     * keeps its batch script, stop marker and reports. Absent = no renewal.
     */
    chainDir?: string;
    /** Seconds between the waiting predecessor's queries of its successor; 60 when absent. */
    chainPollSeconds?: number;
}

/** What Slurm says about a job; absent values are "". */
export interface JobStatusFields {
    jobId: string;
    state: string;
    reason: string;
    nodeList: string;
    submitTime: string;
    startTime: string;
    endTime: string;
    exitCode: string;
}

/** Everything the provider stores in state. No undefined values: absent strings are "". */
export interface SlurmJobOutputs extends SlurmJobInputs, JobStatusFields, RenewalOutputs {
    /**
     * The cluster the job runs on (ClusterName of `scontrol show config`): with the job id,
     * the job's identity. "" in states written before it was recorded; update fills it in.
     */
    clusterName: string;
    stdoutPath: string;
    stderrPath: string;
    /**
     * true while the job has not reached its goal (waitFor, then the readiness check) since it was
     * submitted or last moved (a requeue): written by the provider and carried by read(), so a
     * `pulumi refresh` (which drops the engine's init errors) still leaves diff an update that waits
     * and checks again. Absent (false) in states written before it.
     */
    goalPending?: boolean;
    /** A chain's own directory on the cluster (chain.ts); absent for a single job. */
    chainPath?: string;
    /** A chain: whether its jobs may submit jobs ("ok", "failed: ..."; "" not known yet). */
    selfRenewal?: string;
}

/** Outputs of the readiness check and renewal (providers/slurm/renewal.ts); absent in older state. */
export interface RenewalOutputs {
    /** readyCheck's last stdout line ("" without a readyCheck). */
    readyReport?: string;
    /** The job's end (time limit) in seconds since the epoch, by the cluster's clock; 0 = unknown. */
    endsAt?: number;
}

/** One job as read from squeue or sacct, state normalised (e.g. "CANCELLED by 1001" -> "CANCELLED"). */
export interface JobStatus extends JobStatusFields {
    comment: string;
    source: "squeue" | "sacct";
}
