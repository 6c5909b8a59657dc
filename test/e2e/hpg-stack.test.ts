// `pulumi up --stack hpg` of the project's own program under the real engine, against the
// local Slurm cluster: prebuilt MAS image -> archive -> verified copy -> .sif built by a CPU
// Slurm job (Apptainer stand-in) -> service job RUNNING while another process holds its
// configured port on the node (this machine) -> ready when /health answers with its job id;
// the outputs name the port it took (masEndpoint, tunnelCommand, logPath); a second up changes
// nothing; with hpgRenewBeforeHours the service renews itself on the cluster with no pulumi
// command and no gap (/health sampled every 200 ms), and refresh follows it; a job cancelled out of band is seen by refresh and the next up resubmits exactly
// one; destroy leaves nothing. The real @pulumi/command plugin (scripts/pulumi-engine/build.sh) runs the commands.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { requireEngine, resourcesOfType, shouldSkipEngineTests, TestStack } from "../support/engine";
import { HOST_KEY_PATH, USER_KEY_PATH, onCluster, requireClusterOrSkip } from "../support/cluster";
import { parseJobComment } from "../../providers/slurm/ownership";

const root = path.resolve(__dirname, "../..");
// Per run: other sessions build this tag from their own checkouts on the same Podman.
const IMAGE = `localhost/sparc-hpgtest-${process.pid}/mas-server:latest`;
/** The configured MAS port: picked free in beforeAll, then held by another process of this test. */
let PORT = 0;
// Per run: other sessions may run this file against the same cluster at the same time.
const STACK = `e2e-hpg-${process.pid}`;
const TAG = `pulumi:sparc-deploy/${STACK}/sparc-service`;
const CONTAINERS = `/blue/sparc-test/hpcuser/sparc-e2e-${process.pid}/containers`;
/** The current-endpoint file the readiness check switches (the cluster's /blue is this machine's). */
const CURRENT_ENDPOINT = `${path.dirname(CONTAINERS)}/sparc_service.endpoint`;

const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

function liveJobsWithTag(): string[] {
    return (
        onCluster("squeue -h -u hpcuser -t pending,running -o '%i|%k'")
            .stdout.split("\n")
            // The comment is "<tag> script=<hash> attempt=<id>" (providers/slurm/ownership.ts).
            .filter((l) => l.includes("|") && parseJobComment(l.slice(l.indexOf("|") + 1)).ownerTag === TAG)
            .map((l) => l.split("|")[0])
    );
}

/** A listener of this test's own that counts connections: the shared sshd's log also holds other sessions' logins. */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => void }> {
    let connections = 0;
    const server = net.createServer((socket) => {
        connections += 1;
        socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => server.close() };
}

describe.skipIf(skip)("pulumi up --stack hpg on the local Slurm cluster (real engine)", () => {
    let stack: TestStack;
    const archives = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-e2e-archives-"));
    const controlPath = `/tmp/sparc-e2e-cm-${process.pid}-%C`;
    let firstJob = "";
    /** Another process holding the configured port on the node, as another user's job might. */
    const holder = net.createServer();

    beforeAll(async () => {
        execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas")], { stdio: "ignore" });
        execFileSync("podman", ["build", "-q", "-t", IMAGE, "-f", path.join(root, "dockerfiles/Dockerfile.mas"), path.join(root, "samples/mas")], {
            stdio: "ignore",
        });
        onCluster(`rm -rf ${path.dirname(CONTAINERS)}`);
        await new Promise<void>((resolve) => holder.listen(0, "0.0.0.0", resolve));
        PORT = (holder.address() as net.AddressInfo).port;
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: STACK });
        const config: Record<string, string> = {
            target: "hpg",
            imageSource: "prebuilt",
            masImage: IMAGE,
            hpgHost: "127.0.0.1",
            hpgPort: "2222",
            hpgUser: "hpcuser",
            hpgGroup: "sparc-test",
            hpgHostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
            hpgIdentityFile: USER_KEY_PATH,
            hpgSshTransport: "openssh",
            hpgControlPath: controlPath,
            hpgContainerDir: CONTAINERS,
            hpgWorkDir: path.dirname(CONTAINERS),
            hpgLocalArchiveDir: archives,
            hpgPartition: "gpu",
            hpgGpusPerTask: "fake:1",
            hpgCpusPerTask: "1",
            hpgMem: "1gb",
            // Short enough that a renewal window below it is reached within the test.
            hpgTime: "30",
            hpgSifBuildPartition: "debug",
            hpgSifBuildCpus: "1",
            hpgSifBuildMem: "1gb",
            hpgMasPort: String(PORT),
            hpgReadinessTimeoutSeconds: "60",
            // Other sessions share the two test CPUs: a renewal successor may queue for a while.
            hpgWaitTimeoutSeconds: "300",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
    }, 600_000);

    afterAll(async () => {
        holder.close();
        for (const id of liveJobsWithTag()) {
            onCluster(`scancel ${Number(id)}`);
        }
        await stack?.dispose();
        spawnSync("podman", ["rmi", "-f", IMAGE], { stdio: "ignore" });
        onCluster(`rm -rf ${path.dirname(CONTAINERS)}`);
        spawnSync("ssh", ["-O", "exit", "-o", `ControlPath=${controlPath}`, "-p", "2222", "hpcuser@127.0.0.1"], { stdio: "ignore" });
        fs.rmSync(archives, { recursive: true, force: true });
    });

    it("preview plans the pipeline without logging in to the cluster", async () => {
        // The login node, for this preview, is a listener that counts who connects.
        const loginNode = await countingListener();
        await stack.setConfig("hpgPort", String(loginNode.port));
        try {
            expect(await stack.preview()).toEqual({ create: 8 });
            // index.ts exports the hpg target's outputs only: no "Undefined value (masUrl) will not show as a stack output".
            const text = await stack.previewText();
            expect(text).toContain("masEndpoint");
            expect(text).not.toContain("will not show as a stack output");
        } finally {
            await stack.setConfig("hpgPort", "2222");
            loginNode.close();
        }
        expect(loginNode.connections()).toBe(0);
    }, 300_000);

    it("up deploys: the .sif is built by a job, the service takes a free port, /health answers with its job id, outputs name it", async () => {
        const started = Date.now();
        expect(await stack.up()).toEqual({ create: 8 });
        console.log(`pulumi up --stack hpg (first): ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const out = await stack.outputs();
        // Exactly the hpg target's outputs (docs/hpg.md, "What `pulumi up --stack hpg` does"), none of the other targets'.
        expect(Object.keys(out).sort()).toEqual([
            "copyReports",
            "endpointFile",
            "jobId",
            "jobState",
            "logPath",
            "masEndpoint",
            "readiness",
            "sifPaths",
            "tunnelCommand",
        ]);
        expect(out.jobState).toBe("RUNNING");
        firstJob = String(out.jobId);
        const [node, port] = String(out.masEndpoint).split(":");
        expect(node).toBe("localhost");
        expect(Number(port)).not.toBe(PORT);
        expect(out.tunnelCommand).toBe(`ssh -N -L ${PORT}:localhost:${port} -p 2222 hpcuser@127.0.0.1`);
        expect(out.logPath).toBe(`${path.dirname(CONTAINERS)}/sparc_service_${firstJob}.log`);
        expect(out.endpointFile).toBe(CURRENT_ENDPOINT);
        expect(fs.readFileSync(CURRENT_ENDPOINT, "utf8")).toBe(`localhost ${port} ${firstJob}\n`);
        expect(String(out.readiness)).toContain(`"port":${port},"jobId":"${firstJob}"`);
        expect(String((out.copyReports as Record<string, string>).mas)).toMatch(/^sent \d+ bytes to /);
        expect(liveJobsWithTag()).toEqual([firstJob]);
        const health = spawnSync("curl", ["-fsS", "--max-time", "5", `http://127.0.0.1:${port}/health`], { encoding: "utf8" });
        expect(JSON.parse(health.stdout)).toEqual({ status: "ok", job_id: firstJob });
        expect(onCluster(`ls ${CONTAINERS}`).stdout).toMatch(/mas_server-[0-9a-f]{16}\.sif/);
        // The .sif was built by a job on the CPU partition, not on the login node.
        const builds = onCluster("sacct -n -X -P -u hpcuser -S now-1hours -o JobName,Partition,State,AllocTRES")
            .stdout.split("\n")
            .filter((l) => l.startsWith("sparc-sif-mas|"));
        expect(builds.length).toBeGreaterThanOrEqual(1);
        expect(builds[builds.length - 1]).toMatch(/^sparc-sif-mas\|debug\|COMPLETED\|/);
        expect(builds[builds.length - 1]).not.toContain("gpu");
    }, 600_000);

    it("keeps the key out of the state", async () => {
        const { text } = await stack.exportState({ showSecrets: false });
        const keyBody = fs.readFileSync(USER_KEY_PATH, "utf8").split("\n")[1];
        expect(text).not.toContain(keyBody);
    });

    it("a second up changes nothing and submits nothing", async () => {
        const started = Date.now();
        expect(await stack.up()).toEqual({ same: 8 });
        console.log(`pulumi up --stack hpg (unchanged): ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(liveJobsWithTag()).toEqual([firstJob]);
    }, 300_000);

    it("hpgHost spelled another way (same cluster): no SlurmJob replace in preview, no replace at all in up, same job", async () => {
        const jobId = String((await stack.outputs()).jobId);
        await stack.setConfig("hpgHost", "localhost");
        try {
            const raw = await stack.pulumi(["preview", "--json", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile]);
            const steps = (JSON.parse(raw.stdout) as { steps?: { op: string; urn: string; type?: string }[] }).steps ?? [];
            const replaced = steps.filter((st) => /replace/.test(st.op)).map((st) => st.urn.split("::").pop());
            // The SlurmJobs update (state only). The engine shows a dynamic resource's outputs as unknown
            // in preview after an update, so the readiness probe, triggered by jobId, may show a replace;
            // the real up below replaces nothing.
            expect(replaced.filter((name) => name !== "sparc-ready")).toEqual([]);
            expect(steps.filter((st) => st.urn.includes("SlurmJob")).map((st) => st.op)).not.toContain("replace");
            const up = await stack.up();
            expect(up.replace ?? 0).toBe(0);
            expect(String((await stack.outputs()).jobId)).toBe(jobId);
            expect(liveJobsWithTag()).toEqual([jobId]);
        } finally {
            await stack.setConfig("hpgHost", "127.0.0.1");
            await stack.up();
        }
    }, 300_000);

    it("with hpgRenewBeforeHours the service renews itself on the cluster (no pulumi command): /health every 200 ms never fails; refresh then shows the new job, no replace", async () => {
        // hpgTime is 30 min: with 0.49 h each job of the chain renews 36 s after it starts.
        await stack.setConfig("hpgRenewBeforeHours", "0.49");
        // Turning renewal on makes the service a chain (chainDir, docs/hpg-renewal.md): replaced once, by this up.
        const on = await stack.up();
        expect(on.replace ?? 0).toBeGreaterThanOrEqual(1);
        const before = await stack.outputs();
        const chainFirst = String(before.jobId);
        expect(liveJobsWithTag()).toEqual([chainFirst]);
        expect(String(before.tunnelCommand)).toMatch(
            new RegExp(`^npm run tunnel -- --stack ${STACK} \\(follows renewals\\); or, to the job serving now only: ssh -N -L `),
        );
        const samples: { ok: boolean; job: string }[] = [];
        let most = 0;
        let sampling = true;
        const sampler = (async () => {
            while (sampling) {
                const at = Date.now();
                const [node, port, job] = fs.readFileSync(CURRENT_ENDPOINT, "utf8").trim().split(" ");
                try {
                    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
                    const body = (await res.json()) as { job_id?: string };
                    samples.push({ ok: res.ok && node === "localhost" && body.job_id === job, job });
                } catch {
                    samples.push({ ok: false, job });
                }
                await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
            }
        })();
        const counter = setInterval(() => {
            most = Math.max(most, liveJobsWithTag().length);
        }, 2000);
        // No pulumi command runs while the chain renews itself (bounded: the renewal comes 36 s after the start).
        const started = Date.now();
        let renewedAt = 0;
        while (Date.now() - started < 180_000 && (renewedAt === 0 || Date.now() - renewedAt < 3000)) {
            if (renewedAt === 0 && samples.some((x) => x.ok && x.job !== chainFirst)) {
                renewedAt = Date.now();
            }
            await new Promise((r) => setTimeout(r, 500));
        }
        sampling = false;
        clearInterval(counter);
        await sampler;
        const current = fs.readFileSync(CURRENT_ENDPOINT, "utf8").trim().split(" ")[2];
        console.log(
            `hpg chain renewal (no pulumi command): ${((renewedAt - started) / 1000).toFixed(1)} s after the up; ${samples.length} /health samples every 200 ms, ` +
                `${samples.filter((x) => !x.ok).length} failed; at most ${most} jobs at once; ${chainFirst} -> ${current}`,
        );
        expect(renewedAt).toBeGreaterThan(0);
        expect(samples.filter((x) => !x.ok)).toEqual([]);
        expect(samples.length).toBeGreaterThan(10);
        expect(current).not.toBe(chainFirst);
        expect(most).toBeLessThanOrEqual(2);
        // pulumi refresh: the chain's current job, its id (the chain's first job) kept; then nothing to replace.
        await stack.refresh();
        const { deployment } = await stack.exportState();
        const jobs = resourcesOfType(deployment, "pulumi-nodejs:dynamic/slurm:SlurmJob").filter((r) => r.urn.endsWith("::sparc-service"));
        expect(jobs.map((r) => [r.id, r.outputs?.jobId, r.outputs?.state])).toEqual([[chainFirst, current, "RUNNING"]]);
        const raw = await stack.pulumi(["preview", "--json", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile]);
        const steps = (JSON.parse(raw.stdout) as { steps?: { op: string; urn: string }[] }).steps ?? [];
        const slurmSteps = steps.filter((st) => st.urn.includes("SlurmJob")).map((st) => `${st.urn.split("::").pop()} ${st.op}`);
        expect(slurmSteps.filter((st) => /replace|create|delete/.test(st))).toEqual([]);
        console.log(`pulumi refresh after the renewal: jobId ${current}; preview's SlurmJob steps: ${slurmSteps.join(", ")}`);
        // Renewal off again: the chain is replaced once by a single job (stopped first: none of it left).
        await stack.setConfig("hpgRenewBeforeHours", "0");
        await stack.up();
        const out = await stack.outputs();
        expect(liveJobsWithTag()).toEqual([String(out.jobId)]);
        firstJob = String(out.jobId);
    }, 600_000);

    it("refresh sees the job cancelled out of band, and the next up resubmits exactly one", async () => {
        expect(onCluster(`scancel ${Number(firstJob)}`).code).toBe(0);
        await new Promise((r) => setTimeout(r, 3000));
        const refreshed = await stack.refresh();
        // The service job changed; the completed .sif build job may be re-read from accounting too.
        expect(refreshed.update).toBeGreaterThanOrEqual(1);
        // Refresh updates the resource's state (stack outputs change only on the next up).
        const { deployment } = await stack.exportState();
        const jobs = resourcesOfType(deployment, "pulumi-nodejs:dynamic/slurm:SlurmJob").filter((r) => r.urn.endsWith("::sparc-service"));
        expect(jobs.map((r) => [r.id, r.outputs?.state])).toEqual([[firstJob, "CANCELLED"]]);
        const started = Date.now();
        const up = await stack.up();
        console.log(`pulumi up --stack hpg (resubmit): ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(up.replace).toBeGreaterThanOrEqual(1);
        const live = liveJobsWithTag();
        expect(live).toHaveLength(1);
        expect(live[0]).not.toBe(firstJob);
        expect((await stack.outputs()).jobState).toBe("RUNNING");
    }, 600_000);

    it("destroy cancels the job and removes every file it made", async () => {
        expect(await stack.destroy()).toEqual({ delete: 8 });
        expect(liveJobsWithTag()).toEqual([]);
        expect(onCluster(`ls -A ${CONTAINERS}`).stdout.trim()).toBe("");
        expect(fs.readdirSync(archives)).toEqual([]);
        expect(spawnSync("curl", ["-fsS", "--max-time", "2", `http://127.0.0.1:${PORT}/health`]).status).not.toBe(0);
    }, 300_000);
});
