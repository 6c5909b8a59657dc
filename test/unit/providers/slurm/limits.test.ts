// The pure half of the limits check (providers/slurm/limits.ts): TRES strings, what a job asks for in all, and
// which limit a request exceeds. The cluster half: test/cluster/slurm-limits.test.ts.
import { describe, expect, it } from "vitest";
import { jobRequest, limitFailures, parseLimits, parseTres } from "../../../../providers/slurm/limits";
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
