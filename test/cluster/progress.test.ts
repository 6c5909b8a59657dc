// The build log's tail as progress lines, against the real test cluster: a job waited for to
// complete (as the .sif build is) with logTailLines shows its log's new last lines at each poll
// while it runs, each line once. The job holds until the test has seen its lines (a marker file),
// so nothing depends on timing. Without an engine the lines go to stdout with the job's label.
import { afterAll, describe, expect, it, vi } from "vitest";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { jobInputs, onCluster, requireClusterOrSkip, waitUntil } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const available = requireClusterOrSkip();

describe.skipIf(!available)("SlurmJob progress: the build log's tail (real cluster)", () => {
    const marker = `sparc-progress-go-${process.pid}`;
    const log = `sparc-progress-${process.pid}.log`;
    let jobId = "";

    afterAll(() => {
        if (jobId !== "") {
            onCluster(`scancel ${Number(jobId)}`);
        }
        onCluster(`rm -f ${marker} ${log}`);
        closeAllConnections();
    });

    it("shows each new log line once while the job runs, read with tail -n", async () => {
        const printed: string[] = [];
        vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
        const inputs = jobInputs(
            {
                jobName: "sparc-progress-tail",
                command: `echo build-step-1; echo build-step-2; echo build-step-3; for _ in $(seq 120); do [ -e ${marker} ] && break; sleep 1; done; echo build-done`,
                output: log,
                time: "5",
                waitFor: "completed",
                waitTimeoutSeconds: 150,
                logTailLines: 3,
            },
            "tail",
        );
        const checked = await provider.check({} as SlurmJobInputs, inputs);
        expect(checked.failures).toEqual([]);
        const tailsBefore = slurmStats().commands.tail ?? 0;
        const created = provider.create(checked.inputs as SlurmJobInputs);
        const seen = await waitUntil("the log's third line among the progress lines", 120, () =>
            printed.some((l) => l.includes("  build-step-3")) ? true : undefined,
        );
        expect(seen).toBe(true);
        jobId = /job (\d+) log/.exec(printed.find((l) => / log \(/.test(l)) ?? "")?.[1] ?? "";
        onCluster(`touch ${marker}`);
        const outs = (await created).outs as SlurmJobOutputs;
        vi.restoreAllMocks();
        expect(outs.state).toBe("COMPLETED");
        const label = `[SlurmJob ${inputs.ownerTag}]`;
        const tailLines = printed
            .filter((l) => l.startsWith(`${label} job ${outs.jobId} log (`))
            .flatMap((l) => l.split("\n").slice(1))
            .map((l) => l.trim());
        // Each line once, in order, however many polls saw the job running.
        expect(tailLines.slice(0, 3)).toEqual(["build-step-1", "build-step-2", "build-step-3"]);
        expect(new Set(tailLines).size).toBe(tailLines.length);
        expect((slurmStats().commands.tail ?? 0) - tailsBefore).toBeGreaterThanOrEqual(1);
    }, 240_000);
});
