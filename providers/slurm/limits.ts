// The group's limits in Slurm's accounting (association and QOS: what UF's `showQos` shows), read with one
// remote command before sbatch and compared with what the job asks for, so a request the group cannot
// get fails at once instead of pending for hours (UF: a group's GPUs, CPUs and memory are its QOS's GrpTRES).
// Pure: parsing and comparison; scheduler.ts runs the query.
import { parseGpuRequest } from "./gpus";
import { parseSlurmMemory } from "./memory";
import type { SlurmJobInputs } from "./types";

/**
 * One bash script: the user, their default account, their associations, every QOS; each line tagged. The three
 * sacctmgr calls run at once (each is a round trip to slurmdbd, about 0.2 s on the test cluster: 0.6 s in a row
 * before the first sbatch of an `up`), each into its own file, printed in order once all three have ended.
 */
export const LIMITS_QUERY = [
    "set -o pipefail",
    'u=$(id -un) && printf "user|%s\\n" "$u"',
    "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT",
    '{ sacctmgr -nP show user "$u" format=defaultaccount > "$d/default" & p1=$!; ' +
        'sacctmgr -nP show assoc where users="$u" format=account,partition,qos,defaultqos,grptres,maxtres > "$d/assoc" & p2=$!; ' +
        'sacctmgr -nP show qos format=name,grptres,maxtres,maxtrespu > "$d/qos" & p3=$!; ' +
        "wait $p1 && wait $p2 && wait $p3; }",
    'sed "s/^/default|/" "$d/default"',
    'sed "s/^/assoc|/" "$d/assoc"',
    'sed "s/^/qos|/" "$d/qos"',
].join(" && ");

export interface Association {
    account: string;
    partition: string;
    qos: string[];
    defaultQos: string;
    grpTres: string;
    maxTres: string;
}
export interface QosLimits {
    name: string;
    grpTres: string;
    maxTres: string;
    maxTresPerUser: string;
}
export interface AccountingLimits {
    user: string;
    defaultAccount: string;
    associations: Association[];
    qos: QosLimits[];
}

export function parseLimits(stdout: string): AccountingLimits {
    const out: AccountingLimits = { user: "", defaultAccount: "", associations: [], qos: [] };
    for (const line of stdout.split("\n")) {
        const [tag, ...f] = line.trim().split("|");
        if (tag === "user") {
            out.user = f[0] ?? "";
        } else if (tag === "default") {
            out.defaultAccount = f[0] ?? "";
        } else if (tag === "assoc" && f.length >= 6) {
            out.associations.push({ account: f[0], partition: f[1], qos: f[2] === "" ? [] : f[2].split(","), defaultQos: f[3], grpTres: f[4], maxTres: f[5] });
        } else if (tag === "qos" && f.length >= 4) {
            out.qos.push({ name: f[0], grpTres: f[1], maxTres: f[2], maxTresPerUser: f[3] });
        }
    }
    return out;
}

/** A TRES limit string ("cpu=32,mem=256G,gres/gpu=4") -> cpu count, memory MiB, GPU count (absent = no limit). */
export function parseTres(tres: string): { cpu?: number; memMiB?: number; gpu?: number } {
    const out: { cpu?: number; memMiB?: number; gpu?: number } = {};
    for (const item of tres.split(",")) {
        const [name, value] = item.split("=");
        if (value === undefined) {
            continue;
        }
        if (name === "cpu") {
            out.cpu = Number(value);
        } else if (name === "mem") {
            out.memMiB = parseSlurmMemory(value);
        } else if (name === "gres/gpu") {
            out.gpu = Number(value);
        }
    }
    return out;
}

/** What the job asks for in all: GPUs, CPUs, memory (MiB; undefined = not said). */
export function jobRequest(inputs: SlurmJobInputs): { gpu: number; cpu: number; memMiB?: number } {
    const nodes = inputs.nodes ?? 1;
    const tasks = inputs.ntasks ?? 1;
    const count = (value: string | undefined, kind: "gpus" | "gres") => (value === undefined || value === "" ? 0 : (parseGpuRequest(value, kind)?.count ?? 0));
    const gpu = count(inputs.gpus, "gpus") + count(inputs.gpusPerTask, "gpus") * tasks + count(inputs.gres, "gres") * nodes;
    const mem = inputs.mem === undefined ? undefined : parseSlurmMemory(inputs.mem);
    return { gpu, cpu: (inputs.cpusPerTask ?? 1) * tasks, memMiB: mem === undefined ? undefined : mem * nodes };
}

/** The failures, in check()'s shape: each names the field, what it asks, the limit and where it comes from. */
export function limitFailures(inputs: SlurmJobInputs, limits: AccountingLimits, jobs = 1): { property: string; reason: string }[] {
    const mine = limits.associations;
    if (mine.length === 0) {
        return []; // the cluster keeps no association for this user: nothing to compare
    }
    const account = inputs.account ?? limits.defaultAccount;
    const assoc =
        mine.find((a) => a.account === account && (a.partition === "" || a.partition === inputs.partition)) ?? mine.find((a) => a.account === account);
    if (assoc === undefined) {
        const accounts = [...new Set(mine.map((a) => a.account))].join(", ");
        return [
            { property: "account", reason: `user ${limits.user} has no association with account ${JSON.stringify(account)}; the accounts it has: ${accounts}` },
        ];
    }
    const qosName = inputs.qos ?? (assoc.defaultQos !== "" ? assoc.defaultQos : assoc.qos[0]);
    if (inputs.qos !== undefined && assoc.qos.length > 0 && !assoc.qos.includes(inputs.qos)) {
        return [{ property: "qos", reason: `QOS ${JSON.stringify(inputs.qos)} is not allowed for account ${account}; its QOS: ${assoc.qos.join(", ")}` }];
    }
    const qos = limits.qos.find((q) => q.name === qosName);
    const sources: [string, string][] = [
        [`account ${account}'s GrpTRES (the group's total)`, assoc.grpTres],
        [`account ${account}'s MaxTRES (per job)`, assoc.maxTres],
        ...(qos === undefined
            ? []
            : ([
                  [`QOS ${qos.name}'s GrpTRES (the group's total)`, qos.grpTres],
                  [`QOS ${qos.name}'s MaxTRES (per job)`, qos.maxTres],
                  [`QOS ${qos.name}'s MaxTRESPerUser`, qos.maxTresPerUser],
              ] as [string, string][])),
    ];
    const one = jobRequest(inputs);
    // `jobs` at once (a renewing chain's predecessor and successor): only the group's and the user's totals count them all.
    const req = { gpu: one.gpu * jobs, cpu: one.cpu * jobs, memMiB: one.memMiB === undefined ? undefined : one.memMiB * jobs };
    const totals = sources.filter(([source]) => jobs === 1 || !source.includes("(per job)"));
    const failures: { property: string; reason: string }[] = [];
    const gpuField = inputs.gpus !== undefined ? "gpus" : inputs.gres !== undefined ? "gres" : "gpusPerTask";
    const checks: [property: string, what: string, asked: number | undefined, pick: (t: ReturnType<typeof parseTres>) => number | undefined, unit: string][] = [
        [gpuField, "GPUs", req.gpu, (t) => t.gpu, ""],
        ["cpusPerTask", "CPUs", req.cpu, (t) => t.cpu, ""],
        ["mem", "memory", req.memMiB, (t) => t.memMiB, " MiB"],
    ];
    for (const [property, what, asked, pick, unit] of checks) {
        if (asked === undefined || asked === 0) {
            continue;
        }
        for (const [source, tres] of totals) {
            const limit = pick(parseTres(tres));
            if (limit !== undefined && asked > limit) {
                failures.push({
                    property,
                    reason:
                        `the job asks for ${asked}${unit} ${what} in all, but ${source} allows ${limit}${unit}` +
                        `${limit === 0 ? ` (the group has no ${what} there)` : ""}; ask for at most ${limit}${unit}, or use an account/QOS that has more ` +
                        "(`sacctmgr show assoc user=$USER`, `sacctmgr show qos`, or the site's own tool)",
                });
                break;
            }
        }
    }
    return failures;
}
