// The whole hpg pipeline against the local Slurm cluster, with exactly the commands and
// job inputs the hpg stack generates: MAS image -> docker-archive -> streamed over the
// stack's one SSH login by RemoteCommand (checksum verified) -> `apptainer build` on the "login node" -> MAS service job RUNNING ->
// /health answers through the readiness check -> an unchanged second run sends nothing ->
// destroy cancels the job and removes every file. Apptainer and Lmod are stand-ins
// (test/standins/), since Debian 12 packages neither.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    copyArchiveSteps, endpointFileOf, identityHash, readinessRemoteArgv, removeLocalArchiveCommand, removeRemoteArgv,
    saveArchiveCommand, serviceJobCommand, serviceJobSpec, sifBuildArgv, sifPlan, type HpgConfig, type SifPlan,
} from "../../components/hpg";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { remoteCommandProvider, type RemoteCommandInputs, type RemoteCommandOutputs } from "../../providers/slurm/remoteCommand";
import { closeAllConnections } from "../../providers/slurm/ssh";
import { shJoin } from "../../providers/slurm/quote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { HOST_KEY_PATH, USER_KEY_PATH, jobInputs, onCluster, requireClusterOrSkip, squeueState } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const remote = remoteCommandProvider as Required<typeof remoteCommandProvider>;
const root = path.resolve(__dirname, "../..");
const clusterUp = requireClusterOrSkip();
const standinsReady = clusterUp && onCluster("apptainer --version && command -v module && test -w /blue/sparc-test/hpcuser").code === 0;
if (clusterUp && !standinsReady && process.env.CI === "true") {
    throw new Error("the Apptainer/Lmod stand-ins or /blue/sparc-test are missing: run `bash test/cluster/install-standins.sh` (.ci/run does it)");
}
const IMAGE = "localhost/sparc-hpgtest/mas-server:latest";
const PORT = 18500;

function sh(script: string): { code: number; stdout: string; stderr: string; seconds: number } {
    const started = Date.now();
    const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", timeout: 600_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!standinsReady)("hpg pipeline on the local Slurm cluster (Apptainer stand-in)", () => {
    const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-hpg-archives-"));
    const cfg: HpgConfig = {
        hostAlias: "127.0.0.1", host: "127.0.0.1", port: 2222, user: "hpcuser",
        hostKey: fs.existsSync(HOST_KEY_PATH) ? fs.readFileSync(HOST_KEY_PATH, "utf8").trim() : "",
        insecureIgnoreHostKey: false, identityFile: USER_KEY_PATH, privateKey: undefined, passphrase: undefined, mfaAnswers: undefined, mfaPromptPattern: "",
        transport: "openssh", controlPath: `/tmp/sparc-hpgtest-${process.pid}-%C`, group: "sparc-test",
        containerDir: "/blue/sparc-test/hpcuser/sparc/containers", workDir: "/blue/sparc-test/hpcuser/sparc",
        localArchiveDir: localDir, localCli: "podman", sifBuildOn: "login", services: ["mas"], modules: ["apptainer"],
        jobName: "sparc-production-service", partition: "gpu", account: "", qos: "", nodes: 1, ntasks: 1,
        gpusPerTask: "fake:1", cpusPerTask: 1, mem: "1gb", time: "14-00:00:00", output: "sparc_service_%j.log",
        masPort: PORT, masAppDir: "/app", clusterChecks: "up", readinessTimeoutSeconds: 60, waitTimeoutSeconds: 120,
    };
    // The one connection the stack gives every SlurmJob and RemoteCommand.
    const connection = { host: cfg.host, port: cfg.port, user: cfg.user, hostKey: cfg.hostKey, transport: "openssh" as const, identityFile: cfg.identityFile, controlPath: cfg.controlPath };

    /** Runs a RemoteCommand step as the engine would (create), timed. */
    async function step(description: string, fields: Partial<RemoteCommandInputs>): Promise<{ outs?: RemoteCommandOutputs; error?: Error; seconds: number }> {
        const started = Date.now();
        const inputs: RemoteCommandInputs = { connection, create: [], unless: [], stdinFile: "", delete: [], triggers: [], timeoutSeconds: 600, description, ...fields };
        try {
            const r = await remote.create(inputs);
            return { outs: r.outs as RemoteCommandOutputs, seconds: (Date.now() - started) / 1000 };
        } catch (error) {
            return { error: error as Error, seconds: (Date.now() - started) / 1000 };
        }
    }

    let plan: SifPlan;
    let sha256 = "";
    let job: SlurmJobOutputs | undefined;
    const figures: string[] = [];

    beforeAll(() => {
        // The image is built from the project's own Dockerfile and sample (cached after the first build).
        execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas")], { stdio: "ignore" });
        const built = sh(shJoin(["podman", "build", "-q", "-t", IMAGE, "-f", path.join(root, "dockerfiles/Dockerfile.mas"), path.join(root, "samples/mas")]));
        expect(built.code, built.stderr).toBe(0);
        figures.push(`podman build (MAS): ${built.seconds.toFixed(1)} s`);
        const id = execFileSync("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE], { encoding: "utf8" }).trim();
        plan = sifPlan("mas", IMAGE, identityHash(id), localDir, cfg.containerDir);
        onCluster(`rm -rf ${cfg.containerDir}`);
    }, 600_000);

    afterAll(() => {
        if (job !== undefined) {
            onCluster(`scancel ${Number(job.jobId)}`);
        }
        closeAllConnections();
        fs.rmSync(localDir, { recursive: true, force: true });
        console.log(`hpg pipeline figures:\n  ${figures.join("\n  ")}`);
    });

    it("saves the image as a docker-archive named by its identity", () => {
        const r = sh(saveArchiveCommand("podman", plan));
        expect(r.code, r.stderr).toBe(0);
        sha256 = r.stdout.trim();
        expect(sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(fs.existsSync(plan.localTar)).toBe(true);
        figures.push(`podman save: ${r.seconds.toFixed(1)} s, ${fs.statSync(plan.localTar).size} bytes`);
    });

    it("copies it to cluster storage with the checksum verified there", async () => {
        const r = await step("copy", { ...copyArchiveSteps(plan, sha256), stdinFile: plan.localTar });
        expect(r.error).toBeUndefined();
        expect(r.outs?.stdout).toContain(`sent ${fs.statSync(plan.localTar).size} bytes to ${plan.remoteTar}`);
        expect(onCluster(`sha256sum ${plan.remoteTar}`).stdout.split(" ")[0]).toBe(sha256);
        figures.push(`copy (first run): ${r.seconds.toFixed(1)} s, ${r.outs?.stdout.trim()}`);
    });

    it("refuses a corrupted copy", async () => {
        const wrong = "0".repeat(64);
        const other = { ...plan, remoteTar: `${plan.remoteTar}.other` };
        const r = await step("copy", { ...copyArchiveSteps(other, wrong), stdinFile: plan.localTar });
        expect(r.error?.message).toContain(`checksum mismatch after copying to ${other.remoteTar}.part`);
        onCluster(`rm -f ${other.remoteTar}.part`);
    });

    it("builds the .sif on the login node from the docker-archive", async () => {
        const r = await step("sif", { create: sifBuildArgv(plan, cfg.modules) });
        expect(r.error).toBeUndefined();
        expect(onCluster(`test -s ${plan.remoteSif} && echo yes`).stdout.trim()).toBe("yes");
        figures.push(`apptainer build (stand-in): ${r.seconds.toFixed(1)} s`);
    });

    it("runs the MAS service job and its /health answers through the readiness check", async () => {
        const inputs = jobInputs({
            ...serviceJobSpec(cfg),
            waitPollSeconds: 1,
            cancelGraceSeconds: 10,
            command: serviceJobCommand(cfg, plan.remoteSif),
            connection,
        }, "hpg-service") as SlurmJobInputs;
        const started = Date.now();
        const checked = await provider.check({} as SlurmJobInputs, inputs);
        expect(checked.failures).toEqual([]);
        job = (await provider.create(checked.inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
        figures.push(`service job submit -> RUNNING: ${(Date.now() - started) / 1000} s`);
        expect(job.state).toBe("RUNNING");
        expect(job.stdoutPath).toBe(`${cfg.workDir}/sparc_service_${job.jobId}.log`);
        const ready = await step("ready", { create: readinessRemoteArgv({ node: job.nodeList, port: PORT, timeoutSeconds: 60, logPath: job.stdoutPath }) });
        expect(ready.error).toBeUndefined();
        expect(ready.outs?.stdout).toContain('"status":"ok"');
        expect(ready.outs?.stdout).toContain(`ready: http://localhost:${PORT}/health`);
        figures.push(`RUNNING -> /health answers: ${ready.seconds.toFixed(1)} s`);
        expect(onCluster(`cat ${endpointFileOf(cfg)}`).stdout.trim()).toMatch(new RegExp(`^\\S+ ${PORT} ${job.jobId}$`));
    }, 300_000);

    it("sends and builds nothing again for an unchanged image", async () => {
        const again = sifPlan("mas", IMAGE, plan.identity, localDir, cfg.containerDir);
        expect(again).toEqual(plan);
        const r = await step("copy", { ...copyArchiveSteps(plan, sha256), stdinFile: plan.localTar });
        expect(r.outs?.skipped).toBe(true);
        expect(r.outs?.stdout.trim()).toBe(`sent 0 bytes: ${plan.remoteTar} is already on the cluster`);
        figures.push(`copy (unchanged second run): ${r.seconds.toFixed(1)} s, ${r.outs?.stdout.trim()}`);
    });

    it("reports a service that never answers with the job log's last lines", async () => {
        const r = await step("ready", { create: readinessRemoteArgv({ node: "localhost", port: PORT + 1, timeoutSeconds: 1, logPath: job?.stdoutPath ?? "/dev/null" }) });
        expect(r.error?.message).toContain(`exited 1`);
        expect(r.error?.message).toContain(`http://localhost:${PORT + 1}/health did not answer within 1 s; last lines of ${job?.stdoutPath}:`);
        expect(r.error?.message).toContain("Uvicorn running on");
    });

    it("destroy cancels the job and removes every file it made", async () => {
        expect(job).toBeDefined();
        const outs = job as SlurmJobOutputs;
        await provider.delete(outs.jobId, outs);
        expect(["CANCELLED", "COMPLETED", "FAILED"]).toContain(squeueState(outs.jobId));
        for (const paths of [[plan.remoteSif, `${plan.remoteSif}.part`], [plan.remoteTar, `${plan.remoteTar}.part`]]) {
            const props = { connection, create: [], unless: [], stdinFile: "", delete: removeRemoteArgv(paths), triggers: [], timeoutSeconds: 60, description: "rm", stdout: "", stderr: "", skipped: false };
            await remote.delete("id", props);
        }
        expect(sh(removeLocalArchiveCommand(plan)).code).toBe(0);
        expect(onCluster(`ls -A ${cfg.containerDir}`).stdout.trim()).toBe("");
        expect(fs.existsSync(plan.localTar)).toBe(false);
        expect(spawnSync("curl", ["-fsS", "--max-time", "2", `http://127.0.0.1:${PORT}/health`]).status).not.toBe(0);
        job = undefined;
    }, 120_000);
});
