// The pure half of the limits check (providers/slurm/limits.ts): TRES strings, what a job asks for in all, and
// which limit a request exceeds. The cluster half: test/cluster/slurm-limits.test.ts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { LIMITS_QUERY, jobRequest, limitFailures, parseLimits, parseTres } from "../../../../providers/slurm/limits";
import type { SlurmJobInputs } from "../../../../providers/slurm/types";

describe("parseTres", () => {
    it.each<[string, object]>([
        ["", {}],
        ["cpu=32,mem=256G,gres/gpu=4", { cpu: 32, memMiB: 262144, gpu: 4 }],
        ["gres/gpu=0", { gpu: 0 }],
        ["mem=1024M,node=2", { memMiB: 1024 }],
        ["gres/gpu:a100=2", {}],
    ])("%j", (tres, expected) => expect(parseTres(tres)).toEqual(expected));
});

describe("jobRequest", () => {
    it.each<[Partial<SlurmJobInputs>, object]>([
        [{}, { gpu: 0, cpu: 1, memMiB: undefined }],
        [
            { ntasks: 1, gpusPerTask: "a100:4", cpusPerTask: 32, mem: "256gb" },
            { gpu: 4, cpu: 32, memMiB: 262144 },
        ],
        [
            { ntasks: 2, gpusPerTask: "1", cpusPerTask: 4 },
            { gpu: 2, cpu: 8 },
        ],
        [{ gpus: "b200:4" }, { gpu: 4 }],
        [
            { nodes: 2, gres: "gpu:l4:2", mem: "10G" },
            { gpu: 4, memMiB: 20480 },
        ],
    ])("%j", (fields, expected) => expect(jobRequest(fields as SlurmJobInputs)).toMatchObject(expected));
});

describe("limitFailures", () => {
    const limits = parseLimits(
        ["user|albert", "default|grp", "assoc|grp||grp,grp-b|grp|mem=100G|", "qos|grp|cpu=16,gres/gpu=0||", "qos|grp-b|cpu=64||", ""].join("\n"),
    );
    const job = (fields: Partial<SlurmJobInputs>) => ({ ntasks: 1, cpusPerTask: 1, ...fields }) as SlurmJobInputs;
    it.each<[string, Partial<SlurmJobInputs>, [string, RegExp][]]>([
        ["within the limits", { cpusPerTask: 8, mem: "64G" }, []],
        [
            "GPUs where the group has none",
            { gpusPerTask: "a100:1" },
            [["gpusPerTask", /asks for 1 GPUs in all, but QOS grp's GrpTRES \(the group's total\) allows 0 \(the group has no GPUs there\)/]],
        ],
        [
            "CPUs and memory over",
            { cpusPerTask: 32, mem: "200G" },
            [
                ["cpusPerTask", /QOS grp's GrpTRES/],
                ["mem", /account grp's GrpTRES \(the group's total\) allows 102400 MiB/],
            ],
        ],
        ["the burst QOS has more CPUs", { qos: "grp-b", cpusPerTask: 32 }, []],
        ["a QOS not in the association", { qos: "other" }, [["qos", /QOS "other" is not allowed for account grp; its QOS: grp, grp-b/]]],
        ["another account", { account: "lab" }, [["account", /user albert has no association with account "lab"; the accounts it has: grp/]]],
    ])("%s", (_what, fields, expected) => {
        const failures = limitFailures(job(fields), limits);
        expect(failures.map((f) => f.property)).toEqual(expected.map(([p]) => p));
        expected.forEach(([, reason], i) => expect(failures[i].reason).toMatch(reason));
    });
    it("two jobs at once (a renewing chain): the group's totals count both, per-job limits one", () => {
        // 10 CPUs fit QOS grp's 16 once, not twice; 64G fits the 100G total once, not twice.
        expect(limitFailures(job({ cpusPerTask: 10, mem: "64G" }), limits)).toEqual([]);
        const two = limitFailures(job({ cpusPerTask: 10, mem: "64G" }), limits, 2);
        expect(two.map((f) => f.property)).toEqual(["cpusPerTask", "mem"]);
        expect(two[0].reason).toMatch(/asks for 20 CPUs in all, but QOS grp's GrpTRES \(the group's total\) allows 16/);
    });
    it("a cluster with no association for the user checks nothing", () => {
        expect(limitFailures(job({ gpusPerTask: "8" }), parseLimits("user|albert\ndefault|\n"))).toEqual([]);
    });
});

describe("LIMITS_QUERY, run by bash with stand-in sacctmgr and id (the three queries run at once)", () => {
    // Each stand-in answers after a pause that makes them finish in the reverse order of the script's, and one
    // case fails the middle query: the lines must come out tagged and in order, and any failure must fail the script.
    function run(failing: string | undefined): { code: number | null; stdout: string; leftover: string[] } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-limits-"));
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-limits-tmp-"));
        try {
            fs.writeFileSync(path.join(dir, "id"), "#!/bin/sh\necho alice\n", { mode: 0o755 });
            fs.writeFileSync(
                path.join(dir, "sacctmgr"),
                [
                    "#!/bin/bash",
                    'case "$3" in',
                    `  user) sleep 0.3; echo group1 ;;`,
                    `  assoc) sleep 0.2; ${failing === "assoc" ? "echo 'sacctmgr: error: slurmdbd down' >&2; exit 1" : "echo 'group1|gpu|normal|normal|gres/gpu=2|'"} ;;`,
                    `  qos) echo 'normal|cpu=64||' ;;`,
                    "esac",
                ].join("\n"),
                { mode: 0o755 },
            );
            const r = spawnSync("bash", ["-c", LIMITS_QUERY], {
                encoding: "utf8",
                timeout: 30_000,
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, TMPDIR: tmp },
            });
            return { code: r.status, stdout: r.stdout, leftover: fs.readdirSync(tmp) };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }

    it("prints the user, then each query's lines tagged, in the script's order, and leaves no temporary files", () => {
        const r = run(undefined);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("user|alice\ndefault|group1\nassoc|group1|gpu|normal|normal|gres/gpu=2|\nqos|normal|cpu=64||\n");
        expect(r.leftover).toEqual([]);
    });

    it("fails when one query fails, though the others answered (the check then reports sacctmgr's failure)", () => {
        const r = run("assoc");
        expect(r.code).not.toBe(0);
        expect(r.stdout).not.toContain("assoc|");
        expect(r.leftover).toEqual([]);
    });
});
