// The dev stack: the SPARC images (built through Podman's Docker API, or prebuilt) run in one Podman pod.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { DevConfig } from "../podConfig";
import { SparcImages } from "../images";

export { builtImageName, dockerfiles } from "../images";
import {
    containerRmArgv,
    containerRunArgv,
    devContainerPlan,
    devContainerSpecs,
    ngcSecretName,
    podCreateArgv,
    podRmArgv,
    referenceContainerNames,
    playerDescription,
    render,
    secretCreateScript,
    secretDeleteScript,
    type ServiceName,
} from "../pod";
import { playerIceJson, turnSecretOutput, type TurnPlan } from "../turn";
import { projectRoot } from "../projectRoot";

/** Scripts the commands run with the program's own node (plain JS, Node builtins only). */
export const devScripts = {
    preflight: path.join(projectRoot, "scripts", "podman", "preflight.js"),
    waitReady: path.join(projectRoot, "scripts", "podman", "wait-ready.js"),
};

export interface SkippedService {
    service: ServiceName;
    reason: string;
}

/** Which optional services are left out, and the key that turns each on. */
export function skippedServices(cfg: DevConfig): SkippedService[] {
    const skipped: SkippedService[] = [];
    if (cfg.unityPlayer === "none") {
        skipped.push({
            service: "unity",
            reason: "imageSource is prebuilt and unityImage is empty; set unityImage to a prebuilt Unity player image reference to run it (the stand-in player is built only with imageSource build)",
        });
    }
    if (cfg.turnMode !== "embedded") {
        skipped.push({
            service: "turn",
            reason:
                cfg.turnMode === "external"
                    ? `turnMode is external; browsers and the player use ${cfg.turnUrls.join(", ")}`
                    : "turnMode is off; browsers outside this host's network may get no video (set turnMode embedded)",
        });
    }
    if (!cfg.rivaEnabled) {
        skipped.push({ service: "riva", reason: "rivaEnabled is false; set it to true (needs an NVIDIA GPU and NGC access) to run Riva" });
    }
    return skipped;
}

export class DevStack extends pulumi.ComponentResource {
    /** MAS API as seen from the host. */
    declare readonly masUrl: pulumi.Output<string>;
    /** Signaling WebSocket endpoint as seen from the host. */
    declare readonly signalingUrl: pulumi.Output<string>;
    declare readonly podName: pulumi.Output<string>;
    /** Container id per service that runs (mas, signaling, and riva/unity when enabled). */
    declare readonly containerIds: pulumi.Output<Record<string, string>>;
    /** Image reference run per service: the built image's digest or the prebuilt reference. */
    declare readonly imageIds: pulumi.Output<Record<string, string>>;
    declare readonly skipped: pulumi.Output<SkippedService[]>;
    /** What the readiness check printed (which endpoints answered after how long). */
    declare readonly readiness: pulumi.Output<string>;
    /** The page a browser opens to receive the avatar stream (the signaling server's GET /). */
    declare readonly receiverUrl: pulumi.Output<string>;
    /** Which player runs as unity-server: the Unity build or the stand-in. */
    declare readonly player: pulumi.Output<string>;
    /** The TURN URLs browsers get ([] when turnMode is off). */
    declare readonly iceServerUrls: pulumi.Output<string[]>;

    constructor(name: string, args: DevConfig, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:dev:DevStack", name, {}, opts);
        const cfg = args;
        const skipped = skippedServices(cfg);
        for (const s of skipped) {
            pulumi.log.info(`${s.service} skipped: ${s.reason}`, this);
        }
        const player = playerDescription(cfg.unityPlayer);
        if (cfg.unityPlayer !== "none") {
            pulumi.log.info(`unity-server runs the ${player}`, this);
        }

        const range = `${cfg.webrtcPortRange.first}-${cfg.webrtcPortRange.last}`;
        const preflightArgv = [
            process.execPath,
            devScripts.preflight,
            "--pod",
            cfg.podName,
            ...(cfg.imageSource === "build" ? ["--docker-host", cfg.dockerHost] : []),
            "--port",
            `masPort=${cfg.masPort}/tcp`,
            "--port",
            `signalingPort=${cfg.signalingPort}/tcp`,
            "--port",
            `turnPort=${cfg.turnPort}/udp`,
            "--port",
            `turnPort=${cfg.turnPort}/tcp`,
            "--port",
            `webrtcPortRange=${range}/udp`,
            ...(cfg.rivaEnabled ? ["--port", `rivaPort=${cfg.rivaPort}/tcp`] : []),
        ];
        // A command (not a config-load check): it runs on `up` only, so previews work on machines
        // without Podman, and it is re-run when what it checks changes.
        const preflight = new command.local.Command(
            `${name}-preflight`,
            {
                create: render(preflightArgv),
                triggers: [render(preflightArgv)],
            },
            { parent: this },
        );

        const images = this.images(name, cfg, preflight);

        const podSpec = {
            podName: cfg.podName,
            masPort: cfg.masPort,
            signalingPort: cfg.signalingPort,
            turnPort: cfg.turnPort,
            webrtcPortRange: cfg.webrtcPortRange,
            ...(cfg.rivaEnabled ? { rivaPort: cfg.rivaPort } : {}),
        };
        const podCreate = render(podCreateArgv(podSpec));
        // Fixed podman names: a replacement must delete the old pod first.
        const pod = new command.local.Command(
            `${name}-pod`,
            {
                create: podCreate,
                delete: render(podRmArgv(cfg.podName, cfg.containerStopTimeoutSeconds)),
                triggers: [podCreate],
            },
            { parent: this, dependsOn: [preflight], deleteBeforeReplace: true },
        );

        const ngcSecret = this.ngcSecret(name, cfg, preflight);
        const plan = {
            ...devContainerPlan(cfg, cfg.publicHost),
            riva: {
                modelRepository: cfg.rivaModelRepository,
                runArgs: cfg.rivaRunArgs,
                command: cfg.rivaCommand,
                ...(ngcSecret === undefined ? {} : { ngcSecretName: ngcSecretName(cfg.podName) }),
            },
        };
        const secrets = this.secrets(name, cfg, plan.turn, preflight);
        // Plan with placeholders to decide which containers exist (plain values), then
        // render each run command once its image reference is known.
        const planned = devContainerSpecs(plan, { mas: "", signaling: "", riva: "", turn: "", unity: "" });
        const containers: Partial<Record<ServiceName, command.local.Command>> = {};
        for (const spec of planned) {
            const image = images[spec.service];
            if (image === undefined) {
                throw new pulumi.ResourceError(`no image for ${spec.service}`, this);
            }
            const create = image.apply((ref) => render(containerRunArgv({ ...spec, image: ref })));
            // Its podman secrets (Riva: NGC_API_KEY): a re-created secret (new id) re-creates the container (it reads them at creation).
            const used = [
                ...(spec.secrets ?? []).map((x) => secrets[x.name]).filter((c): c is command.local.Command => c !== undefined),
                ...(spec.service === "riva" && ngcSecret !== undefined ? [ngcSecret] : []),
            ];
            const after = [pod, ...used, ...(spec.service === "unity" && containers.signaling ? [containers.signaling] : [])];
            containers[spec.service] = new command.local.Command(
                `${name}-${spec.service}`,
                {
                    create,
                    delete: render(containerRmArgv(spec.name, cfg.containerStopTimeoutSeconds)),
                    // New image, new pod or a changed run line: replace the container.
                    triggers: [image, pod.stdout, create, ...used.map((c) => c.stdout)],
                },
                { parent: this, dependsOn: after, deleteBeforeReplace: true },
            );
        }

        // On timeout the script prints every container's last log lines into the error.
        const readyArgv = [
            process.execPath,
            devScripts.waitReady,
            "--timeout",
            String(cfg.readinessTimeoutSeconds),
            "--http",
            `http://127.0.0.1:${cfg.masPort}/health`,
            "--websocket",
            `ws://127.0.0.1:${cfg.signalingPort}/`,
            "--ice-config",
            `http://127.0.0.1:${cfg.signalingPort}/config`,
            ...(plan.turn.relay !== undefined ? ["--stun", `127.0.0.1:${cfg.turnPort}`] : []),
            ...planned.flatMap((s) => ["--running", s.name, "--logs", s.name]),
        ];
        const running = Object.values(containers);
        const ready = new command.local.Command(
            `${name}-ready`,
            {
                create: render(readyArgv),
                triggers: running.map((c) => c.stdout),
                // Its output can be every container's log tail: kept out of the env of later runs
                // (@pulumi/command puts the previous stdout/stderr there, which can exceed ARG_MAX).
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: running,
                customTimeouts: { create: `${cfg.readinessTimeoutSeconds + 60}s` },
            },
        );

        const rivaReady = containers.riva === undefined ? undefined : this.rivaReady(name, cfg, containers.riva);

        this.masUrl = pulumi.output(`http://${cfg.publicHost}:${cfg.masPort}`);
        this.signalingUrl = pulumi.output(`ws://${cfg.publicHost}:${cfg.signalingPort}`);
        this.podName = pulumi.output(cfg.podName);
        this.containerIds = pulumi.all(Object.fromEntries(Object.entries(containers).map(([service, c]) => [service, c.stdout.apply((s) => s.trim())])));
        this.imageIds = pulumi.all(images) as pulumi.Output<Record<string, string>>;
        this.skipped = pulumi.output(skipped);
        this.readiness = rivaReady === undefined ? ready.stdout : pulumi.concat(ready.stdout, rivaReady.stdout);
        this.receiverUrl = pulumi.output(`http://${cfg.publicHost}:${cfg.signalingPort}/`);
        this.player = pulumi.output(player);
        this.iceServerUrls = pulumi.output(plan.turn.browserUrls);

        this.registerOutputs({
            masUrl: this.masUrl,
            signalingUrl: this.signalingUrl,
            podName: this.podName,
            containerIds: this.containerIds,
            imageIds: this.imageIds,
            skipped: this.skipped,
            readiness: this.readiness,
            receiverUrl: this.receiverUrl,
            player: this.player,
            iceServerUrls: this.iceServerUrls,
        });
    }

    /**
     * The podman secrets the containers read (by name): the shared TURN secret (env TURN_SECRET of the relay
     * and signaling) and the player's ICE servers file. Values go on stdin; Pulumi keeps them encrypted.
     */
    private secrets(name: string, cfg: DevConfig, turn: TurnPlan, preflight: command.local.Command): Record<string, command.local.Command> {
        const out: Record<string, command.local.Command> = {};
        const secret = turnSecretOutput(name, cfg, turn, { parent: this });
        const podmanSecret = (resource: string, secretName: string, value: pulumi.Output<string>) =>
            new command.local.Command(
                resource,
                {
                    create: secretCreateScript(secretName),
                    // A changed value runs create again (it replaces the secret: a new id) instead of a replace.
                    update: secretCreateScript(secretName),
                    delete: secretDeleteScript(secretName),
                    // Plain: the real engine's command provider refuses a secret left unknown at preview in triggers.
                    triggers: [secretName],
                    stdin: pulumi.secret(value),
                    addPreviousOutputInEnv: false,
                },
                { parent: this, dependsOn: [preflight] },
            );
        if (secret !== undefined && turn.secretName !== undefined) {
            out[turn.secretName] = podmanSecret(`${name}-turn-secret`, turn.secretName, secret);
        }
        if (cfg.unityPlayer !== "none") {
            const now = Math.floor(Date.now() / 1000);
            const json = secret === undefined ? pulumi.output(playerIceJson(turn, undefined, now)) : secret.apply((v) => playerIceJson(turn, v, now));
            out[turn.iceSecretName] = podmanSecret(`${name}-ice-servers`, turn.iceSecretName, json);
        }
        return out;
    }

    /**
     * The NGC API key as the podman secret Riva gets as NGC_API_KEY. The key travels only on the command's
     * stdin (a secret input: encrypted in the state); argv, the run line and the unit files name the secret.
     */
    private ngcSecret(name: string, cfg: DevConfig, preflight: command.local.Command): command.local.Command | undefined {
        if (!cfg.rivaEnabled || cfg.rivaNgcApiKey === undefined) {
            return undefined;
        }
        const secretName = ngcSecretName(cfg.podName);
        return new command.local.Command(
            `${name}-ngc-secret`,
            {
                create: secretCreateScript(secretName),
                // A changed key runs create again (it replaces the secret) instead of a replace of this resource.
                update: secretCreateScript(secretName),
                delete: secretDeleteScript(secretName),
                // Another name (podName) is another secret: replaced, so the old one is removed.
                triggers: [secretName],
                stdin: pulumi.secret(cfg.rivaNgcApiKey),
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [preflight] },
        );
    }

    /**
     * Riva's own readiness: gRPC health SERVING on rivaPort (riva_start.sh polls the same service with
     * grpc_health_probe), with its own bound, since loading the models takes minutes.
     */
    private rivaReady(name: string, cfg: DevConfig, riva: command.local.Command): command.local.Command {
        const argv = [
            process.execPath,
            devScripts.waitReady,
            "--timeout",
            String(cfg.rivaReadinessTimeoutSeconds),
            "--grpc-health",
            `127.0.0.1:${cfg.rivaPort}`,
            "--logs",
            cfg.containerNamePrefix + referenceContainerNames.riva,
        ];
        return new command.local.Command(
            `${name}-riva-ready`,
            { create: render(argv), triggers: [riva.stdout], addPreviousOutputInEnv: false },
            { parent: this, dependsOn: [riva], customTimeouts: { create: `${cfg.rivaReadinessTimeoutSeconds + 60}s` } },
        );
    }

    /** One image reference per service that runs: built (by digest) or prebuilt (as configured). */
    private images(name: string, cfg: DevConfig, preflight: command.local.Command): Partial<Record<ServiceName, pulumi.Output<string>>> {
        const built = new SparcImages(
            `${name}-images`,
            {
                config: cfg,
                services: [
                    "mas",
                    "signaling",
                    ...(cfg.turnMode === "embedded" ? (["turn"] as const) : []),
                    ...(cfg.unityPlayer !== "none" ? (["unity"] as const) : []),
                ],
                dependsOn: [preflight],
                // The pod runs them here: each stack's destroy removes only its own images.
                ownImageIds: true,
            },
            { parent: this },
        );
        return { ...built.refs, ...(cfg.rivaEnabled ? { riva: pulumi.output(cfg.rivaImage) } : {}) };
    }
}
