// Issue 18 item 13: what Pulumi's import does with a SlurmJob, through the real engine and the
// test cluster. `pulumi import` cannot reach SlurmJob's code (the engine sends no properties, so
// the dynamic-provider host has no serialized provider: "code must be a string, not undefined");
// the `import` resource option is refused by SlurmJob itself, naming adoptJobId, which works.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_KEY_PATH, TEST_USER, USER_KEY_PATH, onCluster, requireClusterOrSkip, squeueState } from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const programDir = path.join(__dirname, "programs", "slurm-import");
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

describe.skipIf(skip)("pulumi import of a SlurmJob", () => {
    let stack: TestStack;
    let jobId = "";
    const args = () => ["--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile];

    beforeAll(async () => {
        stack = await TestStack.create(requireEngine(), { programDir, stackName: `import-${Date.now().toString(36)}` });
        await stack.setConfig("host", "127.0.0.1");
        await stack.setConfig("port", "2222");
        await stack.setConfig("user", TEST_USER);
        await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
        await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
        // A job submitted by hand (held, so it waits), to be taken over.
        const r = onCluster("printf '#!/bin/bash\\nsleep 600\\n' | sbatch --hold --parsable -o /dev/null -J sparc-e2e-import");
        jobId = r.stdout.trim();
        expect(jobId, r.stderr).toMatch(/^\d+$/);
    });

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        await stack?.dispose();
        if (jobId !== "") {
            onCluster(`scancel ${Number(jobId)}`);
        }
    });

    it("pulumi import fails in Pulumi's dynamic-provider host, before any SlurmJob code, and imports nothing", async () => {
        const r = await stack.pulumi(["import", "pulumi-nodejs:dynamic/slurm:SlurmJob", "adopted", jobId, "--yes", ...args()], { allowFailure: true });
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toContain("code must be a string, not undefined");
        expect(squeueState(jobId)).toBe("PENDING");
    });

    it("the import resource option is refused by SlurmJob, naming adoptJobId with the id", async () => {
        await stack.setConfig("importId", jobId);
        const r = await stack.pulumi(["up", "--yes", "--skip-preview", ...args()], { allowFailure: true });
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toContain(`Drop import and set adoptJobId: "${jobId}" on this SlurmJob instead`);
        expect(squeueState(jobId)).toBe("PENDING");
    });

    it("adoptJobId takes the job over without submitting, and destroy cancels it", async () => {
        await stack.pulumi(["config", "rm", "importId", ...args()]);
        await stack.setConfig("adoptJobId", jobId);
        expect(await stack.up()).toEqual({ create: 1, same: 1 }); // the stack resource itself was created by the refused up
        expect(String((await stack.outputs()).jobId)).toBe(jobId);
        await stack.destroy();
        expect(squeueState(jobId)).toBe("CANCELLED");
    });
});
