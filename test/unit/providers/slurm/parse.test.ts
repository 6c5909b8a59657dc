import { describe, expect, it } from "vitest";
import {
    SACCT_FIELDS,
    SINFO_FORMAT,
    SQUEUE_FORMAT,
    TERMINAL_STATES,
    gpuTypesOf,
    isTerminalState,
    normalizeState,
    parseSacct,
    parseSbatchParsable,
    parseSinfo,
    parseSqueue,
} from "../../../../providers/slurm/parse";
import type { JobStatus } from "../../../../providers/slurm/types";

// Lines printed by Slurm 22.05.8 on the test cluster (test/cluster/setup.sh) for
// `squeue -h -t all -o SQUEUE_FORMAT` and `sacct -n -P -X -o SACCT_FIELDS`.

type Expected = Omit<JobStatus, "source" | "exitCode"> & { exitCode?: string };

function squeueStatus(e: Expected): JobStatus {
    return { ...e, exitCode: "", source: "squeue" };
}

function sacctStatus(e: Expected): JobStatus {
    return { exitCode: "", ...e, source: "sacct" };
}

describe("format strings (part of the API)", () => {
    it("match what the parsers expect", () => {
        expect(SQUEUE_FORMAT).toBe("%i|%T|%r|%N|%V|%S|%e|%k");
        expect(SACCT_FIELDS).toBe("JobID,State,Reason,NodeList,Submit,Start,End,ExitCode,Comment");
        expect(SINFO_FORMAT).toBe("%P|%a|%l|%G|%D|%T");
    });
});

describe("parseSqueue", () => {
    it.each([
        {
            name: "pending",
            line: "1|PENDING|None||2026-11-28T23:17:42|N/A|N/A|(null)",
            status: { jobId: "1", state: "PENDING", reason: "", nodeList: "", submitTime: "2026-11-28T23:17:42", startTime: "", endTime: "", comment: "" },
        },
        {
            name: "running, comment containing |",
            line: "4|RUNNING|None|localhost|2026-11-28T23:33:39|2026-11-28T23:33:39|2026-11-29T00:33:39|pulumi:a/b|c x",
            status: {
                jobId: "4",
                state: "RUNNING",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:33:39",
                startTime: "2026-11-28T23:33:39",
                endTime: "2026-11-29T00:33:39",
                comment: "pulumi:a/b|c x",
            },
        },
        {
            name: "held with --begin",
            line: "5|PENDING|BeginTime||2026-11-28T23:33:43|2026-11-29T00:33:43|2026-11-29T01:33:43|(null)",
            status: {
                jobId: "5",
                state: "PENDING",
                reason: "BeginTime",
                nodeList: "",
                submitTime: "2026-11-28T23:33:43",
                startTime: "2026-11-29T00:33:43",
                endTime: "2026-11-29T01:33:43",
                comment: "",
            },
        },
        {
            name: "completed",
            line: "4|COMPLETED|None|localhost|2026-11-28T23:33:39|2026-11-28T23:33:39|2026-11-28T23:33:42|pulumi:a/b|c x",
            status: {
                jobId: "4",
                state: "COMPLETED",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:33:39",
                startTime: "2026-11-28T23:33:39",
                endTime: "2026-11-28T23:33:42",
                comment: "pulumi:a/b|c x",
            },
        },
        {
            name: "failed with exit 3",
            line: "9|FAILED|NonZeroExitCode|localhost|2026-11-28T23:36:06|2026-11-28T23:36:07|2026-11-28T23:36:07|(null)",
            status: {
                jobId: "9",
                state: "FAILED",
                reason: "NonZeroExitCode",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:36:06",
                startTime: "2026-11-28T23:36:07",
                endTime: "2026-11-28T23:36:07",
                comment: "",
            },
        },
        {
            name: "cancelled while running",
            line: "8|CANCELLED|None|localhost|2026-11-28T23:36:04|2026-11-28T23:36:04|2026-11-28T23:36:05|(null)",
            status: {
                jobId: "8",
                state: "CANCELLED",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:36:04",
                startTime: "2026-11-28T23:36:04",
                endTime: "2026-11-28T23:36:05",
                comment: "",
            },
        },
        {
            name: "rejected for memory (BadConstraints), id still used",
            line: "7|FAILED|BadConstraints||2026-11-28T23:36:02|2026-11-28T23:36:02|2026-11-28T23:36:02|(null)",
            status: {
                jobId: "7",
                state: "FAILED",
                reason: "BadConstraints",
                nodeList: "",
                submitTime: "2026-11-28T23:36:02",
                startTime: "2026-11-28T23:36:02",
                endTime: "2026-11-28T23:36:02",
                comment: "",
            },
        },
        {
            name: "comment with several |",
            line: "3|RUNNING|None|localhost|2026-11-28T23:33:06|2026-11-28T23:33:06|Unknown|a||b|",
            status: {
                jobId: "3",
                state: "RUNNING",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:33:06",
                startTime: "2026-11-28T23:33:06",
                endTime: "",
                comment: "a||b|",
            },
        },
    ])("$name", ({ line, status }) => {
        expect(parseSqueue(line + "\n")).toEqual([squeueStatus(status)]);
    });

    it("reads several lines and ignores blank ones", () => {
        const stdout = [
            "",
            "1|PENDING|None||2026-11-28T23:17:42|N/A|N/A|(null)",
            "   ",
            "7|FAILED|BadConstraints||2026-11-28T23:36:02|2026-11-28T23:36:02|2026-11-28T23:36:02|(null)\r",
            "",
        ].join("\n");
        expect(parseSqueue(stdout).map((s) => [s.jobId, s.state, s.comment])).toEqual([
            ["1", "PENDING", ""],
            ["7", "FAILED", ""],
        ]);
    });

    it("returns [] for empty output (squeue -j of a finished job prints nothing)", () => {
        expect(parseSqueue("")).toEqual([]);
        expect(parseSqueue("\n")).toEqual([]);
    });

    it.each([
        "1|PENDING|None|0:00|5:00", // too few fields
        "RUNNING",
        "slurm_load_jobs error: Invalid job id specified",
        "|RUNNING|None|localhost|a|b|c|d",
        "4||None|localhost|a|b|c|d",
    ])("throws on the malformed line %j, quoting it", (line) => {
        expect(() => parseSqueue(`1|PENDING|None||2026-11-28T23:17:42|N/A|N/A|(null)\n${line}\n`)).toThrow(JSON.stringify(line));
    });
});

describe("parseSacct", () => {
    it.each([
        {
            name: "completed, comment containing |",
            line: "4|COMPLETED|None|localhost|2026-11-28T23:33:39|2026-11-28T23:33:39|2026-11-28T23:33:42|0:0|pulumi:a/b|c x",
            status: {
                jobId: "4",
                state: "COMPLETED",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:33:39",
                startTime: "2026-11-28T23:33:39",
                endTime: "2026-11-28T23:33:42",
                exitCode: "0:0",
                comment: "pulumi:a/b|c x",
            },
        },
        {
            name: "failed with exit 3",
            line: "9|FAILED|None|localhost|2026-11-28T23:36:06|2026-11-28T23:36:07|2026-11-28T23:36:07|3:0|",
            status: {
                jobId: "9",
                state: "FAILED",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:36:06",
                startTime: "2026-11-28T23:36:07",
                endTime: "2026-11-28T23:36:07",
                exitCode: "3:0",
                comment: "",
            },
        },
        {
            name: "cancelled by uid 1001 while running",
            line: "8|CANCELLED by 1001|None|localhost|2026-11-28T23:36:04|2026-11-28T23:36:04|2026-11-28T23:36:05|0:0|",
            status: {
                jobId: "8",
                state: "CANCELLED",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:36:04",
                startTime: "2026-11-28T23:36:04",
                endTime: "2026-11-28T23:36:05",
                exitCode: "0:0",
                comment: "",
            },
        },
        {
            name: "cancelled while pending, never started",
            line: "6|CANCELLED by 1001|None|None assigned|2026-11-28T23:34:19|None|2026-11-28T23:34:19|0:0|tagA",
            status: {
                jobId: "6",
                state: "CANCELLED",
                reason: "",
                nodeList: "",
                submitTime: "2026-11-28T23:34:19",
                startTime: "",
                endTime: "2026-11-28T23:34:19",
                exitCode: "0:0",
                comment: "tagA",
            },
        },
        {
            name: "rejected for memory (BadConstraints)",
            line: "7|FAILED|None|None assigned|2026-11-28T23:36:02|2026-11-28T23:36:02|2026-11-28T23:36:02|1:0|",
            status: {
                jobId: "7",
                state: "FAILED",
                reason: "",
                nodeList: "",
                submitTime: "2026-11-28T23:36:02",
                startTime: "2026-11-28T23:36:02",
                endTime: "2026-11-28T23:36:02",
                exitCode: "1:0",
                comment: "",
            },
        },
        {
            name: "running (End Unknown)",
            line: "1|RUNNING|None|localhost|2026-11-28T23:17:42|2026-11-28T23:17:43|Unknown|0:0|pulumi:x",
            status: {
                jobId: "1",
                state: "RUNNING",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:17:42",
                startTime: "2026-11-28T23:17:43",
                endTime: "",
                exitCode: "0:0",
                comment: "pulumi:x",
            },
        },
        {
            name: "timeout",
            line: "19|TIMEOUT|None|localhost|2026-11-28T23:12:58|2026-11-28T23:12:59|2026-11-28T23:14:14|0:0|",
            status: {
                jobId: "19",
                state: "TIMEOUT",
                reason: "",
                nodeList: "localhost",
                submitTime: "2026-11-28T23:12:58",
                startTime: "2026-11-28T23:12:59",
                endTime: "2026-11-28T23:14:14",
                exitCode: "0:0",
                comment: "",
            },
        },
    ])("$name", ({ line, status }) => {
        expect(parseSacct(line + "\n")).toEqual([sacctStatus(status)]);
    });

    it("skips step lines such as 9.batch (a defence: -X already drops them)", () => {
        const stdout = [
            "9|FAILED|None|localhost|2026-11-28T23:36:06|2026-11-28T23:36:07|2026-11-28T23:36:07|3:0|",
            "9.batch|FAILED||localhost|2026-11-28T23:36:07|2026-11-28T23:36:07|2026-11-28T23:36:07|3:0|",
            "9.extern|COMPLETED||localhost|2026-11-28T23:36:07|2026-11-28T23:36:07|2026-11-28T23:36:07|0:0|",
            "",
        ].join("\n");
        expect(parseSacct(stdout).map((s) => [s.jobId, s.state, s.exitCode])).toEqual([["9", "FAILED", "3:0"]]);
    });

    it("returns [] for empty output (sacct of an unknown id prints nothing)", () => {
        expect(parseSacct("")).toEqual([]);
    });

    it.each([
        "Slurm accounting storage is disabled",
        "1|COMPLETED|0:0|2026-11-28T23:17:43|2026-11-28T23:17:48|localhost", // the probe's shorter field list
        "|COMPLETED|None|localhost|a|b|c|0:0|",
    ])("throws on the malformed line %j, quoting it", (line) => {
        expect(() => parseSacct(line)).toThrow(JSON.stringify(line));
    });
});

describe("parseSbatchParsable", () => {
    it.each([
        { stdout: "1234", id: "1234", cluster: "" },
        { stdout: "1\n", id: "1", cluster: "" },
        { stdout: "1234;cluster\n", id: "1234", cluster: "cluster" },
        { stdout: "  13\r\n", id: "13", cluster: "" },
    ])("$stdout -> $id", ({ stdout, id, cluster }) => {
        expect(parseSbatchParsable(stdout)).toEqual({ jobId: id, cluster });
    });

    it.each(["", "\n", "Submitted batch job 4", "0", "-1", "12a", "1234;", "1;a;b", "1\n2", "1.5", "007"])("throws on %j, quoting it", (stdout) => {
        expect(() => parseSbatchParsable(stdout)).toThrow(JSON.stringify(stdout));
    });
});

describe("parseSinfo", () => {
    it("reads the test cluster's partitions", () => {
        // sinfo -h -o SINFO_FORMAT on the test cluster
        const stdout = "debug*|up|1-00:00:00|gpu:fake:2|1|idle\ngpu|up|14-00:00:00|gpu:fake:2|1|idle\n";
        expect(parseSinfo(stdout)).toEqual([
            { name: "debug", isDefault: true, available: true, maxTimeSeconds: 86400, gres: ["gpu:fake:2"], nodes: 1, states: ["idle"] },
            { name: "gpu", isDefault: false, available: true, maxTimeSeconds: 1209600, gres: ["gpu:fake:2"], nodes: 1, states: ["idle"] },
        ]);
    });

    it("merges one partition's rows per node state", () => {
        const stdout = [
            "hpg-ai|up|14-00:00:00|gpu:a100:8(S:0-1)|10|mixed",
            "hpg-ai|up|14-00:00:00|gpu:a100:8(S:0-1)|3|allocated",
            "hpg-ai|up|14-00:00:00|gpu:a100:8(S:0,1),gpu:b200:8(S:0-1)|2|idle",
            "hpg-ai|up|14-00:00:00|(null)|1|drained*",
            "hpg-default*|up|UNLIMITED|(null)|5|idle",
            "old|down|INVALID|gpu:2|0|down",
        ].join("\n");
        expect(parseSinfo(stdout)).toEqual([
            {
                name: "hpg-ai",
                isDefault: false,
                available: true,
                maxTimeSeconds: 1209600,
                gres: ["gpu:a100:8", "gpu:b200:8"],
                nodes: 16,
                states: ["mixed", "allocated", "idle", "drained*"],
            },
            { name: "hpg-default", isDefault: true, available: true, maxTimeSeconds: Infinity, gres: [], nodes: 5, states: ["idle"] },
            { name: "old", isDefault: false, available: false, maxTimeSeconds: undefined, gres: ["gpu:2"], nodes: 0, states: ["down"] },
        ]);
    });

    it.each([
        "debug*|up|1-00:00:00|1|idle|localhost|gpu:fake:2", // the probe's other field order: 7 fields
        "debug*|up|1-00:00:00|gpu:fake:2|x|idle",
        "|up|1-00:00:00|gpu:fake:2|1|idle",
        "sinfo: error: slurm_load_partitions: Unable to contact slurm controller",
    ])("throws on the malformed line %j, quoting it", (line) => {
        expect(() => parseSinfo(line)).toThrow(JSON.stringify(line));
    });
});

describe("gpuTypesOf", () => {
    const partitions = parseSinfo(
        [
            "debug*|up|1-00:00:00|gpu:fake:2|1|idle",
            "hpg-ai|up|14-00:00:00|gpu:a100:8(S:0-1),gpu:b200:8(S:0-1)|2|idle",
            "hpg-ai|up|14-00:00:00|gpu:a100:8(S:0-1)|2|mixed",
            "plain|up|1:00:00|gpu:2|1|idle",
            "cpu|up|1:00:00|(null)|1|idle",
        ].join("\n"),
    );
    it.each([
        { partition: "debug", types: ["fake"] },
        { partition: "hpg-ai", types: ["a100", "b200"] },
        { partition: "plain", types: [] },
        { partition: "cpu", types: [] },
        { partition: "nosuchpart", types: [] },
    ])("$partition -> $types", ({ partition, types }) => {
        expect(gpuTypesOf(partitions, partition)).toEqual(types);
    });
});

describe("job states", () => {
    it.each([
        { raw: "CANCELLED by 1001", state: "CANCELLED" },
        { raw: "CANCELLED+", state: "CANCELLED" },
        { raw: "  RUNNING \n", state: "RUNNING" },
        { raw: "PENDING", state: "PENDING" },
        { raw: "", state: "" },
    ])("normalizeState($raw) = $state", ({ raw, state }) => {
        expect(normalizeState(raw)).toBe(state);
    });

    it.each([
        ...TERMINAL_STATES.map((state) => ({ state, terminal: true })),
        { state: "CANCELLED by 1001", terminal: true },
        { state: "PENDING", terminal: false },
        { state: "RUNNING", terminal: false },
        { state: "CONFIGURING", terminal: false },
        { state: "COMPLETING", terminal: false },
        { state: "SUSPENDED", terminal: false },
        { state: "REQUEUED", terminal: false },
        { state: "", terminal: false },
    ])("isTerminalState($state) = $terminal", ({ state, terminal }) => {
        expect(isTerminalState(state)).toBe(terminal);
    });

    it("lists exactly Slurm's terminal states", () => {
        expect([...TERMINAL_STATES].sort()).toEqual(
            [
                "BOOT_FAIL",
                "CANCELLED",
                "COMPLETED",
                "DEADLINE",
                "FAILED",
                "NODE_FAIL",
                "OUT_OF_MEMORY",
                "PREEMPTED",
                "TIMEOUT",
                "REVOKED",
                "SPECIAL_EXIT",
            ].sort(),
        );
    });
});
