// SlurmJob's lifecycle under the real Pulumi engine (issue 18), against the local test cluster:
// a refresh after an init failure still leaves the next up to wait and check again; a job
// requeued with `scontrol requeue` is followed (outputs, readiness and endsAt); two states that
// share project, stack and resource names never adopt or cancel each other's job.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
    HOST_KEY_PATH,
    jobsWithTag,
    liveJobsWithTag,
    onCluster,
    requireClusterOrSkip,
    squeueState,
    SSH_PORT,
    TEST_USER,
    USER_KEY_PATH,
    waitUntil,
} from "../support/cluster";
import { journalDir } from "../../providers/slurm/journal";
import { isTerminalState } from "../../providers/slurm/parse";
import { requireEngine, shouldSkipEngineTests, TestStack, type StackResource } from "../support/engine";

const SLURM_JOB_TYPE = "pulumi-nodejs:dynamic/slurm:SlurmJob";
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();
const programDir = path.join(__dirname, "programs", "slurm-lifecycle");
const tagOf = (stackName: string) => `pulumi:sparc-e2e-slurm-lifecycle/${stackName}/service`;

async function newStack(stackName: string, config: Record<string, string> = {}): Promise<TestStack> {
    const stack = await TestStack.create(requireEngine(), { programDir, stackName });
    await stack.setConfig("host", "127.0.0.1");
    await stack.setConfig("port", String(SSH_PORT));
    await stack.setConfig("user", TEST_USER);
    await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
    await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
    for (const [key, value] of Object.entries(config)) {
        await stack.setConfig(key, value);
    }
    return stack;
}

async function jobResource(stack: TestStack): Promise<StackResource | undefined> {
    const { deployment } = await stack.exportState();
    return (deployment.deployment.resources ?? []).find((r) => r.type === SLURM_JOB_TYPE);
}

function squeueField(jobId: string, format: string): string {
    return onCluster(`squeue -h -t all -j ${Number(jobId)} -o ${format}`).stdout.trim();
}

describe.skipIf(skip)("pulumi engine: SlurmJob lifecycle", () => {
    const stacks: TestStack[] = [];
    const tags = new Set<string>();

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
    });

    it("an up that ends in an init failure, then `pulumi refresh`, then `pulumi up`: the up waits and runs the readiness check", async () => {
        const stackName = `lc-refresh-${Date.now().toString(36)}`;
        const stack = await newStack(stackName, { hold: "true", ready: "true", waitTimeoutSeconds: "3" });
        stacks.push(stack);
        tags.add(tagOf(stackName));
        const first = await stack.pulumi(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        expect(first.code).not.toBe(0);
        const jobId = String((await jobResource(stack))?.id ?? "");
        expect(jobId).toMatch(/^\d+$/);
        expect(first.stdout).toContain(`job ${jobId} did not reach RUNNING within waitTimeoutSeconds (3 s)`);
        // The hold is released and the job runs before anyone looks again; refresh drops the engine's init error.
        expect(onCluster(`scontrol update JobId=${Number(jobId)} StartTime=now`).code).toBe(0);
        await waitUntil("the job to run", 120, () => (squeueState(jobId) === "RUNNING" ? true : undefined));
        await stack.refresh();
        const refreshed = await jobResource(stack);
        expect(refreshed?.outputs?.state).toBe("RUNNING");
        expect(refreshed?.outputs?.readyReport ?? "").toBe("");
        // The next up still owes the job its readiness check and its end.
        expect(await stack.preview()).toMatchObject({ update: 1 });
        expect(await stack.up()).toMatchObject({ update: 1 });
        const outputs = await stack.outputs();
        expect(outputs).toMatchObject({ jobId, state: "RUNNING" });
        expect(JSON.parse(String(outputs.readyReport))).toMatchObject({ job: jobId });
        expect(Number(outputs.endsAt)).toBeGreaterThan(0);
        expect((await jobResource(stack))?.outputs?.goalPending).toBe(false);
        // Nothing owed any more.
        expect(await stack.up()).toEqual({ same: 2 });
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([jobId]);
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 300_000);

    it("a job requeued with `scontrol requeue` is followed: refresh marks it, the next up waits, checks it again and records its new start and end", async () => {
        const stackName = `lc-requeue-${Date.now().toString(36)}`;
        const stack = await newStack(stackName, { ready: "true" });
        stacks.push(stack);
        tags.add(tagOf(stackName));
        expect(await stack.up()).toEqual({ create: 2 });
        const before = await stack.outputs();
        const jobId = String(before.jobId);
        const report = JSON.parse(String(before.readyReport)) as { start: string; endsAt: number };
        expect(report.start).toBe(before.startTime);
        expect(before.endsAt).toBe(report.endsAt);
        // Slurm puts the job back in the queue (same id) and starts it again, with a new start and end.
        const requeuedAt = Date.now();
        expect(onCluster(`scontrol requeue ${Number(jobId)}`).code).toBe(0);
        const restarted = await waitUntil(
            "the requeued job to run again",
            240,
            () => {
                const state = squeueState(jobId);
                if (state !== "RUNNING") {
                    if (state === "" || isTerminalState(state)) {
                        const history = onCluster(`sacct -n -D -X -j ${Number(jobId)} -o State,Start,End,ExitCode -P`)
                            .stdout.trim()
                            .replace(/\n/g, "; ");
                        throw new Error(`the requeued job ${jobId} ended (${state || "gone"}) instead of running again: ${history}`);
                    }
                    // A requeued batch job waits out a begin time, which keeps its next launch clear of the old run's
                    // revoked credential: slurmd refuses a credential made in the same second as the revocation ("Job
                    // credential revoked", and the job fails). So it is let start early only 3 s after the requeue.
                    if (state === "PENDING" && Date.now() - requeuedAt >= 3000) {
                        onCluster(`scontrol update JobId=${Number(jobId)} StartTime=now`);
                    }
                    return undefined;
                }
                const start = squeueField(jobId, "%S");
                return start !== before.startTime ? start : undefined;
            },
            1000,
        );
        expect(await stack.refresh()).toMatchObject({ update: 1 });
        expect(await stack.preview()).toMatchObject({ update: 1 });
        expect(await stack.up()).toMatchObject({ update: 1 });
        const after = await stack.outputs();
        expect(after).toMatchObject({ jobId, state: "RUNNING", startTime: restarted });
        const again = JSON.parse(String(after.readyReport)) as { start: string; endsAt: number };
        expect(again.start).toBe(restarted);
        expect(after.endsAt).toBe(again.endsAt);
        expect(Number(after.endsAt)).toBeGreaterThan(Number(before.endsAt));
        expect(await stack.up()).toEqual({ same: 2 });
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 400_000);

    it("two states with the same project, stack and resource names (two machines, a lost backend) never adopt or cancel each other's job", async () => {
        const stackName = `lc-twin-${Date.now().toString(36)}`;
        const config = { hold: "true", waitFor: "submitted" };
        const a = await newStack(stackName, config);
        stacks.push(a);
        tags.add(tagOf(stackName));
        expect(await a.up()).toEqual({ create: 2 });
        const jobA = String((await a.outputs()).jobId);
        // The same names in another backend (what another machine, or a lost local backend, has).
        const b = await newStack(stackName, config);
        stacks.push(b);
        const upB = await b.pulumi(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", b.configFile]);
        const jobB = String((await b.outputs()).jobId);
        expect(jobB).not.toBe(jobA);
        expect(upB.stdout).toContain(`left job ${jobA} (PENDING) alone: it carries this resource's tag but another state's nonce`);
        expect(squeueState(jobA)).toBe("PENDING");
        expect(new Set(liveJobsWithTag(tagOf(stackName)))).toEqual(new Set([jobA, jobB]));
        const nonceA = (await jobResource(a))?.outputs?.ownerNonce;
        const nonceB = (await jobResource(b))?.outputs?.ownerNonce;
        expect(nonceA).toMatch(/^[0-9a-f]{16}$/);
        expect(nonceB).toMatch(/^[0-9a-f]{16}$/);
        expect(nonceB).not.toBe(nonceA);
        // Each state's destroy cancels its own job only.
        await b.destroy();
        expect(squeueState(jobB)).toBe("CANCELLED");
        expect(squeueState(jobA)).toBe("PENDING");
        await a.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 300_000);
    /** `pulumi up` in the background until its job pends, then SIGINTs to the CLI as a terminal's Ctrl-C sends them. */
    async function interruptedUp(stackName: string, signals: number): Promise<{ stack: TestStack; jobId: string; firstExitSeconds: number; result: string }> {
        const stack = await newStack(stackName, { hold: "true", waitTimeoutSeconds: "900" });
        stacks.push(stack);
        tags.add(tagOf(stackName));
        const { child, result } = stack.start(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        let exited = false;
        void result.then(() => (exited = true));
        const jobId = await waitUntil("the job to be submitted", 120, () => jobsWithTag(tagOf(stackName))[0], 200);
        // The provider is past sbatch and waits for RUNNING (the job is held).
        await waitUntil("the job to be read as PENDING", 60, () => (squeueState(jobId) === "PENDING" ? true : undefined));
        await new Promise((r) => setTimeout(r, 3000));
        const sent = Date.now();
        child.kill("SIGINT");
        for (let i = 1; i < signals; i++) {
            // Soon enough that the engine is still at work (the CLI's signal channel holds one signal at a time).
            await new Promise((r) => setTimeout(r, 20));
            if (!exited) {
                child.kill("SIGINT");
            }
        }
        // Bounded: a first Ctrl-C the provider ignores would wait out waitTimeoutSeconds; then a user presses it again.
        await waitUntil("the CLI to exit after Ctrl-C", 60, () => (exited ? true : undefined), 100).catch(() => {
            child.kill("SIGINT");
        });
        const out = await result;
        return { stack, jobId, firstExitSeconds: (Date.now() - sent) / 1000, result: out.stdout + out.stderr };
    }

    it("one Ctrl-C while the job pends: up stops waiting within seconds, the job id is in state, destroy leaves no job of the stack", async () => {
        const stackName = `lc-ctrlc-${Date.now().toString(36)}`;
        const { stack, jobId, firstExitSeconds, result } = await interruptedUp(stackName, 1);
        console.log(`one SIGINT to \`pulumi up\` while job ${jobId} pends: the CLI exited ${firstExitSeconds.toFixed(1)} s after it`);
        expect(result).toContain(`job ${jobId} did not reach RUNNING (the update was cancelled, Ctrl-C)`);
        expect((await jobResource(stack))?.id).toBe(jobId);
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 300_000);

    it("two Ctrl-Cs while the job pends (terminate): destroy leaves no job of the stack", async () => {
        const stackName = `lc-ctrlc2-${Date.now().toString(36)}`;
        const { stack, jobId, firstExitSeconds, result } = await interruptedUp(stackName, 2);
        const held = (await jobResource(stack))?.id;
        console.log(
            `two SIGINTs 20 ms apart to \`pulumi up\` while job ${jobId} pends: the CLI exited ${firstExitSeconds.toFixed(1)} s after the first; ` +
                `job id in state: ${held === jobId ? "yes" : "no"}`,
        );
        // Either the job reached the state (destroy cancels it) or the provider cancelled it on its way out.
        await waitUntil("the job to be in state or ended", 30, () =>
            held === jobId || !liveJobsWithTag(tagOf(stackName)).includes(jobId) ? true : undefined,
        ).catch(() => undefined);
        await stack.pulumi(
            ["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile],
            {
                allowFailure: true,
            },
        );
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
        console.log(`the CLI said: ${result.match(/\^C received; terminating|terminat[a-z]*/)?.[0] ?? "(no termination)"}`);
        console.log(
            result
                .split("\n")
                .filter((l) => /reached the state|cancelled/.test(l))
                .join("\n"),
        );
        expect(result).not.toContain("panic");
    }, 300_000);
    it("the provider's process group gets SIGINT (what the engine sends when it terminates) while the job pends: the job is cancelled, destroy leaves no job of the stack", async () => {
        const stackName = `lc-sigint-${Date.now().toString(36)}`;
        const stack = await newStack(stackName, { hold: "true", waitTimeoutSeconds: "900" });
        stacks.push(stack);
        tags.add(tagOf(stackName));
        const { child, result } = stack.start(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        let exited = false;
        void result.then(() => (exited = true));
        const jobId = await waitUntil("the job to be submitted", 120, () => jobsWithTag(tagOf(stackName))[0], 200);
        await waitUntil("the job to be read as PENDING", 60, () => (squeueState(jobId) === "PENDING" ? true : undefined));
        await new Promise((r) => setTimeout(r, 3000));
        // The dynamic-provider host: the CLI's child in a process group of its own (the launcher execs node).
        const providerPid = await waitUntil("the provider process", 30, () => {
            const line = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(child.pid)], { encoding: "utf8" })
                .split("\n")
                .find((l) => l.includes("cmd/dynamic-provider"));
            return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
        });
        const sent = Date.now();
        process.kill(-providerPid, "SIGINT");
        await waitUntil("the job to end", 30, () => (liveJobsWithTag(tagOf(stackName)).includes(jobId) ? undefined : true));
        console.log(`SIGINT to the provider's process group: job ${jobId} ${squeueState(jobId) || "gone"} ${((Date.now() - sent) / 1000).toFixed(1)} s later`);
        await waitUntil("the CLI to exit", 60, () => (exited ? true : undefined), 100).catch(() => child.kill("SIGINT"));
        const out = await result;
        expect(out.stdout + out.stderr).toContain(`SIGINT before job ${jobId} reached the state: cancelled it`);
        // Cancelled, so nothing is left in the local journal for the next up to adopt.
        const journaled = fs.existsSync(journalDir()) ? fs.readdirSync(journalDir()).map((f) => fs.readFileSync(path.join(journalDir(), f), "utf8")) : [];
        expect(journaled.filter((text) => text.includes(tagOf(stackName)))).toEqual([]);
        await stack.pulumi(
            ["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile],
            {
                allowFailure: true,
            },
        );
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 300_000);
    it("the provider's process group SIGKILLed while the job pends (no id in state): the next up adopts the job from the local journal, destroy leaves no job of the stack", async () => {
        const stackName = `lc-sigkill-${Date.now().toString(36)}`;
        const stack = await newStack(stackName, { hold: "true", waitTimeoutSeconds: "900" });
        stacks.push(stack);
        tags.add(tagOf(stackName));
        const { child, result } = stack.start(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        let exited = false;
        void result.then(() => (exited = true));
        const jobId = await waitUntil("the job to be submitted", 120, () => jobsWithTag(tagOf(stackName))[0], 200);
        await waitUntil("the job to be read as PENDING", 60, () => (squeueState(jobId) === "PENDING" ? true : undefined));
        await new Promise((r) => setTimeout(r, 3000));
        const providerPid = await waitUntil("the provider process", 30, () => {
            const line = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(child.pid)], { encoding: "utf8" })
                .split("\n")
                .find((l) => l.includes("cmd/dynamic-provider"));
            return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
        });
        process.kill(-providerPid, "SIGKILL");
        await waitUntil("the CLI to exit", 60, () => (exited ? true : undefined), 100).catch(() => child.kill("SIGINT"));
        expect((await result).code).not.toBe(0);
        expect((await jobResource(stack))?.id).toBeUndefined();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([jobId]);
        // What the CLI tells the user to do about the pending create; then the next up (its check draws a new nonce).
        await stack.pulumi([
            "refresh",
            "--yes",
            "--skip-preview",
            "--clear-pending-creates",
            "--stack",
            stackName,
            "--non-interactive",
            "--config-file",
            stack.configFile,
        ]);
        await stack.setConfig("waitTimeoutSeconds", "3");
        const next = await stack.pulumi(["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        expect(next.stdout).toContain(`adopted job ${jobId}`);
        expect((await jobResource(stack))?.id).toBe(jobId);
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([jobId]);
        await stack.destroy();
        expect(liveJobsWithTag(tagOf(stackName))).toEqual([]);
    }, 300_000);
});
