// The group's limits checked before sbatch, on the real cluster: a user of its own (hpclimits, made here with
// useradd, so no other test's user gains an association) in an account of its own, whose QOS and association
// carry limits set with sacctmgr (GPUs, CPUs, memory, as UF's group QOS does). A job asking more than the group
// has fails at create with what is missing and nothing submitted; one within the limits is submitted.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { CLUSTER_STATE, jobInputs, jobsWithTag, onCluster, requireClusterOrSkip, testConnection } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const USER = "hpclimits";
const ACCOUNT = "sparc-limits";
const QOS = "sparc-limits-qos";
const ready = requireClusterOrSkip() && process.getuid?.() === 0;

function root(argv: string[]): string {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) {
        throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
    }
    return r.stdout;
}
const sacctmgr = (...args: string[]) => root(["sacctmgr", "-i", ...args]);

describe.skipIf(!ready)("association and QOS limits before sbatch", () => {
    let createdUser = false;
    beforeAll(() => {
        if (spawnSync("id", [USER]).status !== 0) {
            root(["useradd", "-m", "-s", "/bin/bash", USER]);
            createdUser = true;
        }
        root(["usermod", "-p", "*", USER]);
        const home = root(["getent", "passwd", USER]).split(":")[5];
        root(["install", "-d", "-m", "700", "-o", USER, "-g", USER, `${home}/.ssh`]);
        root(["install", "-m", "600", "-o", USER, "-g", USER, `${CLUSTER_STATE}/ssh/hpcuser_ed25519.pub`, `${home}/.ssh/authorized_keys`]);
        // Idempotent: a run interrupted before its cleanup left them.
        spawnSync("sacctmgr", ["-i", "remove", "user", USER], { timeout: 60_000 });
        spawnSync("sacctmgr", ["-i", "remove", "account", ACCOUNT], { timeout: 60_000 });
        spawnSync("sacctmgr", ["-i", "remove", "qos", QOS], { timeout: 60_000 });
        sacctmgr("add", "qos", QOS, "set", "GrpTRES=cpu=2,gres/gpu=1");
        sacctmgr("add", "account", ACCOUNT, "Description=sparc-deploy limits test", "Organization=sparc");
        sacctmgr("add", "user", USER, `account=${ACCOUNT}`, `qos=${QOS}`, `defaultqos=${QOS}`, `DefaultAccount=${ACCOUNT}`);
        sacctmgr("modify", "user", USER, "set", "GrpTRES=mem=1024M");
    });
    afterAll(() => {
        closeAllConnections();
        spawnSync("sacctmgr", ["-i", "remove", "user", USER], { timeout: 60_000 });
        spawnSync("sacctmgr", ["-i", "remove", "account", ACCOUNT], { timeout: 60_000 });
        spawnSync("sacctmgr", ["-i", "remove", "qos", QOS], { timeout: 60_000 });
        if (createdUser) {
            spawnSync("userdel", ["-r", USER], { stdio: "ignore" });
        }
    });

    const inputs = (fields: Partial<SlurmJobInputs>) =>
        jobInputs({ command: "sleep 60", output: "/dev/null", partition: "gpu", ntasks: 1, connection: testConnection({ user: USER }), ...fields }, "limits");

    it.each<[string, Partial<SlurmJobInputs>, string, RegExp]>([
        [
            "2 GPUs, the group has 1",
            { gpusPerTask: "2" },
            "gpusPerTask",
            /the job asks for 2 GPUs in all, but QOS sparc-limits-qos's GrpTRES \(the group's total\) allows 1; ask for at most 1/,
        ],
        [
            "4 CPUs, the group has 2",
            { cpusPerTask: 4 },
            "cpusPerTask",
            /the job asks for 4 CPUs in all, but QOS sparc-limits-qos's GrpTRES \(the group's total\) allows 2/,
        ],
        [
            "2 GiB, the association has 1",
            { mem: "2048M" },
            "mem",
            /the job asks for 2048 MiB memory in all, but account sparc-limits's GrpTRES \(the group's total\) allows 1024 MiB/,
        ],
        [
            "an account without an association",
            { account: "nosuch" },
            "account",
            /user hpclimits has no association with account "nosuch"; the accounts it has: sparc-limits/,
        ],
        ["a QOS the account may not use", { qos: "normal" }, "qos", /QOS "normal" is not allowed for account sparc-limits; its QOS: sparc-limits-qos/],
    ])("%s: create fails before sbatch, saying what is missing", async (_what, fields, property, reason) => {
        const job = inputs(fields);
        const err = await provider.create(job).then(
            () => undefined,
            (e: Error) => e,
        );
        const submitted = jobsWithTag(job.ownerTag, USER);
        for (const id of submitted) {
            onCluster(`scancel ${Number(id)}`, USER); // only when the check let it through
        }
        expect(err?.message).toMatch(/^the cluster cannot run this job:/);
        expect(err?.message).toContain(`${property}: `);
        expect(err?.message).toMatch(reason);
        expect(submitted).toEqual([]);
    });

    it("a job within the limits is submitted", async () => {
        const job = inputs({ gpusPerTask: "1", cpusPerTask: 1, mem: "512M" });
        const outs = (await provider.create(job)).outs as SlurmJobOutputs;
        try {
            expect(outs.jobId).toMatch(/^\d+$/);
            expect(jobsWithTag(job.ownerTag, USER)).toEqual([outs.jobId]);
        } finally {
            onCluster(`scancel ${Number(outs.jobId)}`, USER);
        }
    });
});
