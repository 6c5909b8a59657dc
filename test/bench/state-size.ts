// Benchmark (not a test): how many characters one SlurmJob adds to Pulumi state, with the
// whole provider serialized into it (before issue 9) and with the shim (now). The engine
// stores __provider in both the inputs and the outputs of every SlurmJob, so it counts twice.
// Run: npm run bench:state   (no cluster needed)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jobInputs } from "../support/cluster";
import { compileProviders, serializeProvider } from "../support/serialized-provider";

function main(): void {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-state-bench-"));
    try {
        compileProviders(outDir, ["providers/slurm/index.ts", "test/e2e/programs/slurm-legacy/provider-v0/index.ts"]);
        // main before issue 9 (a verbatim copy of its providers/slurm).
        const legacy = serializeProvider(outDir, "test/e2e/programs/slurm-legacy/provider-v0/provider.js", "slurmJobProvider");
        const whole = serializeProvider(outDir, "providers/slurm/provider.js", "slurmJobProvider");
        const shim = serializeProvider(outDir, "providers/slurm/shim.js", "slurmJobShim");
        // A typical job's own inputs and outputs (the key is a placeholder of a real key's length).
        const inputs = {
            ...jobInputs({ command: "serve --port 8000", jobName: "sparc-service", partition: "hpg-ai", time: "14-00:00:00", gpus: "a100:4" }, "mas"),
            connection: { host: "hpg.rc.ufl.edu", port: 2222, user: "gatorlink", privateKey: "x".repeat(411), hostKey: "ssh-ed25519 " + "A".repeat(68) },
        };
        const outputs = {
            ...inputs,
            jobId: "12345678",
            state: "RUNNING",
            reason: "",
            nodeList: "c0900a-s23",
            submitTime: "2026-11-30T10:00:00",
            startTime: "2026-11-30T10:00:05",
            endTime: "2026-12-14T10:00:05",
            exitCode: "",
            stdoutPath: "/blue/g/sparc/service-12345678.log",
            stderrPath: "/blue/g/sparc/service-12345678.log",
            clusterName: "hipergator",
        };
        const own = JSON.stringify(inputs).length + JSON.stringify(outputs).length;
        const perJob = (provider: string) => own + 2 * JSON.stringify(provider).length;
        console.log(`serialized provider text: main before issue 9 ${legacy.length}, today's whole provider ${whole.length}, shim ${shim.length} characters`);
        console.log(
            `state per SlurmJob (inputs + outputs, __provider in both): before ${perJob(legacy)} characters (main), ` +
                `${perJob(whole)} (today's provider, were it still serialized), after ${perJob(shim)} (shim); job data alone ${own}`,
        );
    } finally {
        fs.rmSync(outDir, { recursive: true, force: true });
    }
}

main();
