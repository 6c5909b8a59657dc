// A self-renewing SlurmJob chain (providers/slurm/chain.ts) on the real test cluster, whose slurmd
// runs on this machine, so a job really calls sbatch. Jobs of 2 minutes that renew 100 s before
// their end (a renewal every ~20 s). The service is a small HTTP server answering /health with
// its job id, and the handover is the hpg stack's own readiness script (components/hpg), which
// switches the current-endpoint file. `pulumi destroy` at the worst moments runs through the real
// CLI on test/e2e/programs/slurm-chain. Figures are printed at the end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { closeAllConnections } from "../../providers/remote/remote";
import { newOwnerNonce } from "../../providers/slurm/ownership";
import { parseJobComment } from "../../providers/slurm/ownership";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { readinessScript } from "../../components/hpg/commands";
import { chainCurrentEndpoint, chainEndpointPattern, chainService } from "../support/chainService";
import { HOST_KEY_PATH, USER_KEY_PATH, jobInputs, liveJobsWithTag, onCluster, requireClusterOrSkip, waitUntil } from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";
import * as path from "node:path";
import { startTunnel } from "../../scripts/tunnel/tunnel";
import * as http from "node:http";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const clusterUp = requireClusterOrSkip();
/** `pulumi destroy` runs through the real CLI (scripts/pulumi-engine/build.sh) on this program. */
const noEngine = shouldSkipEngineTests();
const CHAIN_PROGRAM = path.join(__dirname, "../e2e/programs/slurm-chain");
/** Per run: hpcuser's tree, which this machine (the compute node) reads directly. */
const DIR = `/blue/sparc-test/hpcuser/sparc-chain-${process.pid}`;
const RENEW_BEFORE = 100;
/** A job's life before it renews: a 2-minute limit minus RENEW_BEFORE. */
const PERIOD = 120 - RENEW_BEFORE;
const PATTERN = chainEndpointPattern(DIR);
const CURRENT = chainCurrentEndpoint(DIR);

const SERVICE = chainService(DIR);

function chainInputs(name: string, overrides: Partial<SlurmJobInputs> = {}): SlurmJobInputs {
    return jobInputs(
        {
            command: SERVICE,
            partition: "debug",
            time: "2",
            mem: "100M",
            output: `${DIR}/chain_%j.log`,
            workdir: DIR,
            waitFor: "running",
            waitTimeoutSeconds: 60,
            cancelGraceSeconds: 2,
            deleteTimeoutSeconds: 60,
            readyCheck: readinessScript({ endpointPattern: PATTERN, timeoutSeconds: 30 }),
            readyTimeoutSeconds: 30,
            renewBeforeSeconds: RENEW_BEFORE,
            chainDir: `${DIR}/chains`,
            chainPollSeconds: 2,
            ownerNonce: newOwnerNonce(),
            ...overrides,
        },
        name,
    );
}

/** The chain's jobs slurmctld knows (all states), read on this machine (the cluster's own host). */
function chainJobs(outs: SlurmJobOutputs): { id: string; state: string }[] {
    const r = spawnSync("squeue", ["-h", "-t", "all", "-u", "hpcuser", "-o", "%i|%T|%k"], { encoding: "utf8" });
    const hash = /chain-[0-9a-f]+-([0-9a-f]{16})$/.exec(outs.chainPath ?? "")?.[1];
    return r.stdout
        .split("\n")
        .filter((l) => l.includes("|"))
        .map((l) => l.split("|"))
        .filter(([, , comment]) => parseJobComment(comment ?? "").scriptHash === hash && parseJobComment(comment ?? "").nonce === outs.ownerNonce)
        .map(([id, state]) => ({ id, state }));
}
/** The batch shell of a running job (the process slurmstepd started), found on this machine, the cluster's node. */
function batchShell(jobId: string): number {
    const r = onCluster(
        `for p in $(pgrep -u hpcuser -f 'job0*${Number(jobId)}/slurm_script'); do [ "$(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')")" = slurmstepd ] && echo "$p"; done`,
    );
    const pids = r.stdout.trim().split("\n").filter(Boolean);
    if (pids.length !== 1) {
        throw new Error(`job ${jobId}: expected one batch shell, found [${pids.join(", ")}] (${r.stderr.trim()})`);
    }
    return Number(pids[0]);
}
const live = (outs: SlurmJobOutputs) => chainJobs(outs).filter((j) => ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING"].includes(j.state));

function readLocal(path: string): string {
    try {
        return fs.readFileSync(path, "utf8");
    } catch {
        return "";
    }
}

describe.skipIf(!clusterUp)("self-renewing chain on the local Slurm cluster", () => {
    const figures: string[] = [];
    const made: SlurmJobOutputs[] = [];
    const stacks: TestStack[] = [];

    beforeAll(() => {
        onCluster(`rm -rf ${DIR} && mkdir -p ${DIR}`);
    });

    afterAll(async () => {
        for (const stack of stacks) {
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        }
        for (const outs of made) {
            for (const j of live(outs)) {
                onCluster(`touch ${outs.chainPath}/stop; scancel ${Number(j.id)}`);
            }
        }
        closeAllConnections();
        onCluster(`rm -rf ${DIR}`);
        console.log(`chain figures:\n  ${figures.join("\n  ")}`);
    });

    async function start(name: string, overrides: Partial<SlurmJobInputs> = {}): Promise<{ id: string; outs: SlurmJobOutputs; inputs: SlurmJobInputs }> {
        const inputs = chainInputs(name, overrides);
        const created = await provider.create(inputs);
        const outs = created.outs as SlurmJobOutputs;
        made.push(outs);
        return { id: created.id, outs, inputs };
    }

    it("renews itself 3 times with no laptop: /health through the endpoint file answers every 200 ms, never more than 2 jobs; refresh then shows the current job, no replace", async () => {
        const { id, outs, inputs } = await start("renewals");
        expect(outs.chainPath).toMatch(/\/chains\/chain-[0-9a-f]{16}-[0-9a-f]{16}$/);
        expect(outs.selfRenewal).toBe("ok");
        expect(readLocal(CURRENT).trim().split(" ")[2]).toBe(outs.jobId);
        const samples: { ok: boolean; job: string }[] = [];
        let maxLive = 0;
        let sampling = true;
        const sampler = (async () => {
            while (sampling) {
                const at = Date.now();
                const [node, port, job] = readLocal(CURRENT).trim().split(" ");
                try {
                    const res = await fetch(`http://127.0.0.1:${Number(port)}/health`, { signal: AbortSignal.timeout(2000) });
                    const body = (await res.json()) as { job_id?: string };
                    samples.push({ ok: res.ok && body.job_id === job && node !== "", job });
                } catch {
                    samples.push({ ok: false, job: job ?? "" });
                }
                await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
            }
        })();
        const counter = (async () => {
            while (sampling) {
                maxLive = Math.max(maxLive, live(outs).length);
                await new Promise((r) => setTimeout(r, 1000));
            }
        })();
        const started = Date.now();
        // No pulumi command (no provider call) from here until three handovers happened.
        const served = await waitUntil("three handovers", 4 * PERIOD + 120, () => {
            const jobs = new Set(samples.filter((s) => s.ok).map((s) => s.job));
            return jobs.size >= 4 ? [...jobs] : undefined;
        });
        const wall = (Date.now() - started) / 1000;
        sampling = false;
        await Promise.all([sampler, counter]);
        const queries = readLocal(`${outs.chainPath}/queries`).trim().split("\n").filter(Boolean);
        figures.push(
            `renewals: ${served.length - 1} handovers (${served.join(" -> ")}) in ${wall.toFixed(0)} s; ${samples.length} /health samples at 200 ms through the endpoint file, ` +
                `${samples.filter((s) => !s.ok).length} failed; at most ${maxLive} live jobs of the chain`,
        );
        figures.push(
            `scheduler queries by the chain's jobs: ${queries.length} in ${wall.toFixed(0)} s (${served.length} jobs): ` +
                Object.entries(queries.reduce<Record<string, number>>((acc, l) => ({ ...acc, [l.split(" ")[2]]: (acc[l.split(" ")[2]] ?? 0) + 1 }), {}))
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", "),
        );
        expect(samples.filter((s) => !s.ok)).toEqual([]);
        expect(samples.length).toBeGreaterThan(100);
        expect(maxLive).toBeLessThanOrEqual(2);
        // refresh: one read, the current job, and diff plans nothing (no replace, no update).
        const current = readLocal(CURRENT).trim().split(" ")[2];
        const read = await provider.read(id, outs);
        const props = read.props as SlurmJobOutputs;
        expect(read.id).toBe(id);
        expect(props.jobId).toBe(current);
        expect(props.state).toBe("RUNNING");
        expect(props.endsAt).toBeGreaterThan(Date.now() / 1000);
        expect(JSON.parse(props.readyReport ?? "{}").jobId).toBe(current);
        const diff = await provider.diff(id, props, inputs);
        expect(diff.replaces).toEqual([]);
        expect(diff.changes).toBe(false);
        figures.push(
            `refresh after the renewals: job ${props.jobId} (the endpoint file's), state ${props.state}; diff: changes ${diff.changes}, replaces [${(diff.replaces ?? []).join(",")}]`,
        );
        await provider.delete(id, props);
        expect(live(outs)).toEqual([]);
    }, 600_000);

    it.skipIf(noEngine)(
        "`pulumi destroy` just before, during and just after the successor's sbatch leaves no job, and none appears two renewal periods later",
        async () => {
            // Each moment is held, not timed: "before", the first job's batch shell is paused (SIGSTOP)
            // before its renewal and let go only once destroy's stop marker exists, so its next step is
            // the check before sbatch; "during", its sbatch (a wrapper) waits for the stop marker, then
            // really submits; "after", its sbatch submits the successor held (--hold), so the job waits for it.
            const cli = `${DIR}/cli`;
            const wrapper = (moment: string, body: string) =>
                [
                    `mkdir -p ${cli}/${moment}/bin && cat > ${cli}/${moment}/bin/sbatch <<'W' && chmod +x ${cli}/${moment}/bin/sbatch`,
                    "#!/bin/bash",
                    'case " $* " in *" --test-only "*) exec /usr/bin/sbatch "$@";; esac',
                    'for a; do last=$a; done; chain=$(dirname "$last")',
                    'touch "$chain/../../in-sbatch"',
                    body,
                    "W",
                ].join("\n");
            const wrote = onCluster(
                [
                    wrapper("before", 'exec /usr/bin/sbatch "$@"'),
                    wrapper("during", 'for i in $(seq 1200); do [ -e "$chain/stop" ] && break; sleep 0.1; done\nexec /usr/bin/sbatch "$@"'),
                    wrapper("after", 'exec /usr/bin/sbatch --hold "$@"'),
                ].join("\n"),
            );
            expect(wrote.stderr).toBe("");
            const stack = await TestStack.create(requireEngine(), { programDir: CHAIN_PROGRAM, stackName: `chain-${process.pid}` });
            stacks.push(stack);
            const config: Record<string, string> = {
                host: "127.0.0.1",
                port: "2222",
                user: "hpcuser",
                hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                dir: cli,
                time: "2",
                renewBeforeSeconds: String(RENEW_BEFORE),
                moments: "before,during",
            };
            for (const [key, value] of Object.entries(config)) {
                await stack.setConfig(key, value);
            }
            await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
            const tag = (moment: string) => `pulumi:sparc-e2e-slurm-chain/${stack.stackName}/${moment}`;
            const chainLog = (moment: string) =>
                fs
                    .readdirSync(`${cli}/${moment}`)
                    .filter((f) => /^chain_\d+\.log$/.test(f))
                    .map((f) => readLocal(`${cli}/${moment}/${f}`))
                    .join("")
                    .split("\n")
                    .filter((l) => l.startsWith("chain:"))
                    .map((l) => l.replace(/^chain: \S+ /, ""));
            // The first job's end file (written at its start, before it waits for its renewal) says where the chain is.
            const firstEnd = (moment: string) => {
                const chains = `${cli}/${moment}/chains`;
                for (const chain of fs.existsSync(chains) ? fs.readdirSync(chains) : []) {
                    for (const f of fs.readdirSync(`${chains}/${chain}`)) {
                        const end = Number(readLocal(`${chains}/${chain}/${f}`).trim());
                        if (/^end\.\d+$/.test(f) && end > 0) {
                            return { chainPath: `${chains}/${chain}`, jobId: f.slice(4), end };
                        }
                    }
                }
                return undefined;
            };
            const figure = (moment: string, took: number) =>
                `pulumi destroy ${moment} the successor's sbatch: ${took.toFixed(1)} s; live jobs of the chain after it: ${liveJobsWithTag(tag(moment)).length}; ` +
                `log: ${chainLog(moment).join(" | ")}`;

            // 1. "before" and "during" in one stack: one `pulumi destroy` ends both.
            const up = stack.up();
            up.catch(() => undefined);
            const before = await waitUntil("the before chain's first job", 120, () => firstEnd("before"), 100);
            const shell = batchShell(before.jobId);
            expect(onCluster(`kill -STOP ${shell}`).code).toBe(0);
            // Paused ahead of its renewal: its next step, once let go, is the stop check before sbatch.
            expect(Date.now() / 1000).toBeLessThan(before.end - RENEW_BEFORE);
            expect(await up).toEqual({ create: 3 });
            await waitUntil(
                "the before chain's renewal moment",
                PERIOD + 10,
                () => (Date.now() / 1000 > before.end - RENEW_BEFORE + 1 ? true : undefined),
                200,
            );
            await waitUntil("the during chain's job inside its sbatch", PERIOD + 30, () => (fs.existsSync(`${cli}/during/in-sbatch`) ? true : undefined), 100);
            let at = Date.now();
            const destroying = stack.destroyWithMessages();
            await waitUntil("destroy's stop marker in the before chain", 120, () => (fs.existsSync(`${before.chainPath}/stop`) ? true : undefined), 50);
            onCluster(`kill -CONT ${shell}`);
            expect((await destroying).summary).toEqual({ delete: 3 });
            const took1 = (Date.now() - at) / 1000;
            figures.push(figure("before", took1), figure("during", took1));
            expect(liveJobsWithTag(tag("before"))).toEqual([]);
            expect(liveJobsWithTag(tag("during"))).toEqual([]);
            expect(fs.existsSync(`${cli}/before/in-sbatch`)).toBe(false);
            expect(chainLog("before").filter((l) => l.includes("submitting successor"))).toEqual([]);

            // 2. "after": the successor submitted (held), the job waiting for it.
            await stack.setConfig("moments", "after");
            expect(await stack.up()).toEqual({ create: 2 });
            await waitUntil(
                "the after chain's successor submitted",
                PERIOD + 30,
                () => (chainLog("after").some((l) => /submitted successor \d+/.test(l)) ? true : undefined),
                100,
            );
            expect(liveJobsWithTag(tag("after"))).toHaveLength(2);
            at = Date.now();
            expect((await stack.destroy()).delete).toBe(2);
            figures.push(figure("after", (Date.now() - at) / 1000));
            expect(liveJobsWithTag(tag("after"))).toEqual([]);

            // Two renewal periods later: still no job of the three chains.
            await new Promise((r) => setTimeout(r, 2 * PERIOD * 1000));
            const left = ["before", "during", "after"].map((m) => liveJobsWithTag(tag(m)).length);
            figures.push(`after ${2 * PERIOD} s more: ${left.join("/")} live jobs in the before/during/after chains`);
            expect(left).toEqual([0, 0, 0]);
        },
        600_000,
    );
    it("a changed field replaces the chain once: one new chain, the old one gone; up says when the site forbids jobs submitting jobs", async () => {
        // These chains' jobs find an sbatch that refuses, as on a site that forbids submission from jobs.
        const forbid = `${DIR}/forbid`;
        onCluster(
            `mkdir -p ${forbid} && printf '%s\\n' '#!/bin/bash' 'echo "sbatch: error: Batch job submission failed: Access/permission denied" >&2' 'exit 1' > ${forbid}/sbatch && chmod +x ${forbid}/sbatch`,
        );
        const { id, outs, inputs } = await start("replace", { extraArgs: [`--export=ALL,PATH=${forbid}:/usr/local/bin:/usr/bin:/bin`] });
        expect(outs.selfRenewal).toBe("failed: sbatch: error: Batch job submission failed: Access/permission denied");
        const changed = { ...inputs, mem: "120M" };
        const diff = await provider.diff(id, outs, changed);
        expect(diff.replaces).toEqual(["mem"]);
        expect(diff.deleteBeforeReplace).toBe(true);
        // What the engine does for it: delete the old chain, then create the new one.
        await provider.delete(id, outs);
        const next = (await provider.create(changed)).outs as SlurmJobOutputs;
        made.push(next);
        expect(next.chainPath).not.toBe(outs.chainPath);
        expect(live(outs)).toEqual([]);
        expect(live(next).map((j) => j.id)).toEqual([next.jobId]);
        figures.push(
            `changed field (mem): old chain ${outs.chainPath?.split("/").pop()} has ${live(outs).length} live jobs; new chain has ${live(next).length} (job ${next.jobId})`,
        );
        await provider.delete(next.jobId, next);
        expect(live(next)).toEqual([]);
    }, 300_000);
    it("the tunnel helper keeps a local port answering across a renewal, over one login", async () => {
        const { id, outs } = await start("tunnel");
        const lines: string[] = [];
        const tunnel = await startTunnel({
            connection: {
                host: "127.0.0.1",
                port: 2222,
                user: "hpcuser",
                hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                transport: "openssh",
                identityFile: USER_KEY_PATH,
                controlPath: `/tmp/sparc-chain-${process.pid}-%C`,
            },
            endpointFile: CURRENT,
            localPort: 0,
            checkSeconds: 2,
            log: (l) => lines.push(l),
        });
        const first = tunnel.current().jobId;
        expect(first).toBe(outs.jobId);
        // A new connection per request (agent: false), as a client that reconnects would make.
        const ask = () =>
            new Promise<string>((resolve) => {
                const req = http.get({ host: "127.0.0.1", port: tunnel.port, path: "/health", agent: false, timeout: 3000 }, (res) => {
                    let body = "";
                    res.on("data", (c: Buffer) => (body += c.toString()));
                    res.on("end", () => resolve(res.statusCode === 200 ? ((JSON.parse(body) as { job_id?: string }).job_id ?? "") : ""));
                });
                req.on("timeout", () => req.destroy());
                req.on("error", () => resolve(""));
            });
        const samples: string[] = [];
        let last = first;
        await waitUntil(
            "a renewal seen through the tunnel, then 5 s more",
            PERIOD + 90,
            async () => {
                const at = Date.now();
                const job = await ask();
                samples.push(job);
                if (job !== "" && job !== first && last === first) {
                    last = job;
                    setTimeout(() => (last = "done"), 5000);
                }
                await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
                return last === "done" ? true : undefined;
            },
            0,
        );
        await tunnel.close();
        const failed = samples.filter((j) => j === "").length;
        figures.push(
            `tunnel: ${samples.length} requests at 200 ms (a new connection each) across the renewal ${first} -> ${tunnel.current().jobId}, ${failed} failed; ` +
                `${tunnel.stats().reads} endpoint reads over one login, ${tunnel.stats().switches} switch(es)`,
        );
        expect(failed).toBe(0);
        expect(tunnel.stats().switches).toBeGreaterThanOrEqual(1);
        await provider.delete(id, outs);
        expect(live(outs)).toEqual([]);
    }, 300_000);
});
