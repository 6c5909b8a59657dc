// Issue 18 item 9: what a job prints (its log) and what its port answers (/health) stay out of
// the errors `pulumi up` prints and out of the state it writes (initErrors). A real `pulumi up`
// (test/support/engine.ts) of two SlurmJobs on the test cluster that fail the hpg stack's readiness check
// while their log and /health body hold a token-shaped secret; every file of the stack's
// file:// backend (the state, its backups and history) and the CLI's output are searched for it.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_KEY_PATH, TEST_USER, USER_KEY_PATH, onCluster, requireClusterOrSkip } from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const programDir = path.join(__dirname, "programs", "slurm-readiness");
const SLURM_JOB_TYPE = "pulumi-nodejs:dynamic/slurm:SlurmJob";
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe.skipIf(skip)("pulumi up: a job's log and /health answer stay out of errors and state", () => {
    let stack: TestStack;
    // Token-shaped (a GitHub token's form), new per run; only the cluster and this test know it.
    const token = `ghp_${randomBytes(18).toString("hex")}`;
    const dir = `/home/${TEST_USER}/sparc-e2e-secret-${Date.now().toString(36)}`;
    let output = "";

    beforeAll(async () => {
        const made = onCluster(`umask 077 && mkdir -p ${dir} && printf '%s' ${token} > ${dir}/token`);
        expect(made.code, made.stderr).toBe(0);
        stack = await TestStack.create(requireEngine(), { programDir, stackName: `secret-${Date.now().toString(36)}` });
        await stack.setConfig("dir", dir);
        await stack.setConfig("host", "127.0.0.1");
        await stack.setConfig("port", "2222");
        await stack.setConfig("user", TEST_USER);
        await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
        await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
    });

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        await stack?.dispose();
        onCluster(`rm -rf ${dir}`);
    });

    it("up fails on both readiness checks, saying why and where the log is, and prints no token", async () => {
        const up = await stack.pulumi(["up", "--yes", "--skip-preview", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile], {
            allowFailure: true,
        });
        output = up.stdout + up.stderr;
        expect(up.code, output).not.toBe(0);
        expect(output).not.toContain(token);
        expect(output).toMatch(/job \d+ is RUNNING but not ready: job \d+ wrote no endpoint file/);
        expect(output).toMatch(/job \d+ is RUNNING but not ready: refusing http:\/\/localhost:\d+\/health: it answers, but not as job \d+/);
        expect(output).toContain(`the job's log is not shown here (it may hold secrets): ${dir}/silent_`);
        // The jobs really did print the token, and the port really did answer with it: the absence above means something.
        expect(onCluster(`cat ${dir}/silent_*.log ${dir}/foreign_*.log`).stdout).toContain(`SERVICE_TOKEN=${token}`);
        expect(onCluster(`cat ${dir}/www_*/health`).stdout).toContain(token);
    });

    it("the state keeps both jobs with their init errors, and no file of the backend holds the token", async () => {
        const { deployment } = await stack.exportState({ showSecrets: true });
        const jobs = (deployment.deployment.resources ?? []).filter((r) => r.type === SLURM_JOB_TYPE) as { initErrors?: string[] }[];
        expect(jobs).toHaveLength(2);
        for (const job of jobs) {
            expect(job.initErrors?.join("\n")).toMatch(/is RUNNING but not ready/);
        }
        const files = filesUnder(path.join(stack.tempDir, "state"));
        expect(files.some((f) => f.endsWith(`${stack.stackName}.json`))).toBe(true);
        expect(files.filter((f) => fs.readFileSync(f).includes(token))).toEqual([]);
    });
});
