// The pubapps stack: the avatar pod (the dev stack's images and containers) as rootless Podman under
// systemd user services on a UF PubApps instance, reached over SSH through HiPerGator.
// Images -> docker-archive named by image id -> copied only when missing (checksum verified) ->
// `podman load` -> one unit per container + the pod's unit -> readiness through the proxied port.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SparcImages, type BuiltService } from "../images";
import { sampleWarnings } from "../previewWarnings";
import type { DevConfig } from "../podConfig";
import { devContainerPlan, devContainerSpecs, playerDescription, secretCreateScript, secretDeleteScript, type ServiceName } from "../pod";
import { playerIceJson, turnSecretOutput } from "../turn";
import { archiveSha256, removeLocalArchiveCommand, saveArchiveCommand } from "../archive";
import { RemoteCommand, type RemoteCommandArgs, type SshConnection } from "../../providers";
import type { PubappsConfig } from "./config";
import {
    cleanupHostScript,
    copyImageScript,
    hasImageScript,
    imagePlan,
    installUnitScript,
    loadImageScript,
    parseHostFacts,
    prepareHostScript,
    podReadinessScript,
    removeImageScript,
    removeUnitScript,
    type ImagePlan,
} from "./remote";
import { podUnits, type PodUnitSpec, type UnitFile } from "./units";
import { localImageId, podPublish, pubappsConnection, pubappsServices } from "./plan";
import { checkPublicUrl } from "./publicCheck";

export interface PubappsStackArgs {
    pubapps: PubappsConfig;
    /** The dev stack's keys: images, pod and container names, TURN/WebRTC ports, Riva/Unity switches. */
    dev: DevConfig;
}

/** Bound on a step's command: an archive upload of several GB through the jump host may take a while. */
const STEP_TIMEOUT_SECONDS = 3600;

export class PubappsStack extends pulumi.ComponentResource {
    declare readonly publicUrl: pulumi.Output<string>;
    declare readonly signalingUrl: pulumi.Output<string>;
    declare readonly podName: pulumi.Output<string>;
    declare readonly unitNames: pulumi.Output<Record<string, string>>;
    declare readonly imageIds: pulumi.Output<Record<string, string>>;
    declare readonly unitFormat: pulumi.Output<string>;
    declare readonly podmanVersion: pulumi.Output<string>;
    declare readonly linger: pulumi.Output<string>;
    declare readonly readiness: pulumi.Output<string>;
    declare readonly copyReports: pulumi.Output<Record<string, string>>;
    /** The page a browser opens to receive the avatar stream: the public URL (the signaling server's GET /). */
    declare readonly receiverUrl: pulumi.Output<string>;
    /** Which player runs as unity-server: the Unity build or the stand-in. */
    declare readonly player: pulumi.Output<string>;
    /** The readiness check through the public URL (pubappsPublicCheckSeconds): what it saw, or "off". */
    declare readonly publicCheck: pulumi.Output<string>;

    constructor(name: string, args: PubappsStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:pubapps:PubappsStack", name, {}, opts);
        const cfg = args.pubapps;
        const dev = args.dev;
        // The one connection of the stack (instance through HiPerGator): every step shares its pooled login.
        const connection: pulumi.Output<SshConnection> =
            cfg.mfaAnswers === undefined
                ? pulumi.output(pubappsConnection(cfg, undefined))
                : pulumi.secret(cfg.mfaAnswers.apply((answers) => pubappsConnection(cfg, answers)));
        const step = (resource: string, stepArgs: Omit<RemoteCommandArgs, "connection">, opts: pulumi.CustomResourceOptions) =>
            new RemoteCommand(resource, { connection, timeoutSeconds: STEP_TIMEOUT_SECONDS, ...stepArgs }, { parent: this, ...opts });
        const services = pubappsServices(dev);
        for (const warning of sampleWarnings(dev, "pubapps", services)) {
            pulumi.log.warn(warning, this);
        }

        // Local reads (no SSH), before any resource: a missing prebuilt image fails preview with its key.
        const prebuiltRefs: Partial<Record<ServiceName, readonly [string, string]>> = {
            ...(dev.imageSource === "prebuilt"
                ? ({
                      mas: ["masImage", dev.masImage],
                      signaling: ["signalingImage", dev.signalingImage],
                      unity: ["unityImage", dev.unityImage],
                      turn: ["turnImage", dev.turnImage],
                  } as const)
                : {}),
            riva: ["rivaImage", dev.rivaImage],
        };
        const prebuiltIds: Partial<Record<ServiceName, string>> = Object.fromEntries(
            services
                .filter((service) => prebuiltRefs[service] !== undefined)
                .map((service) => {
                    const [key, ref] = prebuiltRefs[service] ?? ["", ""];
                    return [service, localImageId(cfg.localCli, ref, key)];
                }),
        );

        // First remote step: every other one depends on it, so the shared login is made here.
        const host = step(
            `${name}-host`,
            {
                create: prepareHostScript({ unitFormat: cfg.unitFormat, archiveDir: cfg.archiveDir }),
                delete: cleanupHostScript(cfg.archiveDir),
                triggers: [cfg.host, cfg.user, cfg.unitFormat, cfg.archiveDir],
                // Create first, as before: a delete first would take every step that depends on this one down with it.
                deleteBeforeReplace: false,
            },
            {},
        );
        const hostFacts = host.stdout.apply(parseHostFacts);

        const built =
            dev.imageSource === "build"
                ? new SparcImages(`${name}-images`, { config: dev, services: services.filter((s): s is BuiltService => s !== "riva") }, { parent: this })
                : undefined;
        const imageIdOf = (service: ServiceName): pulumi.Output<string> => {
            const id = prebuiltIds[service] ?? (service !== "riva" ? built?.identities[service] : undefined);
            if (id === undefined) {
                throw new pulumi.ResourceError(`no image for ${service}`, this);
            }
            return pulumi.output(id);
        };

        const plans: Partial<Record<ServiceName, pulumi.Output<ImagePlan>>> = {};
        const loaded: Partial<Record<ServiceName, RemoteCommand>> = {};
        const copyReports: Record<string, pulumi.Output<string>> = {};
        for (const service of services) {
            const plan = imageIdOf(service).apply((id) => imagePlan(service, id, cfg.localArchiveDir, cfg.archiveDir));
            plans[service] = plan;
            const archive = new command.local.Command(
                `${name}-${service}-archive`,
                {
                    create: plan.apply((p) => saveArchiveCommand(cfg.localCli, { ...p, imageRef: p.imageId }, dev.imagePlatform, { reuseSaved: true })),
                    delete: plan.apply((p) => removeLocalArchiveCommand(p)),
                    triggers: [plan.apply((p) => p.imageId)],
                    logging: "stderr",
                },
                { parent: this, deleteBeforeReplace: true },
            );
            const sha256 = archive.stdout.apply(archiveSha256);
            // Copied only when the instance has neither the image nor the archive (checksum verified), over the shared login.
            const copy = step(
                `${name}-${service}-copy`,
                {
                    unless: pulumi.all([plan, sha256]).apply(([p, sum]) => hasImageScript(p, sum)),
                    create: pulumi.all([plan, sha256]).apply(([p, sum]) => copyImageScript(p, sum)),
                    stdinFile: plan.apply((p) => p.localTar),
                    delete: plan.apply((p) => ["rm", "-f", p.remoteTar, `${p.remoteTar}.part`]),
                    triggers: [plan.apply((p) => p.imageId), sha256],
                    // A new image is sent and loaded while the old one still serves; the old one goes last.
                    deleteBeforeReplace: false,
                },
                { dependsOn: [host] },
            );
            // Loaded as the service account; destroy removes the image.
            const image = step(
                `${name}-${service}-image`,
                {
                    create: plan.apply((p) => loadImageScript(p, { keepArchive: cfg.keepArchives })),
                    delete: plan.apply((p) => removeImageScript(p)),
                    triggers: [plan.apply((p) => p.imageId), sha256],
                    deleteBeforeReplace: false,
                },
                { dependsOn: [copy] },
            );
            loaded[service] = image;
            copyReports[service] = copy.stdout.apply((s) => s.split("\n").find((l) => l.startsWith("sent ")) ?? s.trim());
        }

        const podSpec: PodUnitSpec = { podName: dev.podName, publish: podPublish(cfg, dev), stopTimeoutSeconds: dev.containerStopTimeoutSeconds };
        const podPlan = devContainerPlan(dev, cfg.publicHost);
        const unitsOf = (images: Partial<Record<ServiceName, string>>) =>
            podUnits(
                podSpec,
                devContainerSpecs(podPlan, {
                    mas: images.mas ?? "",
                    signaling: images.signaling ?? "",
                    riva: images.riva ?? "",
                    turn: images.turn ?? "",
                    unity: images.unity ?? "",
                }),
            );
        const plannedSpecs = devContainerSpecs(podPlan, { mas: "", signaling: "", riva: "", turn: "", unity: "" });
        // Unit names do not depend on images: plain values.
        const names = unitsOf({});
        const containerUnitNames = names.containers.map((c) => c.files.systemd.unit);

        const podFile = hostFacts.apply((f) => names.pod[f.format]);
        const pod = step(
            `${name}-pod`,
            {
                create: podFile.apply((f) => installUnitScript(f, { thenStart: containerUnitNames })),
                delete: podFile.apply((f) => removeUnitScript(f, { kind: "pod", name: dev.podName })),
                triggers: [podFile.apply((f) => f.text)],
                // Fixed unit and pod names: the old unit goes before the new one is installed.
                deleteBeforeReplace: true,
            },
            { dependsOn: [host] },
        );

        // The podman secrets on the instance (value on the command's stdin, a secret input, never in argv): the shared
        // TURN secret and the player's ICE servers file. A changed value re-creates the secret (update: its new id is
        // the stdout its users' units have as a trigger, so they restart). Create adopts a secret of that name already
        // there (one a previous state made: the pubapps migration keeps the running pod's secrets).
        const secretValue = turnSecretOutput(name, dev, podPlan.turn, { parent: this });
        const secrets: Record<string, RemoteCommand> = {};
        const remoteSecret = (resource: string, secretName: string, value: pulumi.Output<string>) =>
            step(
                resource,
                {
                    unless: ["podman", "secret", "inspect", "--format", "{{.ID}}", secretName],
                    create: ["bash", "-c", secretCreateScript(secretName)],
                    update: ["bash", "-c", secretCreateScript(secretName)],
                    delete: ["bash", "-c", secretDeleteScript(secretName)],
                    triggers: [secretName],
                    stdin: value,
                    deleteBeforeReplace: false,
                },
                { dependsOn: [host] },
            );
        if (secretValue !== undefined && podPlan.turn.secretName !== undefined) {
            secrets[podPlan.turn.secretName] = remoteSecret(`${name}-turn-secret`, podPlan.turn.secretName, secretValue);
        }
        if (dev.unityPlayer !== "none") {
            const now = Math.floor(Date.now() / 1000);
            const json =
                secretValue === undefined
                    ? pulumi.output(playerIceJson(podPlan.turn, undefined, now))
                    : secretValue.apply((v) => playerIceJson(podPlan.turn, v, now));
            secrets[podPlan.turn.iceSecretName] = remoteSecret(`${name}-ice-servers`, podPlan.turn.iceSecretName, json);
        }
        if (dev.unityPlayer !== "none") {
            pulumi.log.info(`unity-server runs the ${playerDescription(dev.unityPlayer)}`, this);
        }

        const unitImages = pulumi.all(Object.fromEntries(Object.entries(plans).map(([service, p]) => [service, p.apply((x) => x.unitImage)]))) as pulumi.Output<
            Partial<Record<ServiceName, string>>
        >;
        const units: RemoteCommand[] = [];
        const unitTexts: pulumi.Output<string>[] = [];
        for (const entry of names.containers) {
            const file: pulumi.Output<UnitFile> = pulumi.all([hostFacts, unitImages]).apply(([f, images]) => {
                const c = unitsOf(images).containers.find((x) => x.service === entry.service);
                if (c === undefined) {
                    throw new Error(`no unit for ${entry.service}`);
                }
                return c.files[f.format];
            });
            const image = loaded[entry.service];
            const used = plannedSpecs.find((x) => x.service === entry.service)?.secrets ?? [];
            const usedSecrets = used.map((x) => secrets[x.name]).filter((c): c is RemoteCommand => c !== undefined);
            unitTexts.push(file.apply((f) => f.text));
            // A changed image is a changed unit text: this unit alone is stopped, rewritten and started.
            units.push(
                step(
                    `${name}-${entry.service}-unit`,
                    {
                        create: file.apply((f) => installUnitScript(f)),
                        delete: file.apply((f) => removeUnitScript(f, { kind: "container", name: entry.name })),
                        triggers: [file.apply((f) => f.text), ...usedSecrets.map((c) => c.stdout)],
                        deleteBeforeReplace: true,
                    },
                    { dependsOn: [pod, ...(image !== undefined ? [image] : []), ...usedSecrets] },
                ),
            );
        }

        // Runs again whenever a unit was (re)installed: the unit texts and the secrets they use are its triggers.
        const ready = step(
            `${name}-ready`,
            {
                create: podReadinessScript({
                    proxyPort: cfg.proxyPort,
                    masPort: cfg.masPort,
                    timeoutSeconds: cfg.readinessTimeoutSeconds,
                    units: [names.pod.systemd.unit, ...containerUnitNames],
                }),
                triggers: [podFile.apply((f) => f.text), ...unitTexts, ...Object.values(secrets).map((c) => c.stdout)],
                timeoutSeconds: cfg.readinessTimeoutSeconds + 60,
                deleteBeforeReplace: false,
            },
            { dependsOn: units },
        );

        this.publicUrl = pulumi.output(cfg.publicUrl);
        this.signalingUrl = pulumi.output(cfg.publicUrl.replace(/^http/, "ws"));
        // After the instance is ready, through UF's proxy from this machine; an up (not a preview) fails on it.
        this.publicCheck = ready.stdout.apply(async () =>
            cfg.publicCheckSeconds === 0 || pulumi.runtime.isDryRun()
                ? "off"
                : checkPublicUrl(cfg.publicUrl, { seconds: cfg.publicCheckSeconds, key: `${pulumi.getProject()}:pubappsPublicCheckSeconds` }).catch(
                      (err: Error) => {
                          // RunError: the CLI prints the message (key, URL, what the proxy answered, fix) without a stack trace.
                          throw new pulumi.RunError(err.message);
                      },
                  ),
        );
        this.podName = pulumi.output(dev.podName);
        const unitNames: Record<string, string> = {
            pod: names.pod.systemd.unit,
            ...Object.fromEntries(names.containers.map((c) => [c.service, c.files.systemd.unit])),
        };
        this.unitNames = pulumi.output(unitNames);
        this.imageIds = pulumi.all(Object.fromEntries(Object.entries(plans).map(([service, p]) => [service, p.apply((x) => `sha256:${x.imageId}`)])));
        this.unitFormat = hostFacts.apply((f) => f.format);
        this.podmanVersion = hostFacts.apply((f) => f.podmanVersion);
        this.linger = hostFacts.apply((f) => f.linger);
        this.readiness = ready.stdout.apply((s) => s.trim());
        this.copyReports = pulumi.all(copyReports);
        this.receiverUrl = this.publicUrl;
        this.player = pulumi.output(playerDescription(dev.unityPlayer));
        this.registerOutputs({
            publicUrl: this.publicUrl,
            signalingUrl: this.signalingUrl,
            podName: this.podName,
            unitNames: this.unitNames,
            imageIds: this.imageIds,
            unitFormat: this.unitFormat,
            podmanVersion: this.podmanVersion,
            linger: this.linger,
            readiness: this.readiness,
            copyReports: this.copyReports,
            receiverUrl: this.receiverUrl,
            player: this.player,
            publicCheck: this.publicCheck,
        });
    }
}
