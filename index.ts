// sparc-deploy: the SPARC avatar platform on a local Podman pod (target "podman",
// the dev stack) or on HiPerGator as Apptainer images and a SLURM service job
// (target "hpg"). Config in, components out, outputs exported.
import * as pulumi from "@pulumi/pulumi";
import { DevStack, loadDevConfig } from "./components/dev";
import { HpgStack, loadHpgConfig } from "./components/hpg";

const config = new pulumi.Config();
const target = config.get("target", { allowedValues: ["podman", "hpg"] }) ?? "podman";
const images = loadDevConfig(config);

function deployDev() {
    const dev = new DevStack("sparc", images);
    return {
        masUrl: dev.masUrl,
        signalingUrl: dev.signalingUrl,
        podName: dev.podName,
        containerIds: dev.containerIds,
        imageIds: dev.imageIds,
        skipped: dev.skipped,
        readiness: dev.readiness,
    };
}

function deployHpg() {
    const hpg = new HpgStack("sparc", { hpg: loadHpgConfig(config), images });
    return {
        masEndpoint: hpg.masEndpoint,
        tunnelCommand: hpg.tunnelCommand,
        endpointFile: hpg.endpointFile,
        jobId: hpg.jobId,
        jobState: hpg.jobState,
        logPath: hpg.logPath,
        sifPaths: hpg.sifPaths,
        readiness: hpg.readiness,
        copyReports: hpg.copyReports,
    };
}

const outputs: Record<string, pulumi.Output<unknown>> = target === "hpg" ? deployHpg() : deployDev();

export const masUrl = outputs.masUrl;
export const signalingUrl = outputs.signalingUrl;
export const podName = outputs.podName;
export const containerIds = outputs.containerIds;
export const imageIds = outputs.imageIds;
export const skipped = outputs.skipped;
export const readiness = outputs.readiness;
export const masEndpoint = outputs.masEndpoint;
export const tunnelCommand = outputs.tunnelCommand;
export const endpointFile = outputs.endpointFile;
export const jobId = outputs.jobId;
export const jobState = outputs.jobState;
export const logPath = outputs.logPath;
export const sifPaths = outputs.sifPaths;
export const copyReports = outputs.copyReports;
