import { describe, expect, it } from "vitest";
import { parseSlurmMemory } from "../../../../providers/slurm/memory";

describe("parseSlurmMemory (sbatch --mem, in MiB)", () => {
    it.each([
        { value: "4096", mib: 4096 }, // no unit: Slurm's default is MiB
        { value: "4096M", mib: 4096 },
        { value: "4096m", mib: 4096 },
        { value: "20001M", mib: 20001 },
        { value: "100G", mib: 102400 },
        { value: "256gb", mib: 262144 }, // the HiPerGator reference job
        { value: "256GB", mib: 262144 },
        { value: "1gb", mib: 1024 },
        { value: "1T", mib: 1048576 },
        { value: "1tb", mib: 1048576 },
        { value: "512K", mib: 0.5 },
        { value: "512kb", mib: 0.5 },
        { value: "0", mib: 0 },
    ])("$value -> $mib MiB", ({ value, mib }) => {
        expect(parseSlurmMemory(value)).toBe(mib);
    });

    it.each(["", "abc", "1.5G", "-1G", "10X", "10 G", " 10G", "G", "10GBB", "1B", "10GiB", "0x10"])("%j is invalid", (value) => {
        expect(parseSlurmMemory(value)).toBeUndefined();
    });
});
