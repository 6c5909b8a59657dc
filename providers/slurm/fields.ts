// The one table that decides what a change to each SlurmJob input does.
// Pure: only the pure parse module (the terminal states).
import type { SlurmJobInputs, SlurmJobOutputs } from "./types";
import { isTerminalState } from "./parse";

/**
 * replace:  a new job is needed (cancel the old one first: deleteBeforeReplace).
 * scontrol: Slurm can change it on a pending or running job (scontrol update).
 * state:    only Pulumi's record changes; the job is untouched.
 */
export type FieldPolicy = "replace" | "scontrol" | "state";

export const FIELD_POLICY: { readonly [K in keyof SlurmJobInputs]-?: FieldPolicy } = {
    script: "replace",
    command: "replace",
    jobName: "scontrol",
    partition: "replace",
    account: "replace",
    qos: "replace",
    time: "scontrol",
    nodes: "replace",
    ntasks: "replace",
    cpusPerTask: "replace",
    mem: "replace",
    gpus: "replace",
    gpusPerTask: "replace",
    gres: "replace",
    constraint: "replace",
    output: "replace",
    error: "replace",
    workdir: "replace",
    environment: "replace",
    dependency: "replace",
    extraArgs: "replace",
    // Identity is the cluster (ClusterName, checked by update) and the job id, not how we
    // name or reach them: a stack rename, an alias, another spelling of the host, or
    // dropping adoptJobId after an adoption must not cancel a running job.
    ownerTag: "state",
    ownerNonce: "state",
    adoptJobId: "state",
    connection: "state",
    waitFor: "state",
    waitTimeoutSeconds: "state",
    waitPollSeconds: "state",
    cancelSignal: "state",
    cancelGraceSeconds: "state",
    deleteTimeoutSeconds: "state",
    clusterChecks: "state",
    // Renewal decides by time in diff (renewal.ts); changing these settings never replaces the job.
    readyCheck: "state",
    readyTimeoutSeconds: "state",
    logTailLines: "state",
    // Only how the provider learns of the job's news; the job's script writes the file.
    eventFile: "state",
    renewBeforeSeconds: "state",
    // A chain's directory holds its script: another one is another chain. The poll pause is a setting
    // the running chain reads at its next renewal (update rewrites it).
    chainDir: "replace",
    chainPollSeconds: "state",
};

/** The scontrol update keyword for each in-place field. */
export const SCONTROL_KEYWORD: { readonly [K in keyof SlurmJobInputs]?: string } = {
    jobName: "JobName",
    time: "TimeLimit",
};

export interface JobDiff {
    replaces: string[];
    scontrol: string[];
    state: string[];
}

/** Stable text of a value for comparison: undefined, null and absent are the same; object keys are sorted. */
export function canonical(value: unknown): string {
    if (value === undefined || value === null) {
        return "null";
    }
    if (Array.isArray(value)) {
        return `[${value.map(canonical).join(",")}]`;
    }
    if (typeof value === "object") {
        const obj = value as Record<string, unknown>;
        return `{${Object.keys(obj)
            .filter((k) => obj[k] !== undefined && obj[k] !== null)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value);
}

/**
 * Compares the state (old outputs) with the new inputs. A job that has ended
 * while the resource is meant to keep it (waitFor is not "completed") is a
 * replacement too, so that an expired service comes back on the next up.
 */
export function diffJob(olds: Partial<SlurmJobOutputs>, news: SlurmJobInputs): JobDiff {
    const result: JobDiff = { replaces: [], scontrol: [], state: [] };
    for (const key of Object.keys(FIELD_POLICY) as (keyof SlurmJobInputs)[]) {
        if (key === "connection") {
            continue;
        }
        if (canonical(olds[key]) !== canonical(news[key])) {
            // Slurm cannot unset a limit in place: removing an in-place field replaces.
            const policy = FIELD_POLICY[key] === "scontrol" && news[key] === undefined ? "replace" : FIELD_POLICY[key];
            result[policy === "replace" ? "replaces" : policy].push(key);
        }
    }
    // Connection details are credentials: update records them (and checks the cluster is the same).
    // connection.messages is message text only: it never makes a change (so never a login either).
    const oldConn: Record<string, unknown> = { ...olds.connection, port: olds.connection?.port ?? 22, messages: undefined };
    const newConn: Record<string, unknown> = { ...news.connection, port: news.connection?.port ?? 22, messages: undefined };
    for (const key of new Set([...Object.keys(oldConn), ...Object.keys(newConn)])) {
        if (canonical(oldConn[key]) !== canonical(newConn[key])) {
            result.state.push(`connection.${key}`);
        }
    }
    // adoptJobId naming another job than the one held is a request for that job.
    const adopt = news.adoptJobId;
    if (adopt !== undefined && adopt !== olds.jobId && canonical(adopt) !== canonical(olds.adoptJobId)) {
        result.state = result.state.filter((k) => k !== "adoptJobId");
        result.replaces.push("adoptJobId");
    }
    // A job that ended without its goal is submitted again: a service (not meant to end)
    // that ended, or a job meant to complete that ended otherwise (e.g. a failed build).
    if (olds.state !== undefined && isTerminalState(olds.state) && (news.waitFor !== "completed" || olds.state !== "COMPLETED")) {
        result.replaces.push("state");
    }
    return result;
}

/** `scontrol update JobId=N Key=Value ...` for the in-place fields that changed. */
export function scontrolUpdateArgv(jobId: string, news: SlurmJobInputs, fields: readonly string[]): string[] {
    const assignments = fields.map((field) => {
        const keyword = SCONTROL_KEYWORD[field as keyof SlurmJobInputs];
        if (keyword === undefined) {
            throw new Error(`internal: ${field} cannot be changed with scontrol update`);
        }
        return `${keyword}=${String(news[field as keyof SlurmJobInputs] ?? "")}`;
    });
    return ["scontrol", "update", `JobId=${jobId}`, ...assignments];
}
