// Warnings a remote stack (hpg, pubapps) logs at preview and up: what it would deploy that nobody meant to
// deploy there (the samples, the stand-in player), and GPUs requested for a MAS that uses none. Pure: the
// stacks log them with pulumi.log.warn under their component.
import * as path from "node:path";
import type { ImagesConfig } from "./imagesConfig";
import { projectRoot } from "./projectRoot";

export const sampleContexts = {
    masContext: path.join(projectRoot, "samples", "mas"),
    signalingContext: path.join(projectRoot, "samples", "signaling"),
} as const;

/** One warning per sample the stack would build and deploy, naming the key and the fix. */
export function sampleWarnings(images: ImagesConfig, target: "hpg" | "pubapps", services: readonly string[]): string[] {
    if (images.imageSource !== "build") {
        return [];
    }
    const warnings: string[] = [];
    for (const [key, sample] of Object.entries(sampleContexts) as [keyof typeof sampleContexts, string][]) {
        const service = key === "masContext" ? "mas" : "signaling";
        if (services.includes(service) && path.resolve(images[key]) === sample) {
            warnings.push(
                `${key} is the sample (${path.relative(projectRoot, sample)}): the ${target} stack would deploy the sample ${service === "mas" ? "MAS" : "signaling server"}, ` +
                    `not SPARC's. Fix: pulumi config set --stack ${target} ${key} /path/to/your/${service === "mas" ? "sparc/mas" : "signaling"}`,
            );
        }
    }
    if (services.includes("unity") && images.unityPlayer === "standin") {
        warnings.push(
            `unityBuildDir is "": the ${target} stack would run the stand-in player (a test pattern), not the avatar. ` +
                `Fix: pulumi config set --stack ${target} unityBuildDir /path/to/unity-artifact (the directory holding Build/LinuxServer/SPARC-P.x86_64)`,
        );
    }
    return warnings;
}

/**
 * UF RC's scheduler policy: jobs that request GPUs and do not use them lead to "job termination and account
 * suspension" (rc.ufl.edu, policies/scheduler). The sample MAS uses no GPU.
 */
export function idleGpuWarning(images: ImagesConfig, gpuRequests: Record<string, string>): string | undefined {
    const asked = Object.entries(gpuRequests).filter(([, value]) => value !== "" && value !== "0");
    if (asked.length === 0 || images.imageSource !== "build" || path.resolve(images.masContext) !== sampleContexts.masContext) {
        return undefined;
    }
    const [key, value] = asked[0];
    return (
        `${key} = ${JSON.stringify(value)} asks for GPUs for the sample MAS, which uses none. UF RC's scheduler policy: jobs that request GPUs ` +
        `and do not use them lead to job termination and account suspension. Fix: set masContext to a MAS that uses the GPUs, or run on a CPU ` +
        `partition: pulumi config set hpgPartition hpg-default && pulumi config set hpgGpusPerTask 0 && pulumi config set hpgGpus ""`
    );
}
