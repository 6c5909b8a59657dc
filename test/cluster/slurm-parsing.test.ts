// What SlurmJob's check lets through and how it reads Slurm's answers, against the real sbatch,
// squeue and sacct of the test cluster: every extraArgs case of the table submitted as the
// provider renders it (held, then cancelled) to see what sbatch made of it; and a login shell
// that exports SLURM_TIME_FORMAT and SBATCH_CLUSTERS, with another job of the user whose comment
// holds a newline (user hpcenv, test/cluster/exporting-user.sh: its jobs are this file's own).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { validateJobInputs } from "../../providers/slurm/validate";
import { renderBatchScript } from "../../providers/slurm/render";
import { closeAllConnections } from "../../providers/remote/remote";
import { shQuote } from "../../providers/remote/quote";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { jobInputs, jobsWithTag, onCluster, requireClusterOrSkip, testConnection } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const available = requireClusterOrSkip();
const ENV_USER = "hpcenv";
const CLUSTER = "testcluster";

/** Submits a script as the given user, held; what sbatch made of it. The job is cancelled at once. */
function submitHeld(script: string, user = "hpcuser"): { code: number; reply: string; arrayJob: boolean; stderr: string } {
    const r = onCluster(`printf '%s' ${shQuote(script)} | sbatch --hold --parsable`, user);
    const reply = r.stdout.trim().split("\n").pop() ?? "";
    const id = /^(\d+)/.exec(reply)?.[1];
    let arrayJob = false;
    if (r.code === 0 && id !== undefined) {
        arrayJob = /\bArrayJobId=/.test(onCluster(`scontrol show job -o ${id}`, user).stdout);
        onCluster(`scancel ${id}`, user);
    }
    return { code: r.code, reply, arrayJob, stderr: r.stderr };
}

describe.skipIf(!available)("check against the real sbatch (issue 18 item 12)", () => {
    // Each entry as one extraArgs item; "plain" = sbatch makes one plain job of this cluster ("123").
    const CASES: [string, "plain" | "refused"][] = [
        ["--exclusive", "plain"],
        ["--job-name=two words", "plain"],
        ["--cluster-constraint=", "plain"],
        ["-pdebug", "plain"],
        ["-Ja", "plain"],
        ["-JMx", "plain"],
        ["--arr=1-2", "refused"],
        ["--array=1-2", "refused"],
        ["-Ha1-2", "refused"],
        ["-a1-2", "refused"],
        ["--cluster=" + CLUSTER, "refused"],
        ["--clusters=" + CLUSTER, "refused"],
        ["-M" + CLUSTER, "refused"],
        ["-sM" + CLUSTER, "refused"],
        ["--exclusive --array=1-2", "refused"],
        ["--exclusive -M" + CLUSTER + " --x=y", "refused"],
    ];

    it.each(CASES)("%s: check says %s, and sbatch agrees", (arg, verdict) => {
        const inputs = jobInputs({ command: "true", output: "/dev/null", extraArgs: [arg] }, "argv");
        const failures = validateJobInputs(inputs);
        expect(failures.length > 0 ? "refused" : "plain").toBe(verdict);
        const sbatch = submitHeld(renderBatchScript(inputs));
        const plain = sbatch.code === 0 && /^\d+$/.test(sbatch.reply) && !sbatch.arrayJob;
        if (verdict === "plain") {
            // What check lets through, sbatch takes as one plain job of this cluster.
            expect(plain, `${sbatch.reply} ${sbatch.stderr}`).toBe(true);
        } else {
            // What check refuses, sbatch would have made an array or another cluster's job (or refused).
            expect(plain, `${sbatch.reply} ${sbatch.stderr}`).toBe(false);
        }
    });

    it.each([
        ["#SBATCH --output=/dev/null --arr=1-2", /abbreviation of --array/],
        ["#SBATCH--array=1-2", /job arrays/],
    ])("a whole script with the line %s: refused by check, an array job to sbatch", (line, reason) => {
        const script = `#!/bin/bash\n${line}\ntrue\n`;
        const failures = validateJobInputs(jobInputs({ command: undefined, script, output: undefined }, "script"));
        expect(failures.map((f) => f.property)).toEqual(["script"]);
        expect(failures[0]?.reason).toMatch(reason);
        expect(submitHeld(script).arrayJob).toBe(true);
    });
});

describe.skipIf(!available)("a login shell that exports SLURM_TIME_FORMAT and SBATCH_CLUSTERS (issue 18 items 12, 13)", () => {
    const tags: string[] = [];
    const others: string[] = [];
    const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

    beforeAll(() => {
        execFileSync("bash", [`${__dirname}/exporting-user.sh`, ENV_USER, CLUSTER], { stdio: "pipe" });
    });

    afterAll(() => {
        const ids = [...others, ...tags.flatMap((t) => jobsWithTag(t, ENV_USER))];
        if (ids.length > 0) {
            onCluster(`scancel ${ids.map(Number).join(" ")}`, ENV_USER);
        }
        closeAllConnections();
    });

    async function createAndDelete(fields: Partial<SlurmJobInputs>, name: string): Promise<SlurmJobOutputs> {
        const inputs = jobInputs({ output: "/dev/null", cancelSignal: "", connection: testConnection({ user: ENV_USER }), ...fields }, name);
        tags.push(inputs.ownerTag);
        const checked = await provider.check({} as SlurmJobInputs, inputs);
        expect(checked.failures).toEqual([]);
        const outs = (await provider.create(checked.inputs as SlurmJobInputs)).outs as SlurmJobOutputs;
        expect(jobsWithTag(inputs.ownerTag, ENV_USER)).toEqual([outs.jobId]);
        const read = (await provider.read(outs.jobId, outs)).props as SlurmJobOutputs;
        await provider.delete(outs.jobId, outs);
        expect(onCluster(`env SLURM_TIME_FORMAT=standard squeue -h -t all -j ${Number(outs.jobId)} -o %T`, ENV_USER).stdout.trim()).toBe("CANCELLED");
        return read;
    }

    it("SLURM_TIME_FORMAT=relative: the job's times are still read in the standard format, and the ';cluster' reply of this cluster is tracked", async () => {
        // The shell really does change what squeue prints.
        const raw = onCluster(
            `squeue -h -u ${ENV_USER} -t all -o '%V'; printf '#!/bin/bash\\ntrue\\n' | sbatch --test-only 2>&1 | head -1; echo "$SBATCH_CLUSTERS"`,
            ENV_USER,
        );
        expect(raw.stdout).toContain(CLUSTER);
        const read = await createAndDelete({ command: "sleep 300", waitFor: "running", waitTimeoutSeconds: 120 }, "time");
        expect(read.state).toBe("RUNNING");
        expect({ submit: read.submitTime, start: read.startTime, end: read.endTime }).toEqual({
            submit: expect.stringMatching(ISO),
            start: expect.stringMatching(ISO),
            end: expect.stringMatching(ISO),
        });
        const relative = onCluster(`squeue -h -t all -j ${Number(read.jobId)} -o '%V'`, ENV_USER).stdout.trim();
        expect(relative).not.toMatch(ISO);
    });

    it("another job of the user whose comment holds a newline (two squeue lines) does not fail this create", async () => {
        const r = onCluster(`printf '#!/bin/bash\\ntrue\\n' | sbatch --hold --parsable -o /dev/null -J odd --comment="$(printf 'first\\nsecond|x')"`, ENV_USER);
        const odd = /^(\d+)/.exec(r.stdout.trim())?.[1] ?? "";
        expect(odd, r.stderr).not.toBe("");
        others.push(odd);
        expect(onCluster(`squeue -h -u ${ENV_USER} -o '%i|%k'`, ENV_USER).stdout).toMatch(new RegExp(`^${odd}\\|first\\nsecond\\|x$`, "m"));
        const read = await createAndDelete({ command: "true", extraArgs: ["--begin=now+1hour"] }, "odd");
        expect(read.state).toBe("PENDING");
    });
});
