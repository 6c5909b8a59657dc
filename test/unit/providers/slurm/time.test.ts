import { describe, expect, it } from "vitest";
import { formatSlurmTime, parseSlurmDuration, parseSlurmTime } from "../../../../providers/slurm/time";

describe("parseSlurmTime (sbatch --time input forms)", () => {
    it.each([
        { value: "90", seconds: 5400 }, // minutes
        { value: "0", seconds: Infinity }, // Slurm: no limit
        { value: "1:30", seconds: 90 }, // minutes:seconds
        { value: "2:00:00", seconds: 7200 }, // hours:minutes:seconds
        { value: "00:01:00", seconds: 60 },
        { value: "14-00:00:00", seconds: 1209600 }, // days-hours:minutes:seconds
        { value: "1-12", seconds: 129600 }, // days-hours
        { value: "1-12:30", seconds: 131400 }, // days-hours:minutes
        { value: "1-00:00:01", seconds: 86401 },
        { value: "UNLIMITED", seconds: Infinity },
        { value: "unlimited", seconds: Infinity },
        { value: "Infinite", seconds: Infinity },
    ])("$value -> $seconds s", ({ value, seconds }) => {
        expect(parseSlurmTime(value)).toBe(seconds);
    });

    it.each(["abc", "", "1:2:3:4", "-5", "1--2", "1.5", " 90", "90 ", "1-", "-1:00", "1-2:3:4:5", "1:", ":30", "INVALID", "1h"])("%j is invalid", (value) => {
        expect(parseSlurmTime(value)).toBeUndefined();
    });
});

describe("parseSlurmDuration (squeue/sinfo %l output forms)", () => {
    it.each([
        { output: "5:00", seconds: 300 }, // M:SS, as squeue printed a 5-minute limit
        { output: "0:01", seconds: 1 },
        { output: "1:00:00", seconds: 3600 },
        { output: "1-00:00:00", seconds: 86400 }, // debug partition MaxTime
        { output: "14-00:00:00", seconds: 1209600 }, // gpu partition MaxTime
        { output: "UNLIMITED", seconds: Infinity },
        { output: "1:00:00\n", seconds: 3600 },
    ])("$output -> $seconds s", ({ output, seconds }) => {
        expect(parseSlurmDuration(output)).toBe(seconds);
    });

    it.each(["INVALID", "", "5", "1-5:00", "abc", "1:2:3:4"])("%j is undefined", (output) => {
        expect(parseSlurmDuration(output)).toBeUndefined();
    });

    it("compares a requested time with a partition's MaxTime the way sbatch does", () => {
        const debugMax = parseSlurmDuration("1-00:00:00") ?? 0;
        const gpuMax = parseSlurmDuration("14-00:00:00") ?? 0;
        // Measured: -p debug --time=14-00:00:00 rejected; -p gpu 14-00:00:00 accepted, 14-00:00:01 rejected.
        expect((parseSlurmTime("14-00:00:00") ?? 0) > debugMax).toBe(true);
        expect((parseSlurmTime("14-00:00:00") ?? 0) > gpuMax).toBe(false);
        expect((parseSlurmTime("14-00:00:01") ?? 0) > gpuMax).toBe(true);
    });
});

describe("formatSlurmTime", () => {
    it.each([
        { seconds: 0, text: "00:00:00" },
        { seconds: 59, text: "00:00:59" },
        { seconds: 90, text: "00:01:30" },
        { seconds: 7200, text: "02:00:00" },
        { seconds: 86399, text: "23:59:59" },
        { seconds: 86400, text: "1-00:00:00" },
        { seconds: 131400, text: "1-12:30:00" },
        { seconds: 1209600, text: "14-00:00:00" },
        { seconds: 1.2, text: "00:00:02" }, // rounded up: never shorter than asked
        { seconds: Infinity, text: "UNLIMITED" },
    ])("$seconds s -> $text", ({ seconds, text }) => {
        expect(formatSlurmTime(seconds)).toBe(text);
    });

    it.each(["90", "1:30", "2:00:00", "1-12", "1-12:30", "14-00:00:00", "UNLIMITED"])("round-trips %s through sbatch syntax", (value) => {
        const seconds = parseSlurmTime(value);
        expect(seconds).toBeDefined();
        expect(parseSlurmTime(formatSlurmTime(seconds ?? -1))).toBe(seconds);
    });

    it.each([-1, NaN, -Infinity])("rejects %s", (seconds) => {
        expect(() => formatSlurmTime(seconds)).toThrow(RangeError);
    });
});
