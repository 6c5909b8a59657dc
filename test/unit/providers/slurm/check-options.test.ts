// sbatch arguments SlurmJob refuses, as the real sbatch (getopt_long, Slurm 22.05) reads them:
// exact names and aliases, abbreviations, short options inside a bundle, a blank inside one
// extraArgs entry, every word of an #SBATCH line; and sbatch's "id;cluster" reply. What the
// real sbatch does with each case: test/cluster/slurm-parsing.test.ts.
import { describe, expect, it } from "vitest";
import { validateJobInputs } from "../../../../providers/slurm/validate";
import { refusedSbatchArgument, sbatchLineWords } from "../../../../providers/slurm/validateSbatch";
import { parseSacct, parseSbatchParsable, parseSqueue } from "../../../../providers/slurm/parse";
import { pinnedQuery } from "../../../../providers/slurm/scheduler";
import { countCommand, sshPool } from "../../../../providers/remote/connection";
import { SLURM_JOB_DEFAULTS } from "../../../../providers/slurm/defaults";
import type { SlurmJobInputs } from "../../../../providers/slurm/types";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOS+u4OQjKIgpL7/KcQEU28OdGVzdGhvc3RrZXkxMjM0";

function job(fields: Partial<SlurmJobInputs>): SlurmJobInputs {
    return {
        ...SLURM_JOB_DEFAULTS,
        ownerTag: "pulumi:sparc/test/job",
        connection: { host: "hpg.rc.ufl.edu", user: "gatoruser", hostKey: HOST_KEY, agentSocket: "/run/agent.sock" },
        command: "true",
        ...fields,
    } as SlurmJobInputs;
}

/** [argument, the option it is refused as, or undefined when sbatch reads it as a harmless option]. */
const ARGUMENTS: [string, string | undefined][] = [
    ["--array=1-3", "--array"],
    ["--arr=1-3", "--array"],
    ["--a=1-3", "--array"],
    ["-a1-3", "--array"],
    ["-a", "--array"],
    ["-Ha1-3", "--array"], // --hold, then -a with its value
    ["-vsOa1-3", "--array"],
    ["--clusters=c", "--clusters"],
    ["--cluster=c", "--cluster"],
    ["--clu=c", "--clusters"], // ambiguous to sbatch: refused either way
    ["-Mc", "--clusters"],
    ["-HMc", "--clusters"],
    ["--wr=true", "--wrap"],
    ["--test-o", "--test-only"],
    ["--pars", "--parsable"],
    ["--com=x", "--comment"],
    // Let through: not a refused option, also not when bundled behind a letter that takes a value.
    ["--cluster-constraint=x", undefined],
    ["--exclusive", undefined],
    ["--signal=B:TERM@120", undefined],
    ["--account=a", undefined],
    ["-Ja", undefined], // job name "a"
    ["-pMpart", undefined], // partition "Mpart"
    ["-ka", undefined], // --no-kill takes an optional value: "a"
    ["-H", undefined],
    ["--partition=gpu", undefined],
];

describe("refusedSbatchArgument: the option sbatch would read", () => {
    it.each(ARGUMENTS)("%s -> %s", (arg, option) => {
        expect(refusedSbatchArgument(arg)?.option).toBe(option);
    });
});

describe("check: extraArgs entries", () => {
    it.each<[string[], string | undefined, RegExp | undefined]>([
        [["--arr=1-3"], "extraArgs[0]", /abbreviation of --array/],
        [["--exclusive", "--cluster=other"], "extraArgs[1]", /--cluster is not supported/],
        [["--exclusive", "-Mother"], "extraArgs[1]", /--clusters/],
        [["-Ha1-3"], "extraArgs[0]", /"-a" inside "-Ha1-3" is --array/],
        [["--exclusive --array=1-3"], "extraArgs[0]", /one entry is one option/],
        [["--exclusive\t-a1-3"], "extraArgs[0]", /one entry is one option/],
        [["-J my job"], "extraArgs[0]", /one entry is one option/],
        [["--job-name=my job"], undefined, undefined], // a blank in the value: render.ts quotes it
        [["--cluster-constraint=x", "--exclusive"], undefined, undefined],
    ])("%j", (extraArgs, property, reason) => {
        const failures = validateJobInputs(job({ extraArgs }));
        expect(failures.map((f) => f.property)).toEqual(property === undefined ? [] : [property]);
        if (reason !== undefined) {
            expect(failures[0]?.reason).toMatch(reason);
            // The message shows the value and names the entry.
            expect(failures[0]?.reason).toContain(`${property} = ${JSON.stringify(extraArgs[Number(property?.slice(10, -1))])}`);
        }
    });
});

describe("check: #SBATCH lines of a whole script, every word", () => {
    const script = (lines: string) => job({ command: undefined, script: `#!/bin/bash\n${lines}\ntrue\n` });
    it.each<[string, RegExp | undefined]>([
        ["#SBATCH --exclusive --array=1-3", /job arrays/],
        ["#SBATCH -N 1 -a 1-3", /job arrays/],
        ["#SBATCH --job-name=x --clu=c", /--clusters/],
        ["#SBATCH --arr=1-3", /abbreviation of --array/],
        ["#SBATCH\t-M c", /--clusters/],
        ["#SBATCH--array=1-3", /job arrays/],
        ["#SBATCH --exclusive # --array=1-3 is only a comment", undefined],
        ['#SBATCH --job-name="a --array=1" --exclusive', undefined], // quoted: one word, the job's name
        ["#SBATCH --comment=mine --parsable", undefined], // sbatch's command line (the provider's) wins
        ["#SBATCH --cluster-constraint=x", undefined],
    ])("%s", (line, reason) => {
        const failures = validateJobInputs(script(line));
        expect(failures.map((f) => f.property)).toEqual(reason === undefined ? [] : ["script"]);
        if (reason !== undefined) {
            expect(failures[0]?.reason).toMatch(reason);
            expect(failures[0]?.reason).toContain(JSON.stringify(line));
        }
    });

    it.each<[string, string[]]>([
        [" -N 1  -a 1-3", ["-N", "1", "-a", "1-3"]],
        [' --job-name="a b" # -a 1', ["--job-name=a b"]],
        [' --job-name="a\\"b"', ['--job-name=a"b']],
        ["", []],
    ])("words of %j", (rest, words) => {
        expect(sbatchLineWords(rest)).toEqual(words);
    });
});

describe("parseSbatchParsable keeps the cluster", () => {
    it.each([
        ["1234\n", { jobId: "1234", cluster: "" }],
        ["1234;testcluster\n", { jobId: "1234", cluster: "testcluster" }],
    ])("%j", (stdout, reply) => {
        expect(parseSbatchParsable(stdout)).toEqual(reply);
    });
});

describe("the user's whole queue: only a line of this resource may fail the parse", () => {
    const TAG = "pulumi:sparc/hpg/mas";
    const ours = `41|RUNNING|None|c0001|2026-12-04T02:00:00|2026-12-04T02:00:01|2026-12-05T02:00:01|${TAG} script=abc attempt=x1`;
    // Another job's --comment with a newline (sbatch accepts it) prints a second, unreadable line.
    const others = "40|PENDING|JobHeldUser||2026-12-04T01:00:00|N/A|N/A|first\nsecond|x";
    const mentionsTag = (line: string) => line.includes(TAG);

    it("squeue: another job's broken line is skipped, ours is read", () => {
        expect(parseSqueue(`${others}\n${ours}\n`, mentionsTag).map((j) => j.jobId)).toEqual(["40", "41"]);
    });

    it("squeue: a broken line of ours still fails, and any broken line fails without the filter", () => {
        expect(() => parseSqueue(`${others}\n41|RUNNING ${TAG}\n`, mentionsTag)).toThrow(/Unexpected squeue output line/);
        expect(() => parseSqueue(`${others}\n${ours}\n`)).toThrow(/"second\|x"/);
    });

    it("sacct: the same", () => {
        const sacctOurs = `41|COMPLETED|None|c0001|a|b|c|0:0|${TAG} script=abc attempt=x1`;
        expect(parseSacct(`40|PENDING|None|||||0:0|first\nsecond\n${sacctOurs}\n`, mentionsTag).map((j) => j.jobId)).toEqual(["40", "41"]);
        expect(() => parseSacct(`${TAG}|broken\n`, mentionsTag)).toThrow(/Unexpected sacct output line/);
    });
});

describe("scheduler queries pin the time format", () => {
    it("prefixes env SLURM_TIME_FORMAT=standard, and the benchmarks still count the Slurm command", () => {
        const argv = pinnedQuery(["squeue", "-h"]);
        expect(argv).toEqual(["env", "SLURM_TIME_FORMAT=standard", "squeue", "-h"]);
        const before = sshPool().stats.commands.squeue ?? 0;
        countCommand(argv);
        expect(sshPool().stats.commands.squeue).toBe(before + 1);
    });
});
