// Typed GPU requests (`--gpus=a100:4`, `--gpus-per-task=b200:1`, `--gres=gpu:l4:1`) and which
// partition offers which GPU type. Pure: used at preview (by a calling program, with its site's table
// as data, e.g. sparc-deploy's HiPerGator table) and at up (against sinfo, providers/slurm/scheduler.ts).

/** A GPU request split into its type ("" = any) and count; undefined when it is not one. */
export function parseGpuRequest(value: string, kind: "gpus" | "gres"): { type: string; count: number } | undefined {
    const m = kind === "gres" ? /^gpu(?::([A-Za-z][\w-]*))?(?::(\d+))?$/.exec(value) : /^(?:([A-Za-z][\w-]*):)?(\d+)$/.exec(value);
    if (m === null) {
        return undefined;
    }
    return { type: m[1] ?? "", count: Number(m[2] ?? "1") };
}

/** "gpu-a: a100; gpu-b: b200": which partition offers which GPU types. */
export function describeGpuOffer(offer: Readonly<Record<string, readonly string[]>>): string {
    return Object.entries(offer)
        .filter(([, types]) => types.length > 0)
        .map(([partition, types]) => `${partition}: ${types.join(", ")}`)
        .join("; ");
}

/** Partitions that offer a GPU type. */
export function partitionsWithGpuType(offer: Readonly<Record<string, readonly string[]>>, type: string): string[] {
    return Object.entries(offer)
        .filter(([, types]) => types.includes(type))
        .map(([partition]) => partition);
}

/**
 * What is wrong with asking `partition` for `request` given what each partition offers ("" = fine).
 * Partitions not in `offer` are not judged (the table may be partial; sinfo decides at up).
 */
export function gpuRequestProblem(offer: Readonly<Record<string, readonly string[]>>, partition: string, request: { type: string; count: number }): string {
    const types = offer[partition];
    if (types === undefined) {
        return "";
    }
    if (types.length === 0) {
        const gpuPartitions = Object.keys(offer).filter((p) => (offer[p] ?? []).length > 0);
        return `partition ${partition} has no GPUs; GPU partitions: ${describeGpuOffer(offer) || gpuPartitions.join(", ") || "none"}`;
    }
    if (request.type !== "" && !types.includes(request.type)) {
        const elsewhere = partitionsWithGpuType(offer, request.type);
        return (
            `partition ${partition} offers GPU type${types.length > 1 ? "s" : ""} ${types.join(", ")}, not ${request.type}` +
            `${elsewhere.length > 0 ? `; ${request.type} GPUs are in ${elsewhere.join(", ")}` : ""}. Partitions and their GPU types: ${describeGpuOffer(offer)}`
        );
    }
    return "";
}
