// Benchmark (not a test): SSH handshakes and scheduler queries the SlurmJob provider
// costs for N jobs created, refreshed and deleted, against the local test cluster.
// Run: npm run bench   (needs `bash test/cluster/setup.sh`)
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { jobInputs } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;

function snapshot(): Record<string, number> {
    const s = slurmStats();
    return { handshakes: s.handshakes, ...s.commands };
}

function delta(before: Record<string, number>): string {
    const after = snapshot();
    return Object.keys(after)
        .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
}

async function phase<T>(label: string, n: number, work: () => Promise<T>): Promise<T> {
    const before = snapshot();
    const started = process.hrtime.bigint();
    const result = await work();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`N=${String(n).padStart(2)} ${label.padEnd(8)} ${ms.toFixed(0).padStart(6)} ms  ${delta(before)}`);
    return result;
}

async function main(): Promise<void> {
    for (const n of [1, 10, 50]) {
        closeAllConnections();
        // Held jobs (--begin) so that 50 of them never wait for the test node's 2 CPUs.
        const inputs = Array.from({ length: n }, (_, i) =>
            jobInputs({ command: "true", output: "/dev/null", extraArgs: ["--begin=now+1hour"] }, `bench${n}-${i}`),
        );
        const jobs = await phase("create", n, () =>
            Promise.all(
                inputs.map(
                    async (inp) => (await provider.create((await provider.check({} as SlurmJobInputs, inp)).inputs as SlurmJobInputs)).outs as SlurmJobOutputs,
                ),
            ),
        );
        await phase("refresh", n, () => Promise.all(jobs.map((j) => provider.read(j.jobId, j))));
        await phase("delete", n, () => Promise.all(jobs.map((j) => provider.delete(j.jobId, j))));
    }
    closeAllConnections();
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
