// Parsing of Slurm 22.05 command output. The format strings below are part of the API: the
// parsers rely on their field order. No imports except types: captured into the provider's
// serialized closure.

import type { JobStatus } from "./types";
import { parseSlurmDuration } from "./time";

/** squeue -h -o: jobid, state, reason, nodelist, submit, start, end, comment (last: it may contain "|"). */
export const SQUEUE_FORMAT = "%i|%T|%r|%N|%V|%S|%e|%k";
/** Used as `sacct -n -P -X -o <SACCT_FIELDS>`; Comment last because it may contain "|". */
export const SACCT_FIELDS = "JobID,State,Reason,NodeList,Submit,Start,End,ExitCode,Comment";
/** sinfo -h -o: partition (default marked "*"), availability, time limit, gres, node count, node state. */
export const SINFO_FORMAT = "%P|%a|%l|%G|%D|%T";

/** Slurm states after which a job is never going to run again. */
export const TERMINAL_STATES: readonly string[] = [
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
    "REVOKED",
    "SPECIAL_EXIT",
];

/** One partition as sinfo describes it, rows of the same partition merged. */
export interface PartitionInfo {
    name: string;
    isDefault: boolean;
    available: boolean;
    /** Infinity for UNLIMITED; undefined when sinfo printed something unreadable (e.g. "INVALID"). */
    maxTimeSeconds: number | undefined;
    /** GRES offered, e.g. ["gpu:a100:8"], socket annotations like "(S:0-1)" removed. */
    gres: string[];
    nodes: number;
    states: string[];
}

// Placeholders Slurm prints where a time, node list or comment is not known or not set.
const NOT_SET = ["(null)", "N/A", "None assigned", "Unknown"];
// sacct prints "None" as Start of a job that never started.
const NOT_SET_TIME = [...NOT_SET, "None"];
/** A plain Slurm job id (not an array task "123_0", a het job "123+0" or "123;cluster"): what one SlurmJob tracks. */
export const JOB_ID = /^[1-9][0-9]*$/;
const NODE_COUNT = /^[0-9]+$/;

/** "CANCELLED by 1001" -> "CANCELLED", "CANCELLED+" -> "CANCELLED", surrounding blanks trimmed. */
export function normalizeState(raw: string): string {
    return (raw.trim().split(/\s+/)[0] ?? "").replace(/\+$/, "");
}

/** True when Slurm will never run the job again in this state (the one test: fields.ts, the waits and delete use it). */
export function isTerminalState(state: string): boolean {
    return TERMINAL_STATES.includes(normalizeState(state));
}

function unsetToEmpty(value: string, placeholders: readonly string[]): string {
    return placeholders.includes(value) ? "" : value;
}

function normalizeReason(reason: string): string {
    return reason === "None" ? "" : unsetToEmpty(reason, NOT_SET);
}

/** Split into exactly `count` fields; the last keeps any further "|". Undefined when there are fewer. */
function splitFields(line: string, count: number): string[] | undefined {
    const parts = line.split("|");
    if (parts.length < count) {
        return undefined;
    }
    return [...parts.slice(0, count - 1), parts.slice(count - 1).join("|")];
}

function nonBlankLines(stdout: string): string[] {
    return stdout.split(/\r?\n/).filter((line) => line.trim() !== "");
}

function malformed(command: string, line: string, expected: string): Error {
    // A line we cannot read must fail loudly: read as "no job", it would make a live job look gone.
    return new Error(`Unexpected ${command} output line ${JSON.stringify(line)}: expected ${expected}`);
}

/** One job from the fields both formats share (squeue has no exit code: ""). */
function jobStatus(
    [jobId, state, reason, nodeList, submit, start, end, exitCode, comment]: [string, string, string, string, string, string, string, string, string],
    source: JobStatus["source"],
): JobStatus {
    return {
        jobId,
        state: normalizeState(state),
        reason: normalizeReason(reason),
        nodeList: unsetToEmpty(nodeList, NOT_SET),
        submitTime: unsetToEmpty(submit, NOT_SET_TIME),
        startTime: unsetToEmpty(start, NOT_SET_TIME),
        endTime: unsetToEmpty(end, NOT_SET_TIME),
        exitCode,
        comment: unsetToEmpty(comment, NOT_SET),
        source,
    };
}

/**
 * Which unreadable lines must fail the parse. Without it, every one (a query of our own job ids);
 * a query of all the user's jobs passes one that matches only lines naming this resource, so
 * another job's odd line (a --comment with a newline) is skipped instead of failing every create.
 */
export type MustRead = (line: string) => boolean;

/** Parse `squeue -h -o SQUEUE_FORMAT` output. Throws on a line it cannot read (that `mustRead` matches). */
export function parseSqueue(stdout: string, mustRead?: MustRead): JobStatus[] {
    const jobs: JobStatus[] = [];
    for (const line of nonBlankLines(stdout)) {
        const fields = splitFields(line, 8);
        if (!fields || fields[0] === "" || fields[1] === "") {
            if (mustRead === undefined || mustRead(line)) {
                throw malformed("squeue", line, `8 "|"-separated fields in the format ${SQUEUE_FORMAT}`);
            }
            continue;
        }
        const [jobId, state, reason, nodeList, submit, start, end, comment] = fields as [string, string, string, string, string, string, string, string];
        jobs.push(jobStatus([jobId, state, reason, nodeList, submit, start, end, "", comment], "squeue"));
    }
    return jobs;
}

/** Parse `sacct -n -P -X -o SACCT_FIELDS` output; step lines ("123.batch") are skipped. Throws on a line it cannot read (that `mustRead` matches). */
export function parseSacct(stdout: string, mustRead?: MustRead): JobStatus[] {
    const jobs: JobStatus[] = [];
    for (const line of nonBlankLines(stdout)) {
        const fields = splitFields(line, 9);
        if (!fields || fields[0] === "" || fields[1] === "") {
            if (mustRead === undefined || mustRead(line)) {
                throw malformed("sacct", line, `9 "|"-separated fields ${SACCT_FIELDS}`);
            }
            continue;
        }
        if ((fields[0] as string).includes(".")) {
            continue;
        }
        jobs.push(jobStatus(fields as [string, string, string, string, string, string, string, string, string], "sacct"));
    }
    return jobs;
}

/**
 * The job id printed by `sbatch --parsable`: "1234", or "1234;cluster" when sbatch was pointed at
 * a cluster (SBATCH_CLUSTERS in the login environment, a site wrapper): cluster "" when none.
 * Throws on anything else.
 */
export function parseSbatchParsable(stdout: string): { jobId: string; cluster: string } {
    const [id, cluster, ...rest] = stdout.trim().split(";");
    if (id === undefined || !JOB_ID.test(id) || cluster === "" || rest.length > 0) {
        throw new Error(`sbatch --parsable printed ${JSON.stringify(stdout)}, expected a job id such as "1234" or "1234;cluster"`);
    }
    return { jobId: id, cluster: cluster ?? "" };
}

/** "gpu:a100:8(S:0-1),gpu:fake:2" -> ["gpu:a100:8", "gpu:fake:2"]; "(null)" -> []. */
function parseGres(field: string): string[] {
    if (field === "(null)" || field === "") {
        return [];
    }
    // Commas inside "(S:0,1)" annotations do not separate entries.
    const entries: string[] = [];
    let depth = 0;
    let current = "";
    for (const ch of field) {
        if (ch === "(") {
            depth++;
        } else if (ch === ")") {
            depth = Math.max(0, depth - 1);
        } else if (ch === "," && depth === 0) {
            entries.push(current);
            current = "";
            continue;
        }
        current += ch;
    }
    entries.push(current);
    return entries.map((entry) => entry.replace(/\(.*\)$/, "").trim()).filter((entry) => entry !== "");
}

function addUnique(list: string[], values: readonly string[]): void {
    for (const value of values) {
        if (!list.includes(value)) {
            list.push(value);
        }
    }
}

/** Parse `sinfo -h -o SINFO_FORMAT`; one entry per partition (sinfo prints one row per partition and node state). */
export function parseSinfo(stdout: string): PartitionInfo[] {
    const partitions: PartitionInfo[] = [];
    for (const line of nonBlankLines(stdout)) {
        const fields = line.split("|");
        if (fields.length !== 6 || fields[0] === "" || !NODE_COUNT.test(fields[4] ?? "")) {
            throw malformed("sinfo", line, `6 "|"-separated fields in the format ${SINFO_FORMAT}`);
        }
        const [rawName, availability, timeLimit, gresField, nodeCount, state] = fields as [string, string, string, string, string, string];
        const nodes = Number(nodeCount);
        const isDefault = rawName.endsWith("*");
        const name = isDefault ? rawName.slice(0, -1) : rawName;
        const row: PartitionInfo = {
            name,
            isDefault,
            available: availability === "up",
            maxTimeSeconds: parseSlurmDuration(timeLimit),
            gres: parseGres(gresField),
            nodes,
            states: [state],
        };
        const known = partitions.find((p) => p.name === name);
        if (!known) {
            partitions.push(row);
            continue;
        }
        known.isDefault = known.isDefault || row.isDefault;
        known.available = known.available || row.available;
        known.nodes += row.nodes;
        addUnique(known.gres, row.gres);
        addUnique(known.states, row.states);
    }
    return partitions;
}

/** GPU type names a partition offers: ["gpu:a100:8", "gpu:fake:2"] -> ["a100", "fake"]; untyped "gpu:2" adds none. */
export function gpuTypesOf(partitions: PartitionInfo[], partition: string): string[] {
    const types: string[] = [];
    for (const gres of partitions.find((p) => p.name === partition)?.gres ?? []) {
        const [kind, type, count] = gres.split(":");
        if (kind === "gpu" && type !== undefined && count !== undefined) {
            addUnique(types, [type]);
        }
    }
    return types;
}

/** ClusterName from `scontrol show config` ("ClusterName             = testcluster"). Throws when absent. */
export function parseClusterName(stdout: string): string {
    const name = /^ClusterName\s*=\s*(\S+)\s*$/m.exec(stdout)?.[1];
    if (name === undefined || name === "(null)") {
        throw new Error(`scontrol show config printed no ClusterName line (got ${stdout.length} characters)`);
    }
    return name;
}
