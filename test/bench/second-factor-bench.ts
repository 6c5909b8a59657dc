// Benchmark (not a test): logins and second-factor prompts per operation against a login node
// that asks for a second factor after the key (the project's sshd on 127.0.0.1:2224, Duo-shaped
// prompt "Passcode or option (1-3):", static answer), for both transports: N = 1, 10, 50
// SlurmJobs created, refreshed and deleted (each operation a fresh process, as each `pulumi
// up/refresh/destroy` is), and one job waited for RUNNING through a 10-minute hold.
// Run: npx ts-node --transpile-only test/bench/second-factor-bench.ts [--no-wait | --only-wait] [--wait-seconds=600]
//   (needs test/cluster/setup.sh and test/cluster/second-factor/setup.sh)
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { jobInputs, onCluster } from "../support/cluster";
import { countsSince, setMode, settle, tfaConnection, tfaCounts } from "../support/second-factor";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const transports = ["ssh2", "openssh"] as const;

/** One operation as its own provider process would run it: fresh pool, counted at the sshd. */
async function operation<T>(label: string, work: () => Promise<T>): Promise<T> {
    closeAllConnections();
    const before = tfaCounts();
    const handshakes = slurmStats().handshakes;
    const queries = { ...slurmStats().commands };
    const started = Date.now();
    const result = await work();
    const seconds = (Date.now() - started) / 1000;
    closeAllConnections();
    await settle(1000);
    const d = countsSince(before);
    const asked = d.prompts.filter((l) => l.endsWith(" asked")).length;
    const commands = Object.entries(slurmStats().commands)
        .map(([k, v]) => [k, v - (queries[k] ?? 0)] as const)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
    console.log(
        `${label.padEnd(34)} ${seconds.toFixed(1).padStart(7)} s  logins=${d.attempts} prompts=${asked} accepted=${d.accepted} failed=${d.failed} ` +
            `(client handshakes=${slurmStats().handshakes - handshakes}) ${commands}`,
    );
    return result;
}

async function main(): Promise<void> {
    const waitSeconds = Number((process.argv.find((a) => a.startsWith("--wait-seconds=")) ?? "--wait-seconds=600").split("=")[1]);
    setMode("duo", "1");
    for (const transport of process.argv.includes("--only-wait") ? [] : transports) {
        const connection = tfaConnection(transport, { keyboardInteractiveAnswers: ["1"] });
        for (const n of [1, 10, 50]) {
            // Held jobs (--begin) so that 50 of them never wait for the test node's 2 CPUs.
            const inputs = Array.from({ length: n }, (_, i) =>
                jobInputs({ connection, command: "true", output: "/dev/null", extraArgs: ["--begin=now+1hour"] }, `tfa-bench${n}-${i}`),
            );
            const jobs = await operation(`${transport} N=${n} create (up)`, () =>
                Promise.all(
                    inputs.map(
                        async (inp) =>
                            (await provider.create((await provider.check({} as SlurmJobInputs, inp)).inputs as SlurmJobInputs)).outs as SlurmJobOutputs,
                    ),
                ),
            );
            await operation(`${transport} N=${n} read (refresh)`, () => Promise.all(jobs.map((j) => provider.read(j.jobId, j))));
            await operation(`${transport} N=${n} delete (destroy)`, () => Promise.all(jobs.map((j) => provider.delete(j.jobId, j))));
        }
    }
    if (!process.argv.includes("--no-wait")) {
        // Both transports wait at once (two pools, two logins in all): one job each, held for waitSeconds, waited for
        // RUNNING (it then runs long enough for the provider's slowest poll, 120 s, to see it), then deleted.
        await operation(`both: wait ${waitSeconds} s for RUNNING (2 jobs)`, () =>
            Promise.all(
                transports.map(async (transport) => {
                    const inp = jobInputs(
                        {
                            connection: tfaConnection(transport, { keyboardInteractiveAnswers: ["1"] }),
                            command: "sleep 900",
                            output: "/dev/null",
                            cpusPerTask: 1,
                            mem: "100M",
                            partition: "debug",
                            extraArgs: [`--begin=now+${waitSeconds}`],
                            waitFor: "running",
                            waitTimeoutSeconds: waitSeconds + 300,
                            waitPollSeconds: 10,
                        },
                        `tfa-wait-${transport}`,
                    );
                    const job = (await provider.create((await provider.check({} as SlurmJobInputs, inp)).inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
                    console.log(`  ${transport}: job ${job.jobId} ${job.state} (submitted ${job.submitTime}, started ${job.startTime})`);
                    await provider.delete(job.jobId, job);
                }),
            ),
        );
    }
    setMode("totp");
    closeAllConnections();
}

main().catch((err) => {
    console.error(err);
    onCluster("true");
    process.exit(1);
});
