// Issue 18 item 13: destroy from another machine. The engine hands a SlurmJob's delete the state,
// which records the connection of the machine that last ran `up` (openssh transport: its key file
// path). Through the real engine and the test cluster's sshd: machine A's key file is gone and B
// has its own; destroy says so before any login and names the fix, and `pulumi up` on B (no change
// to the job) followed by destroy cancels the job.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_KEY_PATH, SSH_PORT, TEST_USER, USER_KEY_PATH, onCluster, requireClusterOrSkip, squeueState } from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const programDir = path.join(__dirname, "programs", "slurm-machine");
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

describe.skipIf(skip)("destroy from another machine (openssh transport, key file in state)", () => {
    let stack: TestStack;
    let jobId = "";
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-machine-"));
    const keyOf = (machine: string) => path.join(tmp, machine, "id_ed25519");
    const args = () => ["--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile];
    const installKey = (machine: string) => {
        fs.mkdirSync(path.join(tmp, machine), { recursive: true, mode: 0o700 });
        fs.copyFileSync(USER_KEY_PATH, keyOf(machine));
        fs.chmodSync(keyOf(machine), 0o600);
    };

    beforeAll(async () => {
        installKey("a");
        stack = await TestStack.create(requireEngine(), { programDir, stackName: `machine-${Date.now().toString(36)}` });
        await stack.setConfig("host", "127.0.0.1");
        await stack.setConfig("port", String(SSH_PORT));
        await stack.setConfig("user", TEST_USER);
        await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
        await stack.setConfig("identityFile", keyOf("a"));
        await stack.setConfig("controlPath", path.join(tmp, "cm-%C"));
    });

    afterAll(async () => {
        if (jobId !== "") {
            onCluster(`scancel ${Number(jobId)}`);
        }
        await stack?.destroy().catch(() => undefined);
        await stack?.dispose();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("machine A: up submits the job", async () => {
        expect(await stack.up()).toEqual({ create: 2 });
        jobId = String((await stack.outputs()).jobId);
        expect(squeueState(jobId)).toBe("PENDING");
    });

    it("machine B, straight to destroy: refused before any login, naming A's key file and the fix; the job is untouched", async () => {
        fs.rmSync(path.join(tmp, "a"), { recursive: true });
        installKey("b");
        await stack.setConfig("identityFile", keyOf("b"));
        const r = await stack.pulumi(["destroy", "--yes", "--skip-preview", ...args()], { allowFailure: true });
        const text = r.stdout + r.stderr;
        expect(r.code).not.toBe(0);
        expect(text).toContain(`the state's connection names the key file ${JSON.stringify(keyOf("a"))}`);
        expect(text).toContain("Run `pulumi up` here first");
        expect(squeueState(jobId)).toBe("PENDING");
    });

    it("machine B: up records B's connection without touching the job, then destroy cancels it", async () => {
        expect(await stack.up()).toEqual({ same: 1, update: 1 });
        expect(String((await stack.outputs()).jobId)).toBe(jobId);
        expect(squeueState(jobId)).toBe("PENDING");
        expect(await stack.destroy()).toEqual({ delete: 2 });
        expect(squeueState(jobId)).toBe("CANCELLED");
    });
});
