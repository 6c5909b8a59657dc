// Benchmark (not a test): the scheduler queries the SlurmJob provider makes
//   1. during a 10-minute wait for RUNNING (a job held PENDING by --begin, hpg's waitPollSeconds 15),
//   2. during a service job's create (RUNNING and ready) and delete (renewal is the chain's, on the cluster),
// against the local test cluster. Prints each scheduler query's time from the start of its phase,
// the pauses between them, and the counts. UF RC forbids frequent polling of the scheduler.
// Run: npx ts-node --transpile-only test/bench/hpg-bench.ts [waitSeconds=600]   (needs test/cluster/setup.sh)
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { endpointFilePattern, readinessScript } from "../../components/hpg/commands";
import { shQuote } from "../../providers/remote/quote";
import { jobInputs, jobsWithTag, onCluster } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const SCHEDULER = ["sbatch", "squeue", "sacct", "sinfo", "scontrol", "scancel"];

function counts(): Record<string, number> {
    return { ...slurmStats().commands };
}

/** Records when each scheduler command ran (sampled every 100 ms from the provider's counters). */
async function observe<T>(label: string, work: () => Promise<T>): Promise<T | Error> {
    const start = Date.now();
    let last = counts();
    const events: { at: number; command: string }[] = [];
    const timer = setInterval(() => {
        const now = counts();
        for (const command of SCHEDULER) {
            for (let i = last[command] ?? 0; i < (now[command] ?? 0); i++) {
                events.push({ at: (Date.now() - start) / 1000, command });
            }
        }
        last = now;
    }, 100);
    let result: T | Error;
    try {
        result = await work();
    } catch (err) {
        result = err as Error;
    }
    await new Promise((r) => setTimeout(r, 150));
    clearInterval(timer);
    const seconds = (Date.now() - start) / 1000;
    const byCommand = SCHEDULER.map((c) => [c, events.filter((e) => e.command === c).length] as const).filter(([, n]) => n > 0);
    const times = events.map((e) => e.at);
    const gapsAfterMinute = times
        .slice(1)
        .map((t, i) => [times[i], t - times[i]] as const)
        .filter(([t]) => t >= 60)
        .map(([, gap]) => gap);
    console.log(`${label}: ${seconds.toFixed(1)} s, ${events.length} scheduler queries (${byCommand.map(([c, n]) => `${c}=${n}`).join(" ")})`);
    console.log(`  at (s): ${events.map((e) => `${e.at.toFixed(1)} ${e.command}`).join(", ")}`);
    if (gapsAfterMinute.length > 0) {
        console.log(`  shortest pause between queries once the wait passed a minute: ${Math.min(...gapsAfterMinute).toFixed(1)} s`);
    }
    return result;
}

/** A tiny service in the job: a free port, the endpoint file, /health answering with the job id (python3 on the node). */
function serviceCommand(pattern: string): string {
    const endpoint = pattern.replace("%j", "'\"$SLURM_JOB_ID\"'");
    return [
        "set -euo pipefail",
        "port=$(python3 -c 'import socket; s=socket.socket(); s.bind((\"\", 0)); print(s.getsockname()[1])')",
        `printf '%s %s %s\\n' "\${SLURMD_NODENAME:-$(hostname -s)}" "$port" "$SLURM_JOB_ID" > '${endpoint}'`,
        `exec python3 -c ${shQuote(
            [
                "import http.server, json, os, sys",
                "class H(http.server.BaseHTTPRequestHandler):",
                "    def do_GET(self):",
                "        b = json.dumps({'status': 'ok', 'job_id': os.environ['SLURM_JOB_ID']}).encode()",
                "        self.send_response(200); self.send_header('content-length', str(len(b))); self.end_headers(); self.wfile.write(b)",
                "    def log_message(self, *a): pass",
                "http.server.HTTPServer(('', int(sys.argv[1])), H).serve_forever()",
            ].join("\n"),
        )} "$port"`,
    ].join("\n");
}

async function main(): Promise<void> {
    const waitSeconds = Number(process.argv[2] ?? "600");
    closeAllConnections();

    // 1. A wait for RUNNING that lasts waitSeconds: the job is held by --begin, so it stays PENDING.
    const held = jobInputs(
        {
            command: "true",
            output: "/dev/null",
            extraArgs: ["--begin=now+2hours"],
            waitFor: "running",
            waitTimeoutSeconds: waitSeconds,
            waitPollSeconds: 15,
        },
        "bench-wait",
    );
    const waited = await observe(`wait for RUNNING, ${waitSeconds} s (waitPollSeconds 15, as the hpg service job)`, async () =>
        provider.create((await provider.check({} as SlurmJobInputs, held)).inputs as SlurmJobInputs),
    );
    console.log(`  outcome: ${waited instanceof Error ? waited.message.split(".")[0] : "reached RUNNING"}`);
    for (const id of jobsWithTag(held.ownerTag)) {
        onCluster(`scancel ${Number(id)}`);
    }

    // 2. A service job: created (RUNNING, ready), then deleted. (Renewal is the chain's own, on the
    // cluster: test/cluster/slurm-chain.test.ts measures it.)
    const dir = "/blue/sparc-test/hpcuser/sparc-bench";
    onCluster(`mkdir -p ${dir}`);
    const pattern = endpointFilePattern(dir, "bench_%j.log");
    const service = jobInputs(
        {
            command: serviceCommand(pattern),
            output: `${dir}/bench_%j.log`,
            time: "30",
            cpusPerTask: 1,
            mem: "256M",
            waitFor: "running",
            waitTimeoutSeconds: 120,
            waitPollSeconds: 15,
            cancelGraceSeconds: 5,
            readyCheck: readinessScript({ endpointPattern: pattern, timeoutSeconds: 60 }),
            readyTimeoutSeconds: 60,
        },
        "bench-service",
    );
    const inputs = (await provider.check({} as SlurmJobInputs, service)).inputs as SlurmJobInputs;
    const first = await observe("service job create (RUNNING + ready)", () => provider.create(inputs));
    if (first instanceof Error) {
        throw first;
    }
    const old = first.outs as SlurmJobOutputs;
    await observe("service job delete", () => provider.delete(old.jobId, old));
    onCluster(`rm -rf ${dir}`);
    closeAllConnections();
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
