// SlurmJob through the real Pulumi engine against the local test cluster
// (test/cluster/setup.sh): submit, no-op up, out-of-band cancel, refresh, resubmit, destroy.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    FaultProxy,
    HOST_KEY_PATH,
    jobsWithTag,
    liveJobsWithTag,
    onCluster,
    requireClusterOrSkip,
    squeueState,
    TEST_USER,
    USER_KEY_PATH,
    waitUntil,
} from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const programDir = path.join(__dirname, "programs", "slurm");
const SLURM_JOB_TYPE = "pulumi-nodejs:dynamic/slurm:SlurmJob";
// How `pulumi stack export` marks an encrypted value.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const TERMINAL = /^(CANCELLED|COMPLETED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)$/;

// Engine first: in CI a missing engine or cluster fails in beforeAll; locally either one skips.
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

describe.skipIf(skip)("pulumi engine: SlurmJob on the test cluster", () => {
    let stack: TestStack;
    // Every SSH connection of the program goes through this proxy, so the test counts
    // exactly the provider's connections, whatever else uses the shared sshd.
    const proxy = new FaultProxy();
    const privateKey = fs.readFileSync(USER_KEY_PATH, "utf8");
    let firstJobId = "";
    let secondJobId = "";
    let ownerTag = "";

    beforeAll(async () => {
        const engine = requireEngine();
        const port = await proxy.listen();
        // A fresh stack name per run gives a fresh ownership tag: no job of an earlier run is adopted.
        stack = await TestStack.create(engine, { programDir, stackName: `slurm-${Date.now().toString(36)}` });
        await stack.setConfig("host", "127.0.0.1");
        await stack.setConfig("port", String(port));
        await stack.setConfig("user", TEST_USER);
        await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
        await stack.setConfig("privateKey", privateKey, { secret: true });
    });

    afterAll(async () => {
        // Leave no job behind if a step failed half-way.
        for (const jobId of [firstJobId, secondJobId].filter((id) => id !== "")) {
            onCluster(`scancel ${Number(jobId)}`);
        }
        await stack?.destroy().catch(() => undefined);
        await stack?.dispose();
        await proxy.close();
    });

    it("up submits one job and waits until it runs", async () => {
        expect(await stack.up()).toEqual({ create: 2 });
        const outputs = await stack.outputs();
        firstJobId = String(outputs.jobId);
        ownerTag = String(outputs.ownerTag);
        expect(firstJobId).toMatch(/^\d+$/);
        expect(outputs.state).toBe("RUNNING");
        expect(squeueState(firstJobId)).toBe("RUNNING");
        expect(jobsWithTag(ownerTag)).toEqual([firstJobId]);
        // The provider really went through the proxy, so the count below means something.
        expect(proxy.connections).toBeGreaterThan(0);
    });

    it("preview with nothing to change opens no SSH connection", async () => {
        const before = proxy.connections;
        expect(await stack.preview()).toEqual({ same: 2 });
        expect(proxy.connections - before).toBe(0);
    });

    it("a second up changes nothing and submits nothing", async () => {
        expect(await stack.up()).toEqual({ same: 2 });
        expect(jobsWithTag(ownerTag)).toEqual([firstJobId]);
    });

    it("the exported state holds the private key only encrypted", async () => {
        const { text, deployment } = await stack.exportState({ showSecrets: false });
        const keyBody = privateKey.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));
        expect(keyBody.length).toBeGreaterThan(0);
        for (const line of keyBody) {
            expect(text).not.toContain(line);
        }
        // (The text "PRIVATE KEY" itself does occur: in the serialized provider's validation message.)
        const [job] = (deployment.deployment.resources ?? []).filter((r) => r.type === SLURM_JOB_TYPE);
        expect(job?.inputs?.connection).toHaveProperty([SECRET_SIG], SECRET_SIG_VALUE);
        expect(job?.outputs?.connection).toHaveProperty([SECRET_SIG], SECRET_SIG_VALUE);
    });

    it("refresh sees a job cancelled out of band", async () => {
        expect(onCluster(`scancel ${Number(firstJobId)}`).code).toBe(0);
        await waitUntil("the job to end", 60, () => (TERMINAL.test(squeueState(firstJobId)) ? true : undefined));
        expect(await stack.refresh()).toEqual({ same: 1, update: 1 });
        const { deployment } = await stack.exportState();
        const jobs = (deployment.deployment.resources ?? []).filter((r) => r.type === SLURM_JOB_TYPE);
        expect(jobs.map((r) => [r.id, r.outputs?.state])).toEqual([[firstJobId, "CANCELLED"]]);
    });

    it("the next up resubmits exactly one job", async () => {
        expect(await stack.up()).toEqual({ same: 1, replace: 1 });
        secondJobId = String((await stack.outputs()).jobId);
        expect(secondJobId).not.toBe(firstJobId);
        expect(squeueState(secondJobId)).toBe("RUNNING");
        // One query of the jobs that have not ended (listing all, then asking each, races MinJobAge:
        // a job purged in between answers "" and would count as live).
        expect(liveJobsWithTag(ownerTag)).toEqual([secondJobId]);
    });

    it("destroy cancels the job", async () => {
        expect(await stack.destroy()).toEqual({ delete: 2 });
        await waitUntil("the job to end", 60, () => (TERMINAL.test(squeueState(secondJobId)) ? true : undefined));
        expect(squeueState(secondJobId)).toBe("CANCELLED");
        expect(liveJobsWithTag(ownerTag)).toEqual([]);
    });
});
