// The SlurmJob resource: a thin class over slurmJobProvider.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterChecks, JobSpec, SshConnection, WaitFor } from "./types";
import { slurmJobShim } from "./shim";
import { ShimResource } from "../dynamicResource";
import { logUrnOf } from "../remote/progress";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Public arguments of a SlurmJob. See the package README, "SlurmJob inputs". */
export interface SlurmJobArgs extends Inputs<JobSpec> {
    /** How to reach the login node. Stored as a secret. */
    connection: pulumi.Input<Inputs<SshConnection>>;
    /** "submitted", "running" or "completed" (default "submitted"). */
    waitFor?: pulumi.Input<WaitFor>;
    /** Bound on waiting for waitFor, in seconds (default 600). */
    waitTimeoutSeconds?: pulumi.Input<number>;
    /** First pause between scheduler queries while waiting (default 10 s; grows 1.5x up to 120 s). */
    waitPollSeconds?: pulumi.Input<number>;
    /** Signal sent before the final scancel on delete (default "TERM"; "" for none). */
    cancelSignal?: pulumi.Input<string>;
    /** Seconds between that signal and the final scancel (default 30). */
    cancelGraceSeconds?: pulumi.Input<number>;
    /** Bound on waiting for the cancelled job to end, in seconds (default 300). */
    deleteTimeoutSeconds?: pulumi.Input<number>;
    /** Take over this existing job instead of submitting one. */
    adoptJobId?: pulumi.Input<string>;
    /** Check partition/time/GPU type against sinfo: "up" (before submitting), "preview" (also at preview), "off" (default "up"). */
    clusterChecks?: pulumi.Input<ClusterChecks>;
    /** Bash script run on the login node once the job is RUNNING (args: job id, log path, end time); must exit 0. */
    readyCheck?: pulumi.Input<string>;
    /** Bound on readyCheck, in seconds (default 300). */
    readyTimeoutSeconds?: pulumi.Input<number>;
    /** While waiting for "completed": the job log's last lines shown per poll under the resource (default 0: none; a log may hold secrets). */
    logTailLines?: pulumi.Input<number>;
    /** A file the job writes when it has news (%j = job id): checked every second on the login node while waiting, so the scheduler is asked as soon as it appears. */
    eventFile?: pulumi.Input<string>;
    /** With chainDir: each job of the chain submits its successor this many seconds before its end (default 0 = off; above 0 needs chainDir). */
    renewBeforeSeconds?: pulumi.Input<number>;
    /** With renewBeforeSeconds > 0: the job renews itself on the cluster as a chain kept in this directory (absolute, seen by compute nodes). */
    chainDir?: pulumi.Input<string>;
    /** Seconds between a renewing job's queries of its successor; 60 when absent. */
    chainPollSeconds?: pulumi.Input<number>;
}

/**
 * The ownership tag put in the job's --comment (with the script's hash and the attempt):
 * deterministic, so an interrupted submit is found again. A change of it (stack rename
 * with an alias) is recorded in state only; it never replaces the job.
 */
export function ownerTagFor(name: string, project = pulumi.getProject(), stack = pulumi.getStack()): string {
    return `pulumi:${project}/${stack}/${name}`;
}

/**
 * One Slurm batch job, tracked by Pulumi: `up` submits it with sbatch exactly once and waits for
 * `waitFor` (and `readyCheck`), `refresh` reads it with squeue/sacct, `destroy` signals, scancels and
 * waits for its end. What a change of each input does: {@link FIELD_POLICY}. Defaults: {@link SLURM_JOB_DEFAULTS}.
 */
export class SlurmJob extends ShimResource {
    declare readonly jobId: pulumi.Output<string>;
    declare readonly state: pulumi.Output<string>;
    declare readonly reason: pulumi.Output<string>;
    declare readonly nodeList: pulumi.Output<string>;
    declare readonly submitTime: pulumi.Output<string>;
    declare readonly startTime: pulumi.Output<string>;
    declare readonly endTime: pulumi.Output<string>;
    declare readonly exitCode: pulumi.Output<string>;
    declare readonly stdoutPath: pulumi.Output<string>;
    declare readonly stderrPath: pulumi.Output<string>;
    declare readonly ownerTag: pulumi.Output<string>;
    /** The cluster's ClusterName: with jobId, what identifies the job (not the host spelling). */
    declare readonly clusterName: pulumi.Output<string>;
    /** readyCheck's last stdout line ("" without one). */
    declare readonly readyReport: pulumi.Output<string | undefined>;
    /** The job's end in seconds since the epoch (cluster clock); 0 = unknown. */
    declare readonly endsAt: pulumi.Output<number | undefined>;
    /** A chain's own directory on the cluster (absent for a single job). */
    declare readonly chainPath: pulumi.Output<string | undefined>;
    /** A chain: "ok" when its jobs may submit jobs, "failed: ..." when the site forbids it, "" not known yet. */
    declare readonly selfRenewal: pulumi.Output<string | undefined>;

    constructor(name: string, args: SlurmJobArgs, opts?: pulumi.CustomResourceOptions) {
        if (opts?.import !== undefined) {
            throw new Error(importRefusal(name, opts.import));
        }
        // State holds the shim (a few hundred bytes), which loads the installed provider at each call.
        super(
            "slurmJob",
            slurmJobShim,
            name,
            {
                ...args,
                connection: pulumi.secret(args.connection),
                ownerTag: ownerTagFor(name),
                // Where the provider logs this job's progress (the dynamic provider is not told the URN); diff ignores it.
                logUrn: logUrnOf(name, "pulumi-nodejs:dynamic/slurm:SlurmJob", opts?.parent, pulumi.getProject(), pulumi.getStack()),
                jobId: undefined,
                state: undefined,
                reason: undefined,
                nodeList: undefined,
                submitTime: undefined,
                startTime: undefined,
                endTime: undefined,
                exitCode: undefined,
                stdoutPath: undefined,
                stderrPath: undefined,
                clusterName: undefined,
                readyReport: undefined,
                endsAt: undefined,
                chainPath: undefined,
                selfRenewal: undefined,
            },
            {
                ...opts,
                additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"],
            },
            "slurm",
            "SlurmJob",
        );
    }
}

/**
 * Why the `import` resource option cannot take over a job, and what does. The engine's import sends
 * the provider no properties, so Pulumi's dynamic-provider host has no serialized provider to run and
 * fails before any SlurmJob code ("code must be a string, not undefined"); `pulumi import` fails alike.
 */
export function importRefusal(name: string, id: pulumi.Input<string>): string {
    const shown = typeof id === "string" ? JSON.stringify(id) : "<job id>";
    return (
        `SlurmJob "${name}": the import resource option cannot take over a Slurm job (Pulumi's dynamic-provider host ` +
        'has no provider to read it with and fails with "code must be a string, not undefined"). ' +
        `Drop import and set adoptJobId: ${shown} on this SlurmJob instead: up then tracks that job without submitting one.`
    );
}
