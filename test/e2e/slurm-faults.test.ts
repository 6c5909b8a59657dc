// SlurmJob faults under the real Pulumi engine (issue 9), against the local test cluster:
// a connection cut after sbatch leaves the job in state so destroy cancels it; a stack
// rename, an aliased resource rename and another spelling of the host plan no replace;
// a state written by the provider before the shim refreshes, migrates and destroys.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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
import { requireEngine, shouldSkipEngineTests, TestStack, type StackResource } from "../support/engine";

const SLURM_JOB_TYPE = "pulumi-nodejs:dynamic/slurm:SlurmJob";
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();
const programDir = path.join(__dirname, "programs", "slurm");
const legacyDir = path.join(__dirname, "programs", "slurm-legacy");

async function newStack(dir: string, label: string, port: number, host = "127.0.0.1"): Promise<TestStack> {
    const stack = await TestStack.create(requireEngine(), { programDir: dir, stackName: `${label}-${Date.now().toString(36)}` });
    await stack.setConfig("host", host);
    await stack.setConfig("port", String(port));
    await stack.setConfig("user", TEST_USER);
    await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
    await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
    return stack;
}

async function jobResource(stack: TestStack): Promise<StackResource | undefined> {
    const { deployment } = await stack.exportState();
    return (deployment.deployment.resources ?? []).find((r) => r.type === SLURM_JOB_TYPE);
}

describe.skipIf(skip)("pulumi engine: SlurmJob faults", () => {
    const proxy = new FaultProxy();
    let listening: Promise<number> | undefined;
    const proxyPort = () => (listening ??= proxy.listen());
    const stacks: TestStack[] = [];
    const tags: string[] = [];

    afterAll(async () => {
        for (const stack of stacks) {
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        }
        for (const tag of tags) {
            const ids = jobsWithTag(tag);
            if (ids.length > 0) {
                onCluster(`scancel ${ids.map(Number).join(" ")}`);
            }
        }
        await proxy.close();
    });

    it("up cut after sbatch fails, but keeps the job in state; the next up re-reads it until RUNNING; destroy then leaves no job", async () => {
        const port = await proxyPort();
        const stack = await newStack(programDir, "slurm-cut", port);
        stacks.push(stack);
        await stack.setConfig("hold", "true");
        const tag = `pulumi:sparc-e2e-slurm/${stack.stackName}/service`;
        tags.push(tag);
        const up = stack.pulumi(
            ["up", "--yes", "--skip-preview", "--json", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile],
            { allowFailure: true },
        );
        const jobId = await waitUntil("the job to appear", 120, () => jobsWithTag(tag)[0], 200);
        // The login node goes away while the provider waits for RUNNING.
        proxy.refuseNew = true;
        proxy.cutAll();
        const result = await up;
        proxy.refuseNew = false;
        expect(result.code).not.toBe(0);
        expect(result.stdout).toContain(`job ${jobId} exists, but`);
        const held = await jobResource(stack);
        expect(held?.id).toBe(jobId);
        expect(squeueState(jobId)).toBe("PENDING");
        // The next up (the link is back, the hold released) runs update, which reads the job again and
        // waits for RUNNING instead of reporting success unchecked.
        expect(onCluster(`scontrol update JobId=${Number(jobId)} StartTime=now`).code).toBe(0);
        const next = await stack.up();
        expect(next.replace ?? 0).toBe(0);
        const outputs = await stack.outputs();
        expect(outputs).toMatchObject({ jobId, state: "RUNNING" });
        expect(liveJobsWithTag(tag)).toEqual([jobId]);
        await stack.destroy();
        expect(squeueState(jobId)).toBe("CANCELLED");
        expect(liveJobsWithTag(tag)).toEqual([]);
    }, 300_000);

    it("a stack rename, an aliased resource rename and another spelling of the host plan no replace, and keep the job", async () => {
        const port = await proxyPort();
        const stack = await newStack(programDir, "slurm-ident", port);
        stacks.push(stack);
        expect(await stack.up()).toEqual({ create: 2 });
        const jobId = String((await stack.outputs()).jobId);
        tags.push(`pulumi:sparc-e2e-slurm/${stack.stackName}/service`);
        // The host spelled another way (an ~/.ssh/config alias, a cron machine): same cluster.
        await stack.setConfig("host", "localhost");
        const hostPreview = await stack.preview();
        expect(hostPreview.replace ?? 0).toBe(0);
        expect(hostPreview).toMatchObject({ update: 1 });
        // The resource renamed, with an alias.
        await stack.setConfig("resourceName", "renamed-service");
        expect((await stack.preview()).replace ?? 0).toBe(0);
        // The stack renamed (its ownership tag changes with it).
        const renamed = `${stack.stackName}-renamed`;
        await stack.pulumi(["stack", "rename", renamed, "--stack", stack.stackName, "--non-interactive"]);
        (stack as unknown as { stackName: string }).stackName = renamed;
        const preview = await stack.preview();
        expect(preview.replace ?? 0).toBe(0);
        expect(await stack.up()).toMatchObject({ update: 1 });
        expect(String((await stack.outputs()).jobId)).toBe(jobId);
        expect(squeueState(jobId)).toBe("RUNNING");
        const res = await jobResource(stack);
        expect(res?.outputs?.clusterName).toBe("testcluster");
        expect(res?.outputs?.ownerTag).toBe(`pulumi:sparc-e2e-slurm/${renamed}/renamed-service`);
        await stack.destroy();
        expect(squeueState(jobId)).toBe("CANCELLED");
    }, 300_000);

    it("a state written by the provider before the shim refreshes, migrates by an update (no replace) to the small shim, and destroys", async () => {
        const port = await proxyPort();
        const stack = await newStack(legacyDir, "slurm-legacy", port);
        stacks.push(stack);
        expect(await stack.up()).toEqual({ create: 2 });
        const jobId = String((await stack.outputs()).jobId);
        tags.push(`pulumi:sparc-e2e-slurm/${stack.stackName}/service`);
        const before = JSON.stringify((await jobResource(stack))?.outputs?.__provider ?? "").length;
        // From now on the current program runs on that state.
        (stack as unknown as { programDir: string }).programDir = programDir;
        expect(await stack.refresh()).toEqual({ same: 2 });
        const preview = await stack.preview();
        expect(preview).toEqual({ same: 1, update: 1 });
        expect(await stack.up()).toEqual({ same: 1, update: 1 });
        const res = await jobResource(stack);
        expect(res?.id).toBe(jobId);
        const after = JSON.stringify(res?.outputs?.__provider ?? "").length;
        console.log(`__provider in state per SlurmJob: ${before} characters before (frozen provider), ${after} after (shim)`);
        expect(after).toBeLessThan(4000);
        expect(res?.outputs?.clusterName).toBe("testcluster");
        // A second up changes nothing.
        expect(await stack.up()).toEqual({ same: 2 });
        await stack.destroy();
        expect(squeueState(jobId)).toBe("CANCELLED");
    }, 300_000);

    it("a state written by the provider before the shim is refreshed and destroyed directly", async () => {
        const port = await proxyPort();
        const stack = await newStack(legacyDir, "slurm-legacy2", port);
        stacks.push(stack);
        expect(await stack.up()).toEqual({ create: 2 });
        const jobId = String((await stack.outputs()).jobId);
        tags.push(`pulumi:sparc-e2e-slurm/${stack.stackName}/service`);
        (stack as unknown as { programDir: string }).programDir = programDir;
        expect(await stack.refresh()).toEqual({ same: 2 });
        expect(await stack.destroy()).toEqual({ delete: 2 });
        expect(squeueState(jobId)).toBe("CANCELLED");
    }, 300_000);
});
