// `pulumi up --stack hpg` of the project's own program under the real engine against a login node
// that asks for a second factor after the key, as HiPerGator does (the project's sshd on
// 127.0.0.1:2224, one-time TOTP codes that refuse reuse, so every extra login shows as a failure).
// For both transports: a whole up (archive copy, SIF build, service job held PENDING longer than
// the old 30 s idle close and a keepalive period, readiness) costs exactly one login and one
// second-factor prompt; refresh and destroy one each. Counted in the sshd's log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireEngine, resourcesOfType, shouldSkipEngineTests, TestStack } from "../support/engine";
import { HOST_KEY_PATH, USER_KEY_PATH, onCluster, requireClusterOrSkip } from "../support/cluster";
import { parseJobComment } from "../../providers/slurm/ownership";
import { countsSince, freshCode, requireSecondFactorOrSkip, setMode, settle, tfaCounts, TFA_PORT } from "../support/second-factor";

const root = path.resolve(__dirname, "../..");
const IMAGE = "localhost/sparc-hpgtest/mas-server:latest";
const skip = shouldSkipEngineTests() || !requireClusterOrSkip() || !requireSecondFactorOrSkip();

function liveJobs(tag: string): string[] {
    return onCluster("squeue -h -u hpcuser -t pending,running -o '%i|%k'")
        .stdout.split("\n")
        .filter((l) => l.includes("|") && parseJobComment(l.slice(l.indexOf("|") + 1)).ownerTag === tag)
        .map((l) => l.split("|")[0]);
}

/** Counts of the second-factor sshd over one CLI operation, with a fresh one-time code for it. */
async function counted<T>(stack: TestStack, run: () => Promise<T>): Promise<{ result: T; logins: number; accepted: number; failed: number }> {
    stack.setEnv("SPARC_HPG_MFA_ANSWERS", freshCode());
    const before = tfaCounts();
    const result = await run();
    await settle(1500);
    const d = countsSince(before);
    return { result, logins: d.attempts, accepted: d.accepted, failed: d.failed };
}

describe.skipIf(skip).each([
    { transport: "openssh", port: 18506 },
    { transport: "ssh2", port: 18507 },
] as const)("pulumi up --stack hpg behind a second factor ($transport transport, real engine)", ({ transport, port }) => {
    const stackName = `e2e-tfa-${transport}`;
    const tag = `pulumi:sparc-deploy/${stackName}/sparc-service`;
    const containers = `/blue/sparc-test/hpcuser/sparc-e2e-tfa-${transport}/containers`;
    const archives = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-e2e-tfa-archives-"));
    let stack: TestStack;
    let blocker = "";
    const figures: string[] = [];

    beforeAll(async () => {
        setMode("totp");
        execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas")], { stdio: "ignore" });
        execFileSync("podman", ["build", "-q", "-t", IMAGE, "-f", path.join(root, "dockerfiles/Dockerfile.mas"), path.join(root, "samples/mas")], {
            stdio: "ignore",
        });
        onCluster(`rm -rf ${path.dirname(containers)}`);
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName });
        const config: Record<string, string> = {
            target: "hpg",
            imageSource: "prebuilt",
            masImage: IMAGE,
            hpgHost: "127.0.0.1",
            hpgPort: String(TFA_PORT),
            hpgUser: "hpcuser",
            hpgGroup: "sparc-test",
            hpgHostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
            hpgIdentityFile: USER_KEY_PATH,
            hpgSshTransport: transport,
            hpgControlPath: `/tmp/sparc-e2e-tfa-${process.pid}-%C`,
            hpgContainerDir: containers,
            hpgWorkDir: path.dirname(containers),
            hpgLocalArchiveDir: archives,
            hpgPartition: "gpu",
            hpgGpusPerTask: "fake:1",
            hpgCpusPerTask: "1",
            hpgMem: "1gb",
            hpgMasPort: String(port),
            hpgJobName: `sparc-tfa-${transport}`,
            hpgReadinessTimeoutSeconds: "60",
            hpgWaitTimeoutSeconds: "300",
            // The .sif is built as a CPU job (the default), on the test cluster's CPU partition.
            hpgSifBuildPartition: "debug",
            hpgSifBuildCpus: "1",
            hpgSifBuildMem: "1gb",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
    }, 600_000);

    afterAll(async () => {
        for (const id of [...liveJobs(tag), ...(blocker !== "" ? [blocker] : [])]) {
            onCluster(`scancel ${Number(id)}`);
        }
        await stack?.dispose();
        fs.rmSync(archives, { recursive: true, force: true });
        console.log(`second factor, ${transport}:\n  ${figures.join("\n  ")}`);
    }, 120_000);

    it("up (copy, SIF build job, service job held PENDING > 30 s, readiness) costs exactly 1 login and 1 second-factor prompt", async () => {
        // A job of our own holds both fake GPUs, so the service job waits PENDING for it to end.
        blocker = onCluster("sbatch --parsable -p gpu --gres=gpu:fake:2 -c 1 --mem=100M -J sparc-i8-blocker -o /dev/null --wrap 'sleep 900'").stdout.trim();
        expect(blocker).toMatch(/^\d+$/);
        for (let i = 0; i < 120 && onCluster(`squeue -h -j ${Number(blocker)} -o %T`).stdout.trim() !== "RUNNING"; i++) {
            await new Promise((r) => setTimeout(r, 1000));
        }
        expect(onCluster(`squeue -h -j ${Number(blocker)} -o %T`).stdout.trim()).toBe("RUNNING");
        // The blocker ends once the service job has been seen PENDING for 35 s, not after a fixed sleep:
        // how long the copy and the SIF build take under load must not decide whether the wait proves anything.
        let upDone = false;
        const releaser = (async () => {
            let seenAt: number | undefined;
            for (let i = 0; i < 900 && !upDone; i++) {
                if (seenAt === undefined && liveJobs(tag).some((id) => onCluster(`squeue -h -j ${Number(id)} -o %T`).stdout.trim() === "PENDING")) {
                    seenAt = Date.now();
                }
                if (seenAt !== undefined && Date.now() - seenAt >= 35_000) {
                    onCluster(`scancel ${Number(blocker)}`);
                    return;
                }
                await new Promise((r) => setTimeout(r, 1000));
            }
        })();
        const started = Date.now();
        const up = await counted(stack, () => stack.up()).finally(() => {
            upDone = true;
        });
        await releaser;
        figures.push(`up: ${((Date.now() - started) / 1000).toFixed(1)} s, logins ${up.logins}, second factor accepted ${up.accepted}, failed ${up.failed}`);
        expect(up.result).toEqual({ create: 8 });
        expect({ logins: up.logins, accepted: up.accepted, failed: up.failed }).toEqual({ logins: 1, accepted: 1, failed: 0 });
        const out = await stack.outputs();
        expect(out.jobState).toBe("RUNNING");
        // The readiness report of the job serving (its endpoint file), from the check run over the same login.
        expect(String(out.readiness)).toMatch(/"port":\d+,"jobId":"\d+"/);
        expect(String((out.copyReports as Record<string, string>).mas)).toMatch(/^sent \d+ bytes to /);
        // The service job really waited, longer than the old idle close (30 s) and the keepalive period (15 s).
        const job = resourcesOfType((await stack.exportState()).deployment, "pulumi-nodejs:dynamic/slurm:SlurmJob").find((r) =>
            String(r.urn).endsWith("::sparc-service"),
        );
        const pending = (Date.parse(String(job?.outputs?.startTime)) - Date.parse(String(job?.outputs?.submitTime))) / 1000;
        figures.push(`service job PENDING for ${pending} s`);
        expect(pending).toBeGreaterThan(30);
    }, 600_000);

    it("refresh costs 1 login and 1 prompt", async () => {
        const refresh = await counted(stack, () => stack.refresh());
        figures.push(`refresh: logins ${refresh.logins}, accepted ${refresh.accepted}, failed ${refresh.failed}`);
        expect({ logins: refresh.logins, accepted: refresh.accepted, failed: refresh.failed }).toEqual({ logins: 1, accepted: 1, failed: 0 });
    }, 300_000);

    it("destroy costs 1 login and 1 prompt, and leaves nothing", async () => {
        const destroy = await counted(stack, () => stack.destroy());
        figures.push(`destroy: logins ${destroy.logins}, accepted ${destroy.accepted}, failed ${destroy.failed}`);
        expect(destroy.result).toEqual({ delete: 8 });
        expect({ logins: destroy.logins, accepted: destroy.accepted, failed: destroy.failed }).toEqual({ logins: 1, accepted: 1, failed: 0 });
        expect(liveJobs(tag)).toEqual([]);
        expect(onCluster(`ls -A ${containers}`).stdout.trim()).toBe("");
        expect(spawnSync("curl", ["-fsS", "--max-time", "2", `http://127.0.0.1:${port}/health`]).status).not.toBe(0);
    }, 300_000);
});
