// sparc-deploy: the SPARC avatar platform on a local Podman pod (target "podman",
// the dev stack), on HiPerGator as Apptainer images and a SLURM service job
// (target "hpg"), or on a UF PubApps instance as rootless Podman under systemd user
// services (target "pubapps"). Config in, components out, outputs exported.
import * as pulumi from "@pulumi/pulumi";
import { DevStack, loadDevConfig } from "./components/dev";
import { HpgStack, loadHpgConfig } from "./components/hpg";
import { loadImagesConfig } from "./components/imagesConfig";
import { PubappsStack, loadPubappsConfig } from "./components/pubapps";

const config = new pulumi.Config();
const target = config.get("target", { allowedValues: ["podman", "hpg", "pubapps"] }) ?? "podman";

// Each target reads only its own keys (hpg: the image keys and its own, no pod keys) and
// returns only the outputs it produces: those become the stack outputs.
const deployers = {
    podman: () => {
        const dev = new DevStack("sparc", loadDevConfig(config));
        return {
            masUrl: dev.masUrl,
            signalingUrl: dev.signalingUrl,
            podName: dev.podName,
            containerIds: dev.containerIds,
            imageIds: dev.imageIds,
            skipped: dev.skipped,
            readiness: dev.readiness,
            receiverUrl: dev.receiverUrl,
            player: dev.player,
            iceServerUrls: dev.iceServerUrls,
        };
    },
    hpg: () => {
        const hpg = new HpgStack("sparc", { hpg: loadHpgConfig(config), images: loadImagesConfig(config) });
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
    },
    pubapps: () => {
        const pubapps = new PubappsStack("sparc", { pubapps: loadPubappsConfig(config), dev: loadDevConfig(config, undefined, "pubapps") });
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
            receiverUrl: pubapps.receiverUrl,
            player: pubapps.player,
            publicCheck: pubapps.publicCheck,
        };
    },
};

// Only the chosen target's outputs: no "Undefined value ... will not show as a stack output" warnings.
const outputs: Record<string, pulumi.Output<unknown>> = deployers[target as keyof typeof deployers]();
export = outputs;
