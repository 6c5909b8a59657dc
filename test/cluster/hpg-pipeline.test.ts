// The whole hpg pipeline against the local Slurm cluster, with exactly the commands and
// job inputs the hpg stack generates: MAS image -> docker-archive -> streamed over the stack's
// one SSH login by RemoteCommand (checksum verified) -> `apptainer build` on the "login node"
// (a RemoteCommand) and as a CPU Slurm job ->
// MAS service job RUNNING while another process holds its port on the node (it serves on
// another port, named by its endpoint file) -> ready only when /health answers with its job id
// (a foreign service on the port is refused) -> an unchanged second run sends nothing (renewal
// is the chain's: test/cluster/slurm-chain.test.ts) -> destroy cancels the job and
// removes every file. Apptainer and Lmod are stand-ins (test/standins/), since Debian 12
// packages neither; the compute node is this machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import * as http from "node:http";
import {
    copyArchiveSteps,
    endpointFileOf,
    endpointPatternOf,
    identityHash,
    parseReadinessReport,
    readinessScript,
    removeRemoteArgv,
    serviceJobCommand,
    serviceJobSpec,
    sifBuildArgv,
    sifBuildJobSpec,
    sifBuildScript,
    sifPlan,
    type HpgConfig,
    type SifPlan,
} from "../../components/hpg";
import { removeLocalArchiveCommand, saveArchiveCommand } from "../../components/archive";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { remoteCommandProvider, type RemoteCommandInputs, type RemoteCommandOutputs } from "../../providers/remote/remoteCommand";
import { closeAllConnections, runRemote } from "../../providers/remote/remote";
import { shJoin } from "../../providers/remote/quote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { HOST_KEY_PATH, USER_KEY_PATH, jobInputs, jobsWithTag, onCluster, requireClusterOrSkip, squeueState } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const remote = remoteCommandProvider as Required<typeof remoteCommandProvider>;
const root = path.resolve(__dirname, "../..");
const clusterUp = requireClusterOrSkip();
const standinsReady = clusterUp && onCluster("apptainer --version && command -v module && test -w /blue/sparc-test/hpcuser").code === 0;
if (clusterUp && !standinsReady && process.env.CI === "true") {
    throw new Error("the Apptainer/Lmod stand-ins or /blue/sparc-test are missing: run `bash test/cluster/install-standins.sh` (.ci/run does it)");
}
// Per run: other sessions build this tag from their own checkouts on the same Podman.
const IMAGE = `localhost/sparc-hpgtest-${process.pid}/mas-server:latest`;
/** Set in beforeAll to a port free on this machine (the compute node), which a socket of this test then holds. */
let PORT = 0;
/** Per run: other sessions may run this file on the same cluster at the same time. */
const BLUE = `/blue/sparc-test/hpcuser/sparc-pipeline-${process.pid}`;

function sh(script: string): { code: number; stdout: string; stderr: string; seconds: number } {
    const started = Date.now();
    const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", timeout: 600_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!standinsReady)("hpg pipeline on the local Slurm cluster (Apptainer stand-in)", () => {
    const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-hpg-archives-"));
    const cfg: HpgConfig = {
        hostAlias: "127.0.0.1",
        host: "127.0.0.1",
        proxyJump: "",
        port: 2222,
        user: "hpcuser",
        hostKey: fs.existsSync(HOST_KEY_PATH) ? fs.readFileSync(HOST_KEY_PATH, "utf8").trim() : "",
        insecureIgnoreHostKey: false,
        identityFile: USER_KEY_PATH,
        privateKey: undefined,
        passphrase: undefined,
        mfaAnswers: undefined,
        mfaPromptPattern: "",
        transport: "openssh",
        controlPath: `/tmp/sparc-hpgtest-${process.pid}-%C`,
        group: "sparc-test",
        containerDir: `${BLUE}/containers`,
        workDir: BLUE,
        localArchiveDir: localDir,
        localCli: "podman",
        sifBuildOn: "login",
        sifBuildPartition: "debug",
        sifBuildCpus: 1,
        sifBuildMem: "1gb",
        sifBuildTime: "00:30:00",
        apptainerCacheDir: `${BLUE}/apptainer-cache`,
        apptainerTmpDir: "",
        apptainerTmpFallback: `${BLUE}/apptainer-tmp`,
        gpus: "",
        renewBeforeHours: 0,
        mailUser: "",
        services: ["mas"],
        modules: ["apptainer"],
        jobName: "sparc-production-service",
        partition: "gpu",
        account: "",
        qos: "",
        nodes: 1,
        ntasks: 1,
        gpusPerTask: "fake:1",
        cpusPerTask: 1,
        mem: "1gb",
        time: "14-00:00:00",
        output: "sparc_service_%j.log",
        masPort: 0,
        masAppDir: "/app",
        clusterChecks: "up",
        readinessTimeoutSeconds: 60,
        waitTimeoutSeconds: 120,
    };
    // The one connection the stack gives every SlurmJob and RemoteCommand.
    const connection = {
        host: cfg.host,
        port: cfg.port,
        user: cfg.user,
        hostKey: cfg.hostKey,
        transport: "openssh" as const,
        identityFile: cfg.identityFile,
        controlPath: cfg.controlPath,
    };
    let serviceInputs: SlurmJobInputs;
    /** Another process on the node (this machine) that holds the configured port. */
    const holder = net.createServer();

    /** Runs a RemoteCommand step as the engine would (create), timed. */
    async function step(description: string, fields: Partial<RemoteCommandInputs>): Promise<{ outs?: RemoteCommandOutputs; error?: Error; seconds: number }> {
        const started = Date.now();
        const inputs: RemoteCommandInputs = {
            connection,
            create: [],
            unless: [],
            stdinFile: "",
            delete: [],
            triggers: [],
            timeoutSeconds: 600,
            description,
            ...fields,
        };
        try {
            const r = await remote.create(inputs);
            return { outs: r.outs as RemoteCommandOutputs, seconds: (Date.now() - started) / 1000 };
        } catch (error) {
            return { error: error as Error, seconds: (Date.now() - started) / 1000 };
        }
    }

    /** The readiness check of a job, run as the SlurmJob provider runs it (runRemote over the same login). */
    function readyCheck(fakeJob: string, timeoutSeconds: number) {
        const script = readinessScript({ endpointPattern: endpointPatternOf(cfg), timeoutSeconds });
        return runRemote(connection, ["bash", "-c", script, "ready-check", fakeJob, job?.stdoutPath ?? "/dev/null", ""], {
            timeoutSeconds: timeoutSeconds + 60,
        });
    }
    let plan: SifPlan;
    let sha256 = "";
    let job: SlurmJobOutputs | undefined;
    const figures: string[] = [];

    beforeAll(async () => {
        // The image is built from the project's own Dockerfile and sample (cached after the first build).
        execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas")], { stdio: "ignore" });
        const built = sh(shJoin(["podman", "build", "-q", "-t", IMAGE, "-f", path.join(root, "dockerfiles/Dockerfile.mas"), path.join(root, "samples/mas")]));
        expect(built.code, built.stderr).toBe(0);
        figures.push(`podman build (MAS): ${built.seconds.toFixed(1)} s`);
        const id = execFileSync("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE], { encoding: "utf8" }).trim();
        plan = sifPlan("mas", IMAGE, identityHash(id), localDir, cfg.containerDir);
        onCluster(`rm -rf ${BLUE}`);
        await new Promise<void>((resolve) => holder.listen(0, "0.0.0.0", resolve));
        PORT = (holder.address() as net.AddressInfo).port;
        cfg.masPort = PORT;
    }, 600_000);

    afterAll(() => {
        holder.close();
        for (const id of serviceInputs === undefined ? [] : jobsWithTag(serviceInputs.ownerTag)) {
            onCluster(`scancel ${Number(id)}`);
        }
        if (job !== undefined) {
            onCluster(`scancel ${Number(job.jobId)}`);
        }
        closeAllConnections();
        fs.rmSync(localDir, { recursive: true, force: true });
        onCluster(`rm -rf ${BLUE}`);
        spawnSync("podman", ["rmi", "-f", IMAGE], { stdio: "ignore" });
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

    it("builds the .sif as a Slurm job on the CPU partition, without GPUs, with the service's Lmod preamble", async () => {
        onCluster(`rm -f ${plan.remoteSif}`);
        const inputs = jobInputs(
            {
                ...sifBuildJobSpec({ ...cfg, sifBuildOn: "slurm" }, "mas"),
                waitPollSeconds: 1,
                command: sifBuildScript(plan, cfg.modules),
                connection,
            },
            "hpg-sif-build",
        ) as SlurmJobInputs;
        const started = Date.now();
        const checked = await provider.check({} as SlurmJobInputs, inputs);
        expect(checked.failures).toEqual([]);
        const built = (await provider.create(checked.inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
        figures.push(`apptainer build as a Slurm job (stand-in), submit -> COMPLETED: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        expect(built.state).toBe("COMPLETED");
        expect(onCluster(`test -s ${plan.remoteSif} && echo yes`).stdout.trim()).toBe("yes");
        const accounted = onCluster(`sacct -j ${Number(built.jobId)} -X -n -P -o Partition,AllocTRES`).stdout.trim();
        expect(accounted.split("|")[0]).toBe("debug");
        expect(accounted).not.toContain("gpu");
        expect(onCluster(`cat ${built.stdoutPath}`).stdout).toContain("Build complete");
    }, 300_000);

    it("starts the service on another port when another process holds the configured one on the node, and outputs it", async () => {
        serviceInputs = jobInputs(
            {
                ...serviceJobSpec(cfg),
                waitPollSeconds: 1,
                cancelGraceSeconds: 10,
                command: serviceJobCommand(cfg, plan.remoteSif),
                connection,
            },
            "hpg-service",
        ) as SlurmJobInputs;
        const started = Date.now();
        const checked = await provider.check({} as SlurmJobInputs, serviceInputs);
        expect(checked.failures).toEqual([]);
        serviceInputs = checked.inputs as SlurmJobInputs;
        job = (await provider.create(serviceInputs)).outs as SlurmJobOutputs;
        figures.push(`service job submit -> RUNNING and ready (readiness in create): ${(Date.now() - started) / 1000} s`);
        expect(job.state).toBe("RUNNING");
        expect(job.stdoutPath).toBe(`${cfg.workDir}/sparc_service_${job.jobId}.log`);
        const report = parseReadinessReport(job.readyReport ?? "");
        expect(report).toBeDefined();
        expect(report?.jobId).toBe(job.jobId);
        expect(report?.port).not.toBe(PORT);
        expect(job.endsAt).toBeGreaterThan(Date.now() / 1000);
        expect(onCluster(`cat ${endpointPatternOf(cfg).replace("%j", job.jobId)}`).stdout.trim()).toBe(`${report?.node} ${report?.port} ${job.jobId}`);
        expect(onCluster(`cat ${endpointFileOf(cfg)}`).stdout.trim()).toBe(`${report?.node} ${report?.port} ${job.jobId}`);
        expect(onCluster(`cat ${job.stdoutPath}`).stdout).toContain(`sparc: port ${PORT} is taken on ${report?.node}; using ${report?.port}`);
        const health = sh(`curl -fsS --max-time 5 http://127.0.0.1:${report?.port}/health`);
        expect(JSON.parse(health.stdout)).toEqual({ status: "ok", job_id: job.jobId });
    }, 300_000);

    it("readiness refuses a foreign service on the port the endpoint file names", async () => {
        const foreign = http.createServer((_q, res) => res.end(JSON.stringify({ status: "ok" })));
        await new Promise<void>((resolve) => foreign.listen(0, "0.0.0.0", resolve));
        const port = (foreign.address() as net.AddressInfo).port;
        const fakeJob = "999999";
        onCluster(`echo localhost ${port} ${fakeJob} > ${endpointPatternOf(cfg).replace("%j", fakeJob)}`);
        // Async: the foreign server lives in this process and must answer meanwhile.
        const r = await readyCheck(fakeJob, 20);
        foreign.close();
        onCluster(`rm -f ${endpointPatternOf(cfg).replace("%j", fakeJob)}`);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            `refusing http://localhost:${port}/health: it answers, but not as job ${fakeJob} (another service holds the port; its answer is not shown)`,
        );
        // The current-endpoint file still names our job.
        expect(onCluster(`cat ${endpointFileOf(cfg)}`).stdout).toContain(` ${job?.jobId}`);
    }, 120_000);

    it("a service job kept after failing its readiness check is checked again by the next up (update)", async () => {
        const marker = `/tmp/sparc-ready-marker-${process.pid}`;
        const inputs = jobInputs(
            {
                command: "sleep 300",
                output: "/dev/null",
                partition: "debug",
                time: "10",
                waitFor: "running",
                cancelGraceSeconds: 0,
                readyCheck: `test -f ${marker} || { echo "not ready yet" >&2; exit 1; }; echo '{"node":"n","port":1,"jobId":"'"$1"'","endsAt":0}'`,
                readyTimeoutSeconds: 30,
            },
            "hpg-ready-again",
        ) as SlurmJobInputs;
        const failed = await provider.create(inputs).then(
            () => undefined,
            (e: Error & { id?: string; properties?: SlurmJobOutputs }) => e,
        );
        expect(failed?.message).toMatch(/^job \d+ is RUNNING but not ready: not ready yet$/);
        // No older job of this resource serves: the job is kept (init failure with its id), not cancelled.
        expect(failed?.id).toMatch(/^\d+$/);
        const kept = failed?.properties as SlurmJobOutputs;
        expect(squeueState(kept.jobId)).toBe("RUNNING");
        onCluster(`touch ${marker}`);
        const updated = (await provider.update(kept.jobId, kept, inputs)).outs as SlurmJobOutputs;
        onCluster(`rm -f ${marker}`);
        expect(parseReadinessReport(updated.readyReport ?? "")?.jobId).toBe(kept.jobId);
        await provider.delete(kept.jobId, updated);
    }, 180_000);

    it("sends and builds nothing again for an unchanged image", async () => {
        const again = sifPlan("mas", IMAGE, plan.identity, localDir, cfg.containerDir);
        expect(again).toEqual(plan);
        const r = await step("copy", { ...copyArchiveSteps(plan, sha256), stdinFile: plan.localTar });
        expect(r.outs?.skipped).toBe(true);
        expect(r.outs?.stdout.trim()).toBe(`sent 0 bytes: ${plan.remoteTar} is already on the cluster`);
        figures.push(`copy (unchanged second run): ${r.seconds.toFixed(1)} s, ${r.outs?.stdout.trim()}`);
    });

    it("reports a service that never answers with the job log's path, not its lines", async () => {
        const fakeJob = "999998";
        onCluster(`echo localhost ${PORT + 1} ${fakeJob} > ${endpointPatternOf(cfg).replace("%j", fakeJob)}`);
        const r = await readyCheck(fakeJob, 1);
        onCluster(`rm -f ${endpointPatternOf(cfg).replace("%j", fakeJob)}`);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            `http://localhost:${PORT + 1}/health did not answer within 1 s\nthe job's log is not shown here (it may hold secrets): ${job?.stdoutPath}`,
        );
        expect(r.stderr).not.toContain("Uvicorn running on");
    });

    it("destroy cancels the job and removes every file it made", async () => {
        expect(job).toBeDefined();
        const outs = job as SlurmJobOutputs;
        await provider.delete(outs.jobId, outs);
        expect(["CANCELLED", "COMPLETED", "FAILED"]).toContain(squeueState(outs.jobId));
        // The RemoteCommand deletes, over the same login.
        for (const paths of [
            [plan.remoteSif, `${plan.remoteSif}.part`],
            [plan.remoteTar, `${plan.remoteTar}.part`],
        ]) {
            const props = {
                connection,
                create: [],
                unless: [],
                stdinFile: "",
                delete: removeRemoteArgv(paths),
                triggers: [],
                timeoutSeconds: 60,
                description: "rm",
                stdout: "",
                stderr: "",
                skipped: false,
            };
            await remote.delete("id", props);
        }
        expect(sh(removeLocalArchiveCommand(plan)).code).toBe(0);
        expect(onCluster(`ls -A ${cfg.containerDir}`).stdout.trim()).toBe("");
        expect(fs.existsSync(plan.localTar)).toBe(false);
        expect(spawnSync("curl", ["-fsS", "--max-time", "2", `http://127.0.0.1:${PORT}/health`]).status).not.toBe(0);
        job = undefined;
    }, 120_000);
});
