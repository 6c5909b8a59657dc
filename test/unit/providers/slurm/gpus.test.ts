// Typed GPU requests and which partition offers which GPU type (providers/slurm/gpus.ts).
import { describe, expect, it } from "vitest";
import { describeGpuOffer, gpuRequestProblem, parseGpuRequest, partitionsWithGpuType } from "../../../../providers/slurm/gpus";
import { HIPERGATOR_GPU_OFFER } from "../../../../components/hpg/site";

describe("parseGpuRequest", () => {
    it.each<[string, "gpus" | "gres", ReturnType<typeof parseGpuRequest>]>([
        ["4", "gpus", { type: "", count: 4 }],
        ["a100:4", "gpus", { type: "a100", count: 4 }],
        ["rtx_pro_6000:1", "gpus", { type: "rtx_pro_6000", count: 1 }],
        ["gpu:b200:2", "gres", { type: "b200", count: 2 }],
        ["gpu:2", "gres", { type: "", count: 2 }],
        ["gpu", "gres", { type: "", count: 1 }],
        ["a100", "gpus", undefined],
        ["4:a100", "gpus", undefined],
        ["a100:four", "gpus", undefined],
        ["shard:2", "gres", undefined],
    ])("%s (%s)", (value, kind, expected) => {
        expect(parseGpuRequest(value, kind)).toEqual(expected);
    });
});

describe("which partition offers which GPU type", () => {
    const offer = { "hpg-ai": ["a100"], "hpg-b200": ["b200"], "hpg-default": [] };

    it("describes the offer and finds a type's partitions", () => {
        expect(describeGpuOffer(offer)).toBe("hpg-ai: a100; hpg-b200: b200");
        expect(partitionsWithGpuType(offer, "b200")).toEqual(["hpg-b200"]);
        expect(partitionsWithGpuType(offer, "h100")).toEqual([]);
    });

    it.each<[string, { type: string; count: number }, string]>([
        ["hpg-ai", { type: "a100", count: 4 }, ""],
        ["hpg-ai", { type: "", count: 4 }, ""],
        ["unknown-partition", { type: "h100", count: 1 }, ""],
        [
            "hpg-ai",
            { type: "b200", count: 4 },
            "partition hpg-ai offers GPU type a100, not b200; b200 GPUs are in hpg-b200. Partitions and their GPU types: hpg-ai: a100; hpg-b200: b200",
        ],
        ["hpg-ai", { type: "h100", count: 4 }, "partition hpg-ai offers GPU type a100, not h100. Partitions and their GPU types: hpg-ai: a100; hpg-b200: b200"],
        ["hpg-default", { type: "", count: 1 }, "partition hpg-default has no GPUs; GPU partitions: hpg-ai: a100; hpg-b200: b200"],
    ])("%s asked for %j", (partition, request, problem) => {
        expect(gpuRequestProblem(offer, partition, request)).toBe(problem);
    });

    it("knows that B200s are in their own partition on HiPerGator", () => {
        expect(partitionsWithGpuType(HIPERGATOR_GPU_OFFER, "b200")).toEqual(["hpg-b200"]);
        expect(partitionsWithGpuType(HIPERGATOR_GPU_OFFER, "a100")).toEqual(["hpg-ai"]);
    });
});
