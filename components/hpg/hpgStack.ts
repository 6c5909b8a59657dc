// The hpg stack: images -> docker-archive -> cluster storage -> Apptainer .sif,
// then the MAS service as a tracked SLURM job, checked for readiness from the login node.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { RemoteCommand, SlurmJob, shQuote, type SshConnection } from "../../providers";
import { HPG_CONNECTION_MESSAGES } from "./site";
import { SparcImages, type BuiltService, type ImagesConfig } from "../images";
import { idleGpuWarning, sampleWarnings } from "../previewWarnings";
import type { HpgConfig } from "./config";
import { archiveSha256, removeLocalArchiveCommand, saveArchiveCommand } from "../archive";
import {
    copyArchiveSteps,
    currentEndpointFile,
    parseReadinessReport,
    removeRemoteArgv,
    serviceJobBody,
    sifBuildArgv,
    sifBuildScript,
    sifPlan,
    tunnelCommand,
    type SifPlan,
} from "./commands";
import { endpointPatternOf, hpgJobProblems, serviceJobSpec, sifBuildJobSpec } from "./jobSpecs";

export { endpointPatternOf, serviceJobSpec, sifBuildJobSpec } from "./jobSpecs";

export interface HpgStackArgs {
    hpg: HpgConfig;
    images: ImagesConfig;
}

/** 16 hex characters naming an image's archive and .sif by its content identity. */
export function identityHash(identity: string): string {
    return crypto.createHash("sha256").update(identity).digest("hex").slice(0, 16);
}

/**
 * The one connection of the stack: every SlurmJob and RemoteCommand gets this same value, so they
 * share one pooled login in the provider process (one second-factor prompt per run). Secrets stay Outputs.
 */
export function slurmConnection(cfg: HpgConfig): pulumi.Input<SshConnection> {
    return pulumi.all([cfg.privateKey, cfg.passphrase, cfg.mfaAnswers]).apply(([privateKey, passphrase, answers]) => {
        const conn: SshConnection = {
            host: cfg.host,
            port: cfg.port,
            user: cfg.user,
            transport: cfg.transport,
            ...(cfg.hostKey !== "" ? { hostKey: cfg.hostKey } : {}),
            ...(cfg.insecureIgnoreHostKey ? { insecureIgnoreHostKey: true } : {}),
            ...(answers !== undefined && answers.length > 0 ? { keyboardInteractiveAnswers: answers } : {}),
            ...(cfg.mfaPromptPattern !== "" ? { mfaPromptPattern: cfg.mfaPromptPattern } : {}),
            ...(passphrase !== undefined ? { passphrase } : {}),
            // Message text only (never diffed): the provider's errors name the hpg* keys.
            messages: HPG_CONNECTION_MESSAGES,
        };
        if (cfg.transport === "openssh") {
            // ssh gets hpgHost as written: an alias keeps the user's Host block (ProxyJump, User, ...).
            return {
                ...conn,
                ...(cfg.hostAlias !== cfg.host ? { hostAlias: cfg.hostAlias } : {}),
                identityFile: cfg.identityFile,
                controlPath: cfg.controlPath,
            };
        }
        return { ...conn, ...(privateKey !== undefined ? { privateKey } : {}) };
    });
}

/** The file naming the endpoint that passed readiness last (the one the outputs show). */
export function endpointFileOf(cfg: HpgConfig): string {
    return currentEndpointFile(endpointPatternOf(cfg));
}

function wantsGpus(cfg: HpgConfig): boolean {
    return (cfg.gpusPerTask !== "" && cfg.gpusPerTask !== "0") || cfg.gpus !== "";
}

/** The service job's body for the MAS .sif. */
export function serviceJobCommand(cfg: HpgConfig, sif: string): string {
    return serviceJobBody({
        modules: cfg.modules,
        sif,
        port: cfg.masPort,
        endpointPattern: endpointPatternOf(cfg),
        gpus: wantsGpus(cfg),
        appDir: cfg.masAppDir,
    });
}

export class HpgStack extends pulumi.ComponentResource {
    declare readonly masEndpoint: pulumi.Output<string>;
    declare readonly tunnelCommand: pulumi.Output<string>;
    declare readonly endpointFile: pulumi.Output<string>;
    declare readonly jobId: pulumi.Output<string>;
    declare readonly jobState: pulumi.Output<string>;
    declare readonly logPath: pulumi.Output<string>;
    declare readonly sifPaths: pulumi.Output<Record<string, string>>;
    declare readonly readiness: pulumi.Output<string>;
    declare readonly copyReports: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: HpgStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:hpg:HpgStack", name, {}, opts);
        const cfg = args.hpg;
        // loadHpgConfig reports these already; a config made another way still fails here, under the
        // config keys, rather than in the SlurmJob provider's check under its field names.
        const jobProblems = hpgJobProblems(pulumi.getProject(), cfg);
        if (jobProblems.length > 0) {
            throw new pulumi.RunError(`hpg stack configuration has ${jobProblems.length} problem(s):\n  - ${jobProblems.map((p) => p.message).join("\n  - ")}`);
        }
        for (const warning of [
            ...sampleWarnings(args.images, "hpg", cfg.services),
            idleGpuWarning(args.images, { hpgGpusPerTask: cfg.gpusPerTask, hpgGpus: cfg.gpus }),
        ]) {
            if (warning !== undefined) {
                pulumi.log.warn(warning, this);
            }
        }
        const connection = slurmConnection(cfg);
        const images = new SparcImages(`${name}-images`, { config: args.images, services: cfg.services }, { parent: this });

        const apptainerDirs = { cacheDir: cfg.apptainerCacheDir, tmpDir: cfg.apptainerTmpDir, tmpFallback: cfg.apptainerTmpFallback };
        const sifs: Partial<Record<BuiltService, { plan: pulumi.Output<SifPlan>; built: pulumi.Resource }>> = {};
        const copyReports: Record<string, pulumi.Output<string>> = {};
        for (const service of cfg.services) {
            const ref = images.refs[service];
            const identity = images.identities[service];
            if (ref === undefined || identity === undefined) {
                throw new pulumi.ResourceError(`no image for ${service}`, this);
            }
            const plan = pulumi.all([ref, identity]).apply(([r, id]) => sifPlan(service, r, identityHash(id), cfg.localArchiveDir, cfg.containerDir));
            // Named by the image's identity: an unchanged image is never saved, sent or built again.
            const archive = new command.local.Command(
                `${name}-${service}-archive`,
                {
                    create: plan.apply((p) => saveArchiveCommand(cfg.localCli, p, args.images.imagePlatform)),
                    delete: plan.apply((p) => removeLocalArchiveCommand(p)),
                    triggers: [plan.apply((p) => p.identity)],
                    logging: "stderr",
                    // Large output (an image save's progress) must not go into the env of the delete.
                    addPreviousOutputInEnv: false,
                },
                { parent: this, deleteBeforeReplace: true },
            );
            const sha256 = archive.stdout.apply(archiveSha256);
            const copySteps = pulumi.all([plan, sha256]).apply(([p, sum]) => copyArchiveSteps(p, sum));
            // Streamed over the stack's one login (no scp): unchanged archives are not sent again.
            const copy = new RemoteCommand(
                `${name}-${service}-copy`,
                {
                    connection,
                    unless: copySteps.apply((c) => c.unless),
                    create: copySteps.apply((c) => c.create),
                    stdinFile: plan.apply((p) => p.localTar),
                    delete: plan.apply((p) => removeRemoteArgv([p.remoteTar, `${p.remoteTar}.part`])),
                    triggers: [sha256],
                },
                { parent: this, deleteBeforeReplace: true, dependsOn: [archive] },
            );
            copyReports[service] = copy.stdout;

            let built: pulumi.Resource;
            if (cfg.sifBuildOn === "slurm") {
                // The .sif's place, removed on destroy. It comes before the build job (and the job carries its id):
                // replacing it (a new image, or a stack switching from hpgSifBuildOn "login", whose command of this
                // name removes the .sif on delete) always rebuilds, never leaves a removed .sif behind.
                const sifFile = new RemoteCommand(
                    `${name}-${service}-sif`,
                    {
                        connection,
                        create: plan.apply((p) => ["echo", p.remoteSif]),
                        delete: plan.apply((p) => removeRemoteArgv([p.remoteSif, `${p.remoteSif}.part`])),
                        triggers: [plan.apply((p) => p.remoteSif), copy.id],
                    },
                    { parent: this, dependsOn: [copy], deleteBeforeReplace: true },
                );
                // UF RC allows no computational work on login nodes: the build runs as a CPU job and is waited for.
                // It writes a done/failed marker when it ends, which the provider sees within a second (eventFile).
                const marker = `${cfg.workDir}/sif_build_${service}_%j.event`;
                built = new SlurmJob(
                    `${name}-${service}-sif-build`,
                    {
                        connection,
                        ...sifBuildJobSpec(cfg, service),
                        eventFile: marker,
                        environment: sifFile.id.apply((id) => ({ SPARC_SIF_SLOT: id })),
                        command: plan.apply((p) => sifBuildScript(p, cfg.modules, apptainerDirs, marker)),
                    },
                    { parent: this, dependsOn: [sifFile] },
                );
            } else {
                built = new RemoteCommand(
                    `${name}-${service}-sif`,
                    {
                        connection,
                        create: plan.apply((p) => sifBuildArgv(p, cfg.modules, apptainerDirs)),
                        delete: plan.apply((p) => removeRemoteArgv([p.remoteSif, `${p.remoteSif}.part`])),
                        triggers: [plan.apply((p) => p.remoteSif), copy.id],
                    },
                    { parent: this, dependsOn: [copy], deleteBeforeReplace: true },
                );
            }
            sifs[service] = { plan, built };
        }

        const mas = sifs.mas;
        if (mas === undefined) {
            throw new pulumi.ResourceError('the MAS image is required (hpgServices must include "mas")', this);
        }
        const job = new SlurmJob(
            `${name}-service`,
            {
                connection,
                ...serviceJobSpec(cfg),
                // The endpoint file the job writes once it runs: the wait for RUNNING ends within a second of it.
                eventFile: endpointPatternOf(cfg),
                command: mas.plan.apply((p) => serviceJobCommand(cfg, p.remoteSif)),
            },
            { parent: this, dependsOn: [mas.built] },
        );

        // Everything users need comes from the endpoint file, through the readiness report of the job now serving.
        const report = job.readyReport.apply((r) => parseReadinessReport(r ?? ""));
        this.masEndpoint = report.apply((r) => (r === undefined ? "" : `${r.node}:${r.port}`));
        // With renewal on, the endpoint moves at each renewal: the helper that follows it comes first.
        const follow =
            cfg.renewBeforeHours > 0 ? `npm run tunnel -- --stack ${shQuote(pulumi.getStack())} (follows renewals); or, to the job serving now only: ` : "";
        this.tunnelCommand = report.apply((r) =>
            r === undefined
                ? ""
                : follow +
                  tunnelCommand({
                      localPort: cfg.masPort,
                      node: r.node,
                      port: r.port,
                      user: cfg.user,
                      host: cfg.host,
                      sshPort: cfg.port,
                      proxyJump: cfg.proxyJump,
                  }),
        );
        this.endpointFile = pulumi.output(endpointFileOf(cfg));
        this.jobId = job.jobId;
        this.jobState = job.state;
        this.logPath = job.stdoutPath;
        this.sifPaths = pulumi.all(Object.fromEntries(Object.entries(sifs).map(([service, s]) => [service, s.plan.apply((p) => p.remoteSif)])));
        this.readiness = job.readyReport.apply((r) => r ?? "");
        this.copyReports = pulumi.all(copyReports);
        this.registerOutputs({
            masEndpoint: this.masEndpoint,
            tunnelCommand: this.tunnelCommand,
            endpointFile: this.endpointFile,
            jobId: this.jobId,
            jobState: this.jobState,
            logPath: this.logPath,
            sifPaths: this.sifPaths,
            readiness: this.readiness,
            copyReports: this.copyReports,
        });
    }
}
