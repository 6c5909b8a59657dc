// The self-renewing chain's pure parts (providers/slurm/chain.ts): which resources are chains, the
// script's order of steps (stop marker before and right after sbatch), the one-query read, and diff
// ignoring the chain's job id moving on. Its behaviour on a real cluster: test/cluster/slurm-chain.test.ts.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
    selfRenewalWarning,
    chainKeyOf,
    chainOutputs,
    chainPathOf,
    currentJob,
    inChain,
    isChain,
    limitWarning,
    parseChainRead,
    readChainArgv,
    renderChainScript,
} from "../../../../providers/slurm/chain";
import { jobComment } from "../../../../providers/slurm/ownership";
import { slurmJobProvider } from "../../../../providers/slurm/provider";
import { validateJobInputs } from "../../../../providers/slurm/validate";
import type { JobStatus, SlurmJobInputs, SlurmJobOutputs } from "../../../../providers/slurm/types";

const NONCE = "0123456789abcdef";
const HASH = "fedcba9876543210";
const inputs = {
    command: "exec sleep 1000",
    partition: "gpu",
    time: "14-00:00:00",
    renewBeforeSeconds: 172800,
    chainDir: "/blue/g/u/.chains/",
    ownerNonce: NONCE,
    ownerTag: "pulumi:p/s/svc",
    waitFor: "running",
} as unknown as SlurmJobInputs;
const PATH = chainPathOf(inputs, HASH);

function job(id: string, state: string, comment = jobComment("pulumi:p/s/svc", HASH, "aaaaaaaa", NONCE), reason = ""): JobStatus {
    return { jobId: id, state, reason, nodeList: "", submitTime: "", startTime: "", endTime: "", exitCode: "", comment, source: "squeue" };
}

describe("chain", () => {
    it("is a chain only with chainDir and renewBeforeSeconds > 0", () => {
        expect(isChain(inputs)).toBe(true);
        expect(isChain({ ...inputs, renewBeforeSeconds: 0 })).toBe(false);
        expect(isChain({ ...inputs, chainDir: undefined })).toBe(false);
    });

    it("names its directory by nonce and script hash, and knows its jobs by them (not by the tag: a rename keeps the chain)", () => {
        expect(PATH).toBe(`/blue/g/u/.chains/chain-${NONCE}-${HASH}`);
        expect(chainKeyOf(PATH)).toEqual({ nonce: NONCE, hash: HASH });
        expect(inChain(job("1", "RUNNING", jobComment("pulumi:p/renamed/svc", HASH, "bbbbbbbb", NONCE)), PATH)).toBe(true);
        expect(inChain(job("1", "RUNNING", jobComment("pulumi:p/s/svc", "1111111111111111", "bbbbbbbb", NONCE)), PATH)).toBe(false);
        expect(inChain(job("1", "RUNNING", jobComment("pulumi:p/s/svc", HASH, "bbbbbbbb", "1111111111111111")), PATH)).toBe(false);
    });

    it("renders a script bash accepts, that checks the stop marker before and right after sbatch", () => {
        const script = renderChainScript(inputs, PATH);
        expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
        const at = (s: string) => script.indexOf(s);
        expect(script.startsWith("#!/bin/bash\n#SBATCH --partition=gpu\n#SBATCH --time=14-00:00:00\n")).toBe(true);
        expect(at('"stop marker: no successor"')).toBeGreaterThan(0);
        expect(at('"stop marker: no successor"')).toBeLessThan(at("--parsable"));
        expect(at('"stop marker: cancelled successor $succ"')).toBeGreaterThan(at("--parsable"));
        expect(at("handed over to")).toBeGreaterThan(at('chain_ready "$succ"'));
        // One squeue per poll, the pause read from the chain's settings.
        expect(script).toContain('sleep "$poll" & wait $!');
    });

    it("reads the chain with one scheduler command: the current job is the newest RUNNING one", () => {
        const argv = readChainArgv(PATH, "u");
        expect(argv[2].match(/squeue/g)).toHaveLength(1);
        const mine = jobComment("pulumi:p/s/svc", HASH, "aaaaaaaa", NONCE);
        const stdout = [
            `10|COMPLETED|None|n1|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-15T00:00:01|${mine}`,
            `11|RUNNING|None|n2|2026-01-13T00:00:00|2026-01-13T00:00:01|2026-01-27T00:00:01|${mine}`,
            `12|PENDING|QOSGrpGRES|(null)|2026-01-27T00:00:00|N/A|N/A|${mine}`,
            `13|RUNNING|None|n3|x|y|z|someone else's`,
            "--chain-read-part--",
            '{"node":"n2","port":8000,"jobId":"11","endsAt":1769472001}',
            "--chain-read-part--",
            `${PATH}/end.11:1769472001`,
            "--chain-read-part--",
            "ok",
            "--chain-read-part--",
            "",
        ].join("\n");
        const view = parseChainRead(stdout, PATH);
        expect(view.jobs.map((j) => j.jobId)).toEqual(["12", "11", "10"]);
        expect(view.current?.jobId).toBe("11");
        expect(view.probe).toBe("ok");
        const outs = chainOutputs({ jobId: "10" } as SlurmJobOutputs, view);
        expect(outs).toMatchObject({
            jobId: "11",
            state: "RUNNING",
            endsAt: 1769472001,
            readyReport: '{"node":"n2","port":8000,"jobId":"11","endsAt":1769472001}',
        });
        expect(limitWarning(view)).toMatch(/^successor 12 is PENDING \(QOSGrpGRES\): the group's limits cannot hold two jobs of this chain at once/);
    });

    it("current job: RUNNING, else waiting, else the newest ended", () => {
        expect(currentJob([job("5", "PENDING"), job("4", "COMPLETED")])?.jobId).toBe("5");
        expect(currentJob([job("5", "CANCELLED"), job("4", "COMPLETED")])?.jobId).toBe("5");
        expect(currentJob([])).toBeUndefined();
    });

    it("diff ignores the chain's job id moving on, and never plans a renewal itself", async () => {
        const olds = {
            ...inputs,
            connection: { host: "h", user: "u" },
            chainPath: PATH,
            jobId: "11",
            state: "RUNNING",
            endsAt: 1,
        } as unknown as SlurmJobOutputs;
        const d = await slurmJobProvider.diff?.("10", olds, { ...inputs, connection: { host: "h", user: "u" } } as SlurmJobInputs);
        expect(d).toMatchObject({ changes: false, replaces: [] });
        // A new time limit is a new chain (its jobs' script), never a scontrol of one job.
        const t = await slurmJobProvider.diff?.("10", olds, { ...inputs, time: "13-00:00:00", connection: { host: "h", user: "u" } } as SlurmJobInputs);
        expect(t?.replaces).toEqual(["time"]);
    });

    it("says at up, when the site forbids jobs submitting jobs, the setting, its value and the fix", () => {
        const text = selfRenewalWarning(
            { renewBeforeSeconds: 172_800, chainDir: "/blue/g/u/.sparc-chain" },
            "failed: sbatch: error: Batch job submission failed: Access denied",
        );
        expect(text).toContain("renewBeforeSeconds = 172800 (with chainDir /blue/g/u/.sparc-chain)");
        expect(text).toContain(
            "this site does not let a job submit jobs (sbatch --test-only from the job failed: sbatch: error: Batch job submission failed: Access denied)",
        );
        expect(text).toContain("the next `pulumi up` after that submits exactly one replacement");
        expect(text).toMatch(/Fix: ask the cluster's administrators to allow sbatch from jobs .* or set renewBeforeSeconds to 0/);
    });

    it("refuses a relative chainDir, a whole script, and a poll under a second, naming the field", () => {
        const reasons = validateJobInputs({ ...inputs, chainDir: "chains", chainPollSeconds: 0 }).map((f) => f.property);
        expect(reasons).toEqual(expect.arrayContaining(["chainDir", "chainPollSeconds"]));
        const script = validateJobInputs({ ...inputs, command: undefined, partition: undefined, time: undefined, script: "#!/bin/bash\nsleep 1\n" });
        expect(script.map((f) => f.property)).toContain("chainDir");
    });
});
