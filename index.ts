// sparc-deploy: the SPARC avatar platform on a local Podman pod (target "podman",
// the dev stack), on HiPerGator as Apptainer images and a SLURM service job
// (target "hpg"), or on a UF PubApps instance as rootless Podman under systemd user
// services (target "pubapps"). Config in, components out, outputs exported.
import * as pulumi from "@pulumi/pulumi";
import { DevStack, loadDevConfig } from "./components/dev";
import { HpgStack, loadHpgConfig } from "./components/hpg";
import { PubappsStack, loadPubappsConfig } from "./components/pubapps";

const config = new pulumi.Config();
const target = config.get("target", { allowedValues: ["podman", "hpg", "pubapps"] }) ?? "podman";
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

function deployPubapps() {
    const pubapps = new PubappsStack("sparc", { pubapps: loadPubappsConfig(config), dev: images });
    return {
        publicUrl: pubapps.publicUrl,
        signalingUrl: pubapps.signalingUrl,
        podName: pubapps.podName,
        unitNames: pubapps.unitNames,
        imageIds: pubapps.imageIds,
        unitFormat: pubapps.unitFormat,
        podmanVersion: pubapps.podmanVersion,
        linger: pubapps.linger,
        readiness: pubapps.readiness,
        copyReports: pubapps.copyReports,
    };
}

const deployers = { podman: deployDev, hpg: deployHpg, pubapps: deployPubapps };
const outputs: Record<string, pulumi.Output<unknown>> = deployers[target as keyof typeof deployers]();

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
export const publicUrl = outputs.publicUrl;
export const unitNames = outputs.unitNames;
export const unitFormat = outputs.unitFormat;
export const podmanVersion = outputs.podmanVersion;
export const linger = outputs.linger;
