// The SlurmJob provider against the real single-node Slurm cluster (test/cluster/setup.sh),
// over ssh2 to the real sshd on 127.0.0.1:2222. Expectations come from the measured
// outputs in shared/notes/slurm-test-cluster.md.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections, runRemote, sshPool } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { journalRecord } from "../../providers/slurm/journal";
import {
    FaultProxy,
    USER_KEY_PATH,
    jobInputs,
    jobsWithTag,
    onCluster,
    requireClusterOrSkip,
    restartCluster,
    squeueState,
    stopSlurmctld,
    testConnection,
    waitUntil,
} from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const available = requireClusterOrSkip();
const privateKeyText = available ? fs.readFileSync(USER_KEY_PATH, "utf8") : "unused";

async function create(inputs: SlurmJobInputs): Promise<SlurmJobOutputs> {
    const checked = await provider.check({} as SlurmJobInputs, inputs);
    expect(checked.failures).toEqual([]);
    return (await provider.create(checked.inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
}

/** Every job a test submits is cancelled at the end, whatever happened. */
const submitted: string[] = [];
function track(outs: SlurmJobOutputs): SlurmJobOutputs {
    submitted.push(outs.jobId);
    return outs;
}

function noUndefined(value: unknown, path = "outs"): void {
    if (value === undefined) {
        throw new Error(`${path} is undefined`);
    }
    if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            noUndefined(v, `${path}.${k}`);
        }
    }
}

describe.skipIf(!available)("SlurmJob on a real Slurm cluster", () => {
    // Long cases start first and are checked at the end, so the suite waits for them once.
    let timeoutJob: SlurmJobOutputs;
    let purgedJob: SlurmJobOutputs;

    beforeAll(async () => {
        timeoutJob = track(
            await create(
                jobInputs(
                    {
                        jobName: "times-out",
                        time: "1",
                        command: "sleep 300",
                        output: "/dev/null",
                    },
                    "timeout",
                ),
            ),
        );
        purgedJob = track(
            await create(
                jobInputs(
                    {
                        jobName: "purged",
                        command: "true",
                        output: "/dev/null",
                        waitFor: "completed",
                    },
                    "purged",
                ),
            ),
        );
    });

    afterAll(() => {
        if (submitted.length > 0) {
            onCluster(`scancel ${submitted.map(Number).join(" ")}`);
        }
        closeAllConnections();
    });

    it("submits a pending job (held with --begin) and reports its reason", async () => {
        const outs = track(await create(jobInputs({ jobName: "held", command: "true", extraArgs: ["--begin=now+1hour"] })));
        expect(outs.jobId).toMatch(/^[0-9]+$/);
        expect(outs.state).toBe("PENDING");
        expect(outs.reason).toBe("BeginTime");
        expect(squeueState(outs.jobId)).toBe("PENDING");
        noUndefined(outs);
        await provider.delete(outs.jobId, outs);
        expect(squeueState(outs.jobId)).toBe("CANCELLED");
    });

    it("waits for RUNNING, reads it back, and cancels it with signal then scancel", async () => {
        const started = Date.now();
        const outs = track(
            await create(
                jobInputs({
                    jobName: "service",
                    waitFor: "running",
                    cancelGraceSeconds: 20,
                    // The service stops cleanly on TERM, as uvicorn does.
                    command: "trap 'echo got-TERM; exit 0' TERM; echo up; while true; do sleep 1; done",
                    output: "/tmp/sparc-test-%j.out",
                }),
            ),
        );
        console.log(`submit -> RUNNING through the provider: ${Date.now() - started} ms`);
        expect(outs.state).toBe("RUNNING");
        expect(outs.nodeList).toBe("localhost");
        expect(outs.stdoutPath).toBe(`/tmp/sparc-test-${outs.jobId}.out`);
        expect(outs.startTime).toMatch(/^\d{4}-\d\d-\d\dT/);
        const read = await provider.read(outs.jobId, outs);
        expect(read.id).toBe(outs.jobId);
        expect(read.props?.state).toBe("RUNNING");
        await provider.delete(outs.jobId, outs);
        expect(["CANCELLED", "COMPLETED"]).toContain(squeueState(outs.jobId));
        expect(onCluster(`cat /tmp/sparc-test-${outs.jobId}.out`).stdout).toContain("got-TERM");
    });

    it("changes the name and time limit of a queued job in place with scontrol, keeping its id", async () => {
        const outs = track(await create(jobInputs({ jobName: "before", time: "30", command: "true", output: "/dev/null", extraArgs: ["--begin=now+1hour"] })));
        const news = { ...outs, jobName: "after rename", time: "20" } as SlurmJobInputs;
        const d = await provider.diff(outs.jobId, outs, news);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        const updated = (await provider.update(outs.jobId, outs, news)).outs as SlurmJobOutputs;
        expect(updated.jobId).toBe(outs.jobId);
        expect(updated.jobName).toBe("after rename");
        expect(onCluster(`squeue -h -j ${Number(outs.jobId)} -o '%j|%l'`).stdout.trim()).toBe("after rename|20:00");
        await provider.delete(outs.jobId, updated);
    });

    it("waits for COMPLETED and records exit code 0:0", async () => {
        const outs = track(await create(jobInputs({ command: "echo done", output: "/dev/null", waitFor: "completed" })));
        expect(outs.state).toBe("COMPLETED");
        expect(outs.exitCode).toBe("0:0");
        const d = await provider.diff(outs.jobId, outs, { ...outs });
        expect(d.replaces).toEqual([]);
        expect(d.changes).toBe(false);
    });

    it("reports a job that fails with exit 3 as an init failure that keeps the job id", async () => {
        const inputs = jobInputs({ command: "exit 3", output: "/dev/null", waitFor: "completed" });
        const err = await provider.create(inputs).then(
            () => undefined,
            (e: unknown) => e as Error & { id?: string; properties?: SlurmJobOutputs },
        );
        expect(err).toBeDefined();
        expect(err?.message).toMatch(/^job \d+ did not reach COMPLETED: state FAILED, reason NonZeroExitCode, exit code 3:0\. Log: \/dev\/null$/);
        expect(err?.id).toMatch(/^[0-9]+$/);
        expect(err?.properties?.state).toBe("FAILED");
        expect(err?.properties?.exitCode).toBe("3:0");
    });

    it("sees a job cancelled out of band on refresh, and plans its replacement", async () => {
        const outs = track(await create(jobInputs({ command: "sleep 300", output: "/dev/null", waitFor: "running" })));
        expect(onCluster(`scancel ${Number(outs.jobId)}`).code).toBe(0);
        const read = await waitUntil("CANCELLED on read", 30, async () => {
            const r = await provider.read(outs.jobId, outs);
            return r.props?.state === "CANCELLED" ? r : undefined;
        });
        const d = await provider.diff(outs.jobId, read.props as SlurmJobOutputs, outs);
        expect(d.replaces).toEqual(["state"]);
        expect(d.deleteBeforeReplace).toBe(true);
        // waitFor "completed": a job that ended otherwise than COMPLETED is submitted again (issue 9, item 6).
        const finished = { ...(read.props as SlurmJobOutputs), waitFor: "completed" as const };
        expect((await provider.diff(outs.jobId, finished, finished)).replaces).toEqual(["state"]);
        const completed = { ...finished, state: "COMPLETED" };
        expect((await provider.diff(outs.jobId, completed, completed)).replaces).toEqual([]);
        // delete of an ended job is a no-op, and so is a second delete.
        await provider.delete(outs.jobId, read.props as SlurmJobOutputs);
        await provider.delete(outs.jobId, read.props as SlurmJobOutputs);
    });

    it("rejects bad submissions with the command, exit code and Slurm's words, never the key", async () => {
        const cases: [Partial<SlurmJobInputs>, RegExp][] = [
            [
                { partition: "nosuchpart" },
                /exited 1: sbatch: error: invalid partition specified: nosuchpart\nsbatch: error: Batch job submission failed: Invalid partition name specified/,
            ],
            [{ mem: "100G" }, /exited 1: sbatch: error: Memory specification can not be satisfied/],
            [{ partition: "debug", time: "14-00:00:00" }, /exited 1: sbatch: error: Batch job submission failed: Requested time limit is invalid/],
            [{ partition: "gpu", gres: "gpu:3" }, /Requested node configuration is not available/],
        ];
        for (const [fields, expected] of cases) {
            // With the sinfo checks off, sbatch itself is the one to refuse.
            const err = await create(jobInputs({ command: "true", output: "/dev/null", clusterChecks: "off", ...fields })).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err?.name).toBe("SlurmCommandError");
            expect(err?.message).toMatch(/^sbatch rejected the job: `sbatch --parsable '?--comment=pulumi:/);
            expect(err?.message).toMatch(expected);
            expect(err?.message).not.toContain(privateKeyText.split("\n")[1]);
        }
        // A bad time is caught before anything reaches the cluster.
        const bad = await provider.check({} as SlurmJobInputs, jobInputs({ command: "true", time: "abc" }));
        expect(bad.failures?.[0]?.property).toBe("time");
    });

    it("checks partition, time limit and GPU type against sinfo before submitting, listing what the cluster offers", async () => {
        const offers = /The cluster offers: debug \(default\) \(MaxTime 1-00:00:00, GPUs fake\), gpu \(MaxTime 14-00:00:00, GPUs fake\)/;
        const cases: [Partial<SlurmJobInputs>, string, RegExp][] = [
            [{ partition: "hpg-ai" }, "partition", /partition "hpg-ai" does not exist on 127.0.0.1; it offers: debug \(default\)/],
            [{ partition: "debug", time: "14-00:00:00" }, "time", offers],
            [{ partition: "gpu", gpusPerTask: "a100:4" }, "gpusPerTask", /asks for GPU type a100, but partition gpu offers GPU types fake/],
            [
                { partition: "gpu", gpus: "a100:4" },
                "gpus",
                /gpus "a100:4" asks for GPU type a100, but partition gpu offers GPU types fake\. The cluster offers: .*gpu \(MaxTime 14-00:00:00, GPUs fake\)/,
            ],
        ];
        for (const [fields, property, reason] of cases) {
            const inputs = jobInputs({ command: "true", output: "/dev/null", ...fields });
            const err = await provider.create(inputs).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err?.message).toMatch(/^the cluster cannot run this job:/);
            expect(err?.message).toContain(`${property}: `);
            expect(err?.message).toMatch(reason);
            expect(jobsWithTag(inputs.ownerTag)).toEqual([]);
            // With clusterChecks "preview" the same failure comes from check(), i.e. at `pulumi preview`.
            const checked = await provider.check({} as SlurmJobInputs, { ...inputs, clusterChecks: "preview" });
            expect(checked.failures?.map((f) => f.property)).toEqual([property]);
        }
        // The default ("up") asks nothing at check time.
        const before = slurmStats().commands.sinfo ?? 0;
        await provider.check({} as SlurmJobInputs, jobInputs({ command: "true", partition: "hpg-ai" }));
        expect(slurmStats().commands.sinfo ?? 0).toBe(before);
    });

    it("runs on a GPU partition with --gres and sees the GPU", async () => {
        const outs = track(
            await create(
                jobInputs({
                    partition: "gpu",
                    gres: "gpu:fake:1",
                    time: "14-00:00:00",
                    waitFor: "completed",
                    command: "echo CUDA=$CUDA_VISIBLE_DEVICES",
                    output: "/tmp/sparc-gpu-%j.out",
                }),
            ),
        );
        expect(outs.state).toBe("COMPLETED");
        expect(onCluster(`cat /tmp/sparc-gpu-${outs.jobId}.out`).stdout.trim()).toBe("CUDA=0");
    });

    it("passes hostile strings in every field through to Slurm literally, and runs none of them", async () => {
        const marker = `/tmp/sparc-pwned-${process.pid}`;
        const hostile = `a'b"c $(touch ${marker}-1) \`touch ${marker}-2\`; touch ${marker}-3 && é日本 🚀 #x \\`;
        const outs = track(
            await create(
                jobInputs({
                    jobName: hostile,
                    environment: { HOSTILE: hostile },
                    command: "printf '%s' \"$HOSTILE\"",
                    output: `/tmp/sparc-hostile-%j-${process.pid}.out`,
                    waitFor: "completed",
                }),
            ),
        );
        expect(outs.state).toBe("COMPLETED");
        const name = onCluster(`squeue -h -t all -j ${Number(outs.jobId)} -o %j`).stdout.replace(/\n$/, "");
        expect(name).toBe(hostile);
        expect(onCluster(`cat /tmp/sparc-hostile-${outs.jobId}-${process.pid}.out`).stdout).toBe(hostile);
        expect(onCluster(`ls ${marker}-* 2>/dev/null | wc -l`).stdout.trim()).toBe("0");
        // Newlines would add script lines: refused at check time.
        const nl = await provider.check({} as SlurmJobInputs, jobInputs({ command: "true", jobName: "a\n#SBATCH --wrap=x" }));
        expect(nl.failures?.map((f) => f.property)).toContain("jobName");
    });

    it("adopts the live job of an interrupted earlier run instead of submitting a second one", async () => {
        const inputs = jobInputs({ command: "sleep 300", output: "/dev/null" });
        const checked = (await provider.check({} as SlurmJobInputs, inputs)).inputs as SlurmJobInputs;
        const first = track((await provider.create(checked)).outs as SlurmJobOutputs);
        // What a provider killed between sbatch and the id's return leaves (journal.ts): the next create
        // draws a new nonce (check of a new resource), and finds the earlier one only through the journal.
        journalRecord(checked, checked.ownerNonce ?? "", "interrupted", first.jobId);
        const second = track(await create(inputs));
        expect(second.jobId).toBe(first.jobId);
        expect(jobsWithTag(inputs.ownerTag)).toEqual([first.jobId]);
        await provider.delete(first.jobId, first);
    });

    it("submits exactly one job when the connection is cut while sbatch's reply is in flight", async () => {
        const proxy = new FaultProxy();
        const port = await proxy.listen();
        try {
            const inputs = jobInputs({ command: "sleep 300", output: "/dev/null", connection: testConnection({ port }) });
            // Log in through the proxy first (the pool keeps the connection), then hold everything
            // the server sends for 2 s, so the job exists on the cluster before its id reaches us.
            expect((await runRemote(inputs.connection, ["true"])).code).toBe(0);
            proxy.downstreamDelayMs = 2000;
            const creating = provider.create((await provider.check({} as SlurmJobInputs, inputs)).inputs as SlurmJobInputs);
            creating.catch(() => undefined); // awaited below; keeps an early failure from being "unhandled"
            const jobId = await waitUntil("the job to appear in squeue", 60, () => jobsWithTag(inputs.ownerTag)[0], 100);
            proxy.downstreamDelayMs = 0;
            proxy.cutAll();
            const outs = track((await creating).outs as SlurmJobOutputs);
            expect(outs.jobId).toBe(jobId);
            expect(jobsWithTag(inputs.ownerTag)).toEqual([jobId]);
            expect(proxy.connections).toBeGreaterThanOrEqual(2);
            await provider.delete(outs.jobId, outs);
        } finally {
            await proxy.close();
            closeAllConnections();
        }
    });

    it("runs a job through the openssh transport with one login for all its commands (one Duo prompt)", async () => {
        const sshdLog = "/var/lib/slurm-test/log/sshd.log";
        const logins = () =>
            fs
                .readFileSync(sshdLog, "utf8")
                .split("\n")
                .filter((l) => l.includes("Accepted publickey for hpcuser")).length;
        const controlPath = `/tmp/sparc-test-cm-${process.pid}-%C`;
        const connection = { ...testConnection({ transport: "openssh", identityFile: USER_KEY_PATH, controlPath }), privateKey: undefined };
        const before = logins();
        const outs = track(await create(jobInputs({ command: "sleep 300", output: "/dev/null", waitFor: "running", connection })));
        expect(outs.state).toBe("RUNNING");
        expect((await provider.read(outs.jobId, outs)).props?.state).toBe("RUNNING");
        await provider.delete(outs.jobId, outs);
        // Counted before any out-of-band check below logs in on its own.
        expect(logins() - before).toBe(1);
        // TERM ends `sleep` during the grace period (FAILED), or scancel does (CANCELLED).
        expect(["CANCELLED", "FAILED"]).toContain(squeueState(outs.jobId));
        // A wrong pinned key is refused by ssh too.
        const other = fs.readFileSync(USER_KEY_PATH + ".pub", "utf8");
        const bad = jobInputs({ command: "true", connection: { ...connection, hostKey: other, controlPath: `/tmp/sparc-test-cm2-${process.pid}-%C` } });
        const err = await provider.create(bad).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err?.message).toMatch(/host key does not match connection.hostKey/);
        onCluster("true");
        spawnSync("ssh", ["-O", "exit", "-o", `ControlPath=${controlPath}`, "-p", "2222", "hpcuser@127.0.0.1"], { stdio: "ignore" });
    });

    it("logs in with a passphrase-protected key, and a wrong passphrase fails without showing it", async () => {
        const dir = fs.mkdtempSync("/tmp/sparc-passkey-");
        const keyFile = `${dir}/id`;
        const passphrase = `pass-${process.pid}-phrase`;
        expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "sparc-passphrase-test", "-f", keyFile]).status).toBe(0);
        const authorized = "/home/hpcuser/.ssh/authorized_keys";
        const original = fs.readFileSync(authorized, "utf8");
        fs.appendFileSync(authorized, fs.readFileSync(`${keyFile}.pub`, "utf8"));
        try {
            closeAllConnections();
            const privateKey = fs.readFileSync(keyFile, "utf8");
            const outs = track(await create(jobInputs({ command: "true", output: "/dev/null", connection: testConnection({ privateKey, passphrase }) })));
            expect(outs.jobId).toMatch(/^[0-9]+$/);
            closeAllConnections();
            const wrong = jobInputs({ command: "true", connection: testConnection({ privateKey, passphrase: "not-it", dialAttempts: 1 }) });
            const err = await provider.create(wrong).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err?.message).toMatch(
                /^connection to hpcuser@127\.0\.0\.1:2222: cannot use connection\.privateKey \(.*\); check the key and connection\.passphrase$/,
            );
            expect(err?.message).not.toContain("not-it");
            expect(err?.message).not.toContain(passphrase);
        } finally {
            fs.writeFileSync(authorized, original);
            fs.rmSync(dir, { recursive: true, force: true });
            closeAllConnections();
        }
    });

    it("refuses a server whose host key does not match, and says how to fix it", async () => {
        const other = fs.readFileSync(USER_KEY_PATH + ".pub", "utf8");
        const inputs = jobInputs({ command: "true", connection: testConnection({ hostKey: other, dialAttempts: 1 }) });
        const err = await provider.create(inputs).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err?.message).toMatch(/host key does not match connection.hostKey/);
        expect(err?.message).not.toContain(privateKeyText.split("\n")[1]);
    });

    it("keeps the job in state with a clear error when slurmctld is down during a read", async () => {
        const outs = track(await create(jobInputs({ command: "sleep 300", output: "/dev/null" })));
        stopSlurmctld();
        try {
            const err = await provider.read(outs.jobId, outs).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err?.name).toBe("SlurmCommandError");
            expect(err?.message).toMatch(
                /reading the job from slurmctld failed: `env SLURM_TIME_FORMAT=standard squeue .*` exited 1: .*(Unable to contact slurm controller|Socket timed out)/s,
            );
        } finally {
            restartCluster();
        }
        const back = await provider.read(outs.jobId, outs);
        expect(back.id).toBe(outs.jobId);
        await provider.delete(outs.jobId, outs);
    });

    it("shares one SSH connection across many concurrent operations", async () => {
        closeAllConnections();
        const before = slurmStats().handshakes;
        const jobs = await Promise.all(
            Array.from({ length: 6 }, (_, i) => create(jobInputs({ command: "true", output: "/dev/null", extraArgs: ["--begin=now+1hour"] }, `pool${i}`))),
        );
        jobs.forEach(track);
        const squeueBefore = slurmStats().commands.squeue ?? 0;
        const reads = await Promise.all(jobs.map((j) => provider.read(j.jobId, j)));
        expect(reads.every((r, i) => r.id === jobs[i].jobId && r.props?.state === "PENDING")).toBe(true);
        expect(slurmStats().handshakes - before).toBe(1);
        // Six concurrent refreshes cost one squeue.
        expect((slurmStats().commands.squeue ?? 0) - squeueBefore).toBe(1);
        await Promise.all(jobs.map((j) => provider.delete(j.jobId, j)));
        expect(sshPool().entries.size).toBe(1);
    });

    it("finds a purged job in accounting, and a job unknown to both is gone", async () => {
        expect(purgedJob.state).toBe("COMPLETED");
        // MinJobAge=10: slurmctld forgets the job 10-14 s after it ends.
        await waitUntil(
            "slurmctld to purge the job",
            60,
            () => (onCluster(`squeue -h -t all -j ${Number(purgedJob.jobId)}`).code === 1 ? true : undefined),
            1000,
        );
        const read = await provider.read(purgedJob.jobId, purgedJob);
        expect(read.id).toBe(purgedJob.jobId);
        expect(read.props?.state).toBe("COMPLETED");
        expect(read.props?.exitCode).toBe("0:0");
        const gone = await provider.read("999999", { ...purgedJob, jobId: "999999" });
        expect(gone.id).toBe("");
    }, 120_000);

    it("records a job that hit its time limit as TIMEOUT", async () => {
        // Slurm enforces limits coarsely: measured 75 s for a 1-minute limit.
        const read = await waitUntil(
            "TIMEOUT",
            200,
            async () => {
                const r = await provider.read(timeoutJob.jobId, timeoutJob);
                return r.props?.state === "TIMEOUT" ? r : undefined;
            },
            5000,
        );
        expect(read.props?.state).toBe("TIMEOUT");
        expect((await provider.diff(timeoutJob.jobId, read.props as SlurmJobOutputs, timeoutJob)).replaces).toEqual(["state"]);
    }, 240_000);
});
