// SlurmJob waits that react to the job's own event file (issue 21, providers/slurm/markers.ts),
// against the real Slurm test cluster over the real sshd (ssh2 transport):
// - a job that writes its event file is seen at once, although its first scheduler query would
//   come only after 600 s (waitPollSeconds): the wait cannot end in this test's bound otherwise;
// - the wait asks the scheduler no more often than without the file;
// - an event that never comes: a job killed before it writes its file (SIGKILL of its shell, as an
//   out-of-memory kill) is noticed at the next scheduler query of the schedule, and a job that keeps
//   running without writing it fails at waitTimeoutSeconds, the bound the inputs state.
import { afterAll, describe, expect, it } from "vitest";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { slurmStats } from "../../providers/slurm/scheduler";
import { closeAllConnections } from "../../providers/remote/remote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { jobInputs, jobsWithTag, onCluster, requireClusterOrSkip } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const available = requireClusterOrSkip();
const DIR = `/blue/sparc-test/hpcuser/sparc-event-${process.pid}`;
const tags: string[] = [];

function inputs(fields: Partial<SlurmJobInputs>, name: string): SlurmJobInputs {
    const i = jobInputs({ output: `${DIR}/${name}_%j.log`, cpusPerTask: 1, mem: "256M", time: "10", ...fields }, name);
    tags.push(i.ownerTag);
    return i;
}

async function create(i: SlurmJobInputs): Promise<SlurmJobOutputs> {
    const checked = await provider.check({} as SlurmJobInputs, i);
    expect(checked.failures).toEqual([]);
    return (await provider.create(checked.inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
}

function schedulerQueries(): number {
    const c = slurmStats().commands;
    return (c.squeue ?? 0) + (c.sacct ?? 0);
}

describe.skipIf(!available)("SlurmJob eventFile on the real cluster", () => {
    afterAll(() => {
        for (const tag of tags) {
            for (const id of jobsWithTag(tag)) {
                onCluster(`scancel ${Number(id)}`);
            }
        }
        onCluster(`rm -rf ${DIR}`);
        closeAllConnections();
    });

    it("a build that writes its done marker is seen at once, not at the first query 600 s later", async () => {
        onCluster(`mkdir -p ${DIR}`);
        const before = schedulerQueries();
        const outs = await create(
            inputs(
                {
                    // Works 2 s, then writes the marker the way the .sif build job does (renamed into place).
                    command: `sleep 2; echo 'done 0' > ${DIR}/build_$SLURM_JOB_ID.event.part; mv ${DIR}/build_$SLURM_JOB_ID.event.part ${DIR}/build_$SLURM_JOB_ID.event`,
                    eventFile: `${DIR}/build_%j.event`,
                    waitFor: "completed",
                    waitPollSeconds: 600,
                    waitTimeoutSeconds: 1800,
                },
                "event-done",
            ),
        );
        expect(outs.state).toBe("COMPLETED");
        // The first read after submitting, then at most QUICK_QUERIES_AFTER_EVENT (5) once the marker is there,
        // each read being a squeue and perhaps a sacct: never a query a second while it waited.
        expect(schedulerQueries() - before).toBeLessThanOrEqual(2 * (1 + 5));
    }, 90_000);

    // The test's own bound (330 s) is far below waitTimeoutSeconds (600 s): only the schedule's queries can end it in time.
    it("a job killed before it writes its event file is noticed at the next scheduler query (waitPollSeconds 5)", async () => {
        const err = await create(
            inputs(
                {
                    // SIGKILL of the batch shell: no trap runs, no marker is written (as an OOM kill or a node failure).
                    command: "sleep 3; kill -9 $$",
                    eventFile: `${DIR}/killed_%j.event`,
                    waitFor: "completed",
                    waitPollSeconds: 5,
                    waitTimeoutSeconds: 600,
                },
                "event-killed",
            ),
        ).then(
            () => new Error("create succeeded"),
            (e: unknown) => e as Error,
        );
        expect(err.message).toMatch(/did not reach COMPLETED: state (FAILED|CANCELLED)/);
    }, 330_000);

    it("a job that runs on without writing its event file fails at waitTimeoutSeconds, the bound the inputs state", async () => {
        const err = await create(
            inputs(
                {
                    command: "sleep 300",
                    eventFile: `${DIR}/never_%j.event`,
                    waitFor: "completed",
                    waitPollSeconds: 5,
                    waitTimeoutSeconds: 20,
                },
                "event-never",
            ),
        ).then(
            () => new Error("create succeeded"),
            (e: unknown) => e as Error,
        );
        expect(err.message).toContain("did not reach COMPLETED within waitTimeoutSeconds (20 s)");
        const id = (err as Error & { id?: string }).id ?? "";
        expect(id).toMatch(/^\d+$/);
        onCluster(`scancel ${Number(id)}`);
    }, 120_000);
});
