// The providers' progress lines as `pulumi up` shows them under the real engine, against the
// second-factor sshd (127.0.0.1:2224, answering Duo's "Passcode or option" with "1", i.e. a push)
// in front of the test cluster: the line before the one login, the upload's bytes, and one line
// per poll of a job held PENDING (--begin one hour out) with Slurm's reason and start estimate.
// Each under its own resource in the Diagnostics section, not among the global messages.
// The job never runs: the up ends after waitTimeoutSeconds with the job kept in state, and
// destroy cancels it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { diagnosticsByResource, requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";
import { HOST_KEY_PATH, TEST_USER, USER_KEY_PATH, onCluster, requireClusterOrSkip } from "../support/cluster";
import { countsSince, requireSecondFactorOrSkip, setMode, settle, tfaCounts, TFA_PORT } from "../support/second-factor";

const programDir = path.join(__dirname, "programs", "progress");
const skip = shouldSkipEngineTests() || !requireClusterOrSkip() || !requireSecondFactorOrSkip();
const UPLOAD_BYTES = 3 * 1024 * 1024;
const WAIT_SECONDS = 12;
const SECRETS = ["PRIVATE KEY"];

describe.skipIf(skip).each(["ssh2", "openssh"] as const)("progress lines in `pulumi up` (%s transport, real engine)", (transport) => {
    const stackName = `progress-${transport}-${Date.now().toString(36)}`;
    const jobName = `sparc-progress-${transport}-${process.pid}`;
    const remoteFile = `/tmp/sparc-progress-${transport}-${process.pid}.bin`;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-progress-"));
    const uploadFile = path.join(work, "archive.bin");
    let stack: TestStack;
    let up = "";
    let logins = 0;

    beforeAll(async () => {
        setMode("duo", "1");
        fs.writeFileSync(uploadFile, Buffer.alloc(UPLOAD_BYTES, 7));
        stack = await TestStack.create(requireEngine(), { programDir, stackName });
        const config: Record<string, string> = {
            host: "127.0.0.1",
            port: String(TFA_PORT),
            user: TEST_USER,
            hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
            transport,
            identityFile: USER_KEY_PATH,
            controlPath: `/tmp/sparc-progress-${process.pid}-%C`,
            remoteFile,
            uploadFile,
            jobName,
            waitTimeoutSeconds: String(WAIT_SECONDS),
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
        await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
        // The answer travels in the environment only: Duo's "1" (a push the stand-in approves).
        stack.setEnv("SPARC_HPG_MFA_ANSWERS", "1");
        const before = tfaCounts();
        up = (await stack.upText()).stdout;
        await settle(1500);
        logins = countsSince(before).accepted;
    }, 240_000);

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        onCluster(`scancel --name=${jobName} 2>/dev/null; rm -f ${remoteFile}`);
        await stack?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    }, 240_000);

    it("the up logged in through the second-factor sshd and ended on the pending job's wait bound", () => {
        // Its log is shared with whatever else logs in meanwhile: the count of this up's own logins is the one "logging in" line below.
        expect(logins).toBeGreaterThanOrEqual(1);
        expect(up).toMatch(/did not reach RUNNING within waitTimeoutSeconds \(12 s\)/);
    });

    it("shows the line before the login, the upload's bytes and the pending polls under their resources", () => {
        const diagnostics = diagnosticsByResource(up);
        const upload = diagnostics["pulumi-nodejs:dynamic/ssh:RemoteCommand (upload)"] ?? [];
        const held = diagnostics["pulumi-nodejs:dynamic/slurm:SlurmJob (held)"] ?? [];
        // The upload comes first (the job dependsOn it), so its call makes the one login.
        expect(upload.filter((l) => l.includes("which may ask for a second factor"))).toEqual([
            `logging in to ${TEST_USER}@127.0.0.1:${TFA_PORT}, which may ask for a second factor: the configured answer is given now; ` +
                "if it is a Duo push, approve it on your phone now (Duo gives up after 60 s)",
        ]);
        const uploads = upload.filter((l) => l.startsWith(`uploading ${uploadFile} to ${TEST_USER}@127.0.0.1:${TFA_PORT}: `));
        expect(uploads.at(-1)).toMatch(/: 3\.0 MiB of 3\.0 MiB sent \(100%\)/);
        // One line per poll while pending: the reason (BeginTime) and Slurm's estimate (the begin time).
        const pending = held.filter((l) => / PENDING \(BeginTime\); Slurm's start estimate \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d; waited \d+ s/.test(l));
        expect(pending.length).toBeGreaterThanOrEqual(2);
        // No progress line among the global messages (the stack's), and none names a secret.
        const global = Object.entries(diagnostics)
            .filter(([heading]) => heading.startsWith("pulumi:pulumi:Stack"))
            .flatMap(([, lines]) => lines);
        expect(global.filter((l) => /PENDING|uploading|second factor/.test(l))).toEqual([]);
        for (const secret of SECRETS) {
            expect(up).not.toContain(secret);
        }
    });
});
