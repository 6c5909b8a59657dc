// A self-renewing SlurmJob chain (providers/slurm/chain.ts) on the real test cluster, whose slurmd
// runs on this machine, so a job really calls sbatch. Jobs of 2 minutes that renew 100 s before
// their end (a renewal every ~20 s). The service is a small HTTP server answering /health with
// its job id, and the handover is the hpg stack's own readiness script (components/hpg), which
// switches the current-endpoint file. Figures are printed at the end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { closeAllConnections } from "../../providers/remote/remote";
import { newOwnerNonce } from "../../providers/slurm/ownership";
import { parseJobComment } from "../../providers/slurm/ownership";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { currentEndpointFile, endpointFilePattern, readinessScript } from "../../components/hpg/commands";
import { HOST_KEY_PATH, USER_KEY_PATH, jobInputs, onCluster, requireClusterOrSkip, waitUntil } from "../support/cluster";
import { startTunnel } from "../../scripts/tunnel/tunnel";
import * as http from "node:http";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const clusterUp = requireClusterOrSkip();
/** Per run: hpcuser's tree, which this machine (the compute node) reads directly. */
const DIR = `/blue/sparc-test/hpcuser/sparc-chain-${process.pid}`;
const RENEW_BEFORE = 100;
/** A job's life before it renews: a 2-minute limit minus RENEW_BEFORE. */
const PERIOD = 120 - RENEW_BEFORE;
const PATTERN = endpointFilePattern(DIR, "chain_%j.log");
const CURRENT = currentEndpointFile(PATTERN);

/** The service: a free port, the endpoint file "node port jobid", then an HTTP server answering /health with the job id. */
const SERVICE = [
    "set -euo pipefail",
    `port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')`,
    `endpoint=${DIR}/sparc_service_"$SLURM_JOB_ID".endpoint`,
    `printf '%s %s %s\\n' "\${SLURMD_NODENAME:-localhost}" "$port" "$SLURM_JOB_ID" > "$endpoint.part" && mv -f "$endpoint.part" "$endpoint"`,
    `exec python3 -c '
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = json.dumps({"status": "ok", "job_id": os.environ["SLURM_JOB_ID"]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
' "$port"`,
].join("\n");

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

    beforeAll(() => {
        onCluster(`rm -rf ${DIR} && mkdir -p ${DIR}`);
    });

    afterAll(async () => {
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

    it("destroy just before, during and just after the successor's sbatch leaves no job, and none appears two renewal periods later", async () => {
        // A slower sbatch (as on a busy cluster) for the jobs of these chains: 3 s between its start and the real sbatch.
        const slow = `${DIR}/slowbin`;
        onCluster(
            `mkdir -p ${slow} && printf '%s\\n' '#!/bin/bash' 'case " $* " in *" --test-only "*) ;; *) touch "$SPARC_TEST_MARK"; sleep 3;; esac' 'exec /usr/bin/sbatch "$@"' > ${slow}/sbatch && chmod +x ${slow}/sbatch`,
        );
        const moments = ["before", "during", "after"] as const;
        const stopped: SlurmJobOutputs[] = [];
        for (const moment of moments) {
            const mark = `${DIR}/in-sbatch-${moment}`;
            const { id, outs } = await start(`destroy-${moment}`, {
                extraArgs: [`--export=ALL,PATH=${slow}:/usr/local/bin:/usr/bin:/bin,SPARC_TEST_MARK=${mark}`],
            });
            const log = outs.stdoutPath;
            const end = Number(await waitUntil("the job's recorded end", 30, () => readLocal(`${outs.chainPath}/end.${outs.jobId}`).trim() || undefined));
            if (moment === "before") {
                await waitUntil("2 s before the renewal", PERIOD + 10, () => (Date.now() / 1000 >= end - RENEW_BEFORE - 2 ? true : undefined), 50);
            } else if (moment === "during") {
                await waitUntil("the successor's sbatch", PERIOD + 30, () => (fs.existsSync(mark) ? true : undefined), 20);
            } else {
                await waitUntil("the successor submitted", PERIOD + 30, () => (/submitted successor \d+/.test(readLocal(log)) ? true : undefined), 20);
            }
            const at = Date.now();
            await provider.delete(id, outs);
            figures.push(
                `destroy ${moment} the successor's sbatch: took ${((Date.now() - at) / 1000).toFixed(1)} s; jobs of the chain: ${chainJobs(outs)
                    .map((j) => `${j.id} ${j.state}`)
                    .join(", ")}; log: ${readLocal(log)
                    .split("\n")
                    .filter((l) => l.startsWith("chain:"))
                    .map((l) => l.replace(/^chain: \S+ /, ""))
                    .join(" | ")}`,
            );
            expect(live(outs)).toEqual([]);
            stopped.push(outs);
        }
        // Two renewal periods after the last destroy: still no job of any of these chains.
        await new Promise((r) => setTimeout(r, 2 * PERIOD * 1000));
        for (const outs of stopped) {
            expect(live(outs)).toEqual([]);
        }
        figures.push(`after ${2 * PERIOD} s more: ${stopped.map((o) => live(o).length).join("/")} live jobs in the three chains`);
    }, 600_000);

    it("a changed field replaces the chain once: one new chain, the old one gone", async () => {
        const { id, outs, inputs } = await start("replace");
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
