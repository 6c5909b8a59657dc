// The hpg stack: images -> docker-archive -> cluster storage -> Apptainer .sif,
// then the MAS service as a tracked SLURM job, checked for readiness from the login node.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SlurmJob } from "../../providers/slurm";
import type { SshConnection } from "../../providers/slurm/types";
import { shJoin } from "../../providers/slurm/quote";
import { SparcImages, type BuiltService, type ImagesConfig } from "../images";
import type { HpgConfig } from "./config";
import {
    copyArchiveCommand, readinessRemoteArgv, removeLocalArchiveCommand, removeRemoteCommand, saveArchiveCommand,
    serviceJobBody, sifBuildCommand, sifBuildScript, sifPlan, sshArgv, type OpenSshTarget, type SifPlan,
} from "./commands";

export interface HpgStackArgs {
    hpg: HpgConfig;
    images: ImagesConfig;
}

/** 16 hex characters naming an image's archive and .sif by its content identity. */
export function identityHash(identity: string): string {
    return crypto.createHash("sha256").update(identity).digest("hex").slice(0, 16);
}

export function openSshTarget(cfg: HpgConfig): OpenSshTarget {
    return {
        host: cfg.host,
        port: cfg.port,
        user: cfg.user,
        hostKey: cfg.hostKey,
        insecureIgnoreHostKey: cfg.insecureIgnoreHostKey,
        identityFile: cfg.identityFile,
        controlPath: cfg.controlPath,
        controlPersistSeconds: 600,
    };
}

/** The SlurmJob connection for the configured transport (secrets stay Outputs). */
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
        };
        if (cfg.transport === "openssh") {
            return { ...conn, identityFile: cfg.identityFile, controlPath: cfg.controlPath };
        }
        return {
            ...conn,
            ...(privateKey !== undefined ? { privateKey } : {}),
            ...(passphrase !== undefined ? { passphrase } : {}),
        };
    });
}

/** Where the service job writes "node port jobid" for other tools. */
export function endpointFileOf(cfg: HpgConfig): string {
    return `${cfg.workDir}/sparc_service.endpoint`;
}

function wantsGpus(cfg: HpgConfig): boolean {
    return cfg.gpusPerTask !== "" && cfg.gpusPerTask !== "0";
}

/** The service job's fields (everything but the connection and the command), from typed config. */
export function serviceJobSpec(cfg: HpgConfig) {
    return {
        jobName: cfg.jobName,
        partition: cfg.partition,
        ...(cfg.account !== "" ? { account: cfg.account } : {}),
        ...(cfg.qos !== "" ? { qos: cfg.qos } : {}),
        nodes: cfg.nodes,
        // The reference script's --gpus-per-task alone is refused by sbatch: it needs a task count.
        ntasks: cfg.ntasks,
        ...(wantsGpus(cfg) ? { gpusPerTask: cfg.gpusPerTask } : {}),
        cpusPerTask: cfg.cpusPerTask,
        mem: cfg.mem,
        time: cfg.time,
        output: cfg.output,
        workdir: cfg.workDir,
        waitFor: "running" as const,
        waitTimeoutSeconds: cfg.waitTimeoutSeconds,
        waitPollSeconds: 15,
        cancelSignal: "TERM",
        cancelGraceSeconds: 30,
        clusterChecks: cfg.clusterChecks,
    };
}

/** The service job's body for the MAS .sif. */
export function serviceJobCommand(cfg: HpgConfig, sif: string): string {
    return serviceJobBody({ modules: cfg.modules, sif, port: cfg.masPort, endpointFile: endpointFileOf(cfg), gpus: wantsGpus(cfg), appDir: cfg.masAppDir });
}

export class HpgStack extends pulumi.ComponentResource {
    declare readonly masEndpoint: pulumi.Output<string>;
    declare readonly jobId: pulumi.Output<string>;
    declare readonly jobState: pulumi.Output<string>;
    declare readonly logPath: pulumi.Output<string>;
    declare readonly sifPaths: pulumi.Output<Record<string, string>>;
    declare readonly readiness: pulumi.Output<string>;
    declare readonly copyReports: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: HpgStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:hpg:HpgStack", name, {}, opts);
        const cfg = args.hpg;
        const target = openSshTarget(cfg);
        const connection = slurmConnection(cfg);
        const images = new SparcImages(`${name}-images`, { config: args.images, services: cfg.services }, { parent: this });

        const sifs: Partial<Record<BuiltService, { plan: pulumi.Output<SifPlan>; built: pulumi.Resource }>> = {};
        const copyReports: Record<string, pulumi.Output<string>> = {};
        for (const service of cfg.services) {
            const ref = images.refs[service];
            const identity = images.identities[service];
            if (ref === undefined || identity === undefined) {
                throw new pulumi.ResourceError(`no image for ${service}`, this);
            }
            const plan = pulumi.all([ref, identity]).apply(([r, id]) =>
                sifPlan(service, r, identityHash(id), cfg.localArchiveDir, cfg.containerDir));
            // Named by the image's identity: an unchanged image is never saved, sent or built again.
            const archive = new command.local.Command(`${name}-${service}-archive`, {
                create: plan.apply((p) => saveArchiveCommand(cfg.localCli, p)),
                delete: plan.apply((p) => removeLocalArchiveCommand(p)),
                triggers: [plan.apply((p) => p.identity)],
                logging: "stderr",
                // Large output (an image save's progress) must not go into the env of the delete.
                addPreviousOutputInEnv: false,
            }, { parent: this, deleteBeforeReplace: true });
            const sha256 = archive.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
            const copy = new command.local.Command(`${name}-${service}-copy`, {
                create: pulumi.all([plan, sha256]).apply(([p, sum]) => copyArchiveCommand(target, p, sum)),
                delete: plan.apply((p) => removeRemoteCommand(target, [p.remoteTar, `${p.remoteTar}.part`])),
                triggers: [sha256],
            }, { parent: this, deleteBeforeReplace: true });
            copyReports[service] = copy.stdout;

            let built: pulumi.Resource;
            if (cfg.sifBuildOn === "slurm") {
                // Heavy work belongs on compute nodes: the build runs as a job and is waited for.
                built = new SlurmJob(`${name}-${service}-sif`, {
                    connection,
                    jobName: `sparc-sif-${service}`,
                    partition: cfg.partition,
                    ...(cfg.account !== "" ? { account: cfg.account } : {}),
                    ...(cfg.qos !== "" ? { qos: cfg.qos } : {}),
                    cpusPerTask: 4,
                    mem: "16gb",
                    time: "02:00:00",
                    output: `${cfg.workDir}/sif_build_${service}_%j.log`,
                    command: plan.apply((p) => sifBuildScript(p, cfg.modules)),
                    waitFor: "completed",
                    waitTimeoutSeconds: 7200,
                    waitPollSeconds: 15,
                    clusterChecks: cfg.clusterChecks,
                }, { parent: this, dependsOn: [copy] });
            } else {
                built = new command.local.Command(`${name}-${service}-sif`, {
                    create: plan.apply((p) => sifBuildCommand(target, p, cfg.modules)),
                    delete: plan.apply((p) => removeRemoteCommand(target, [p.remoteSif, `${p.remoteSif}.part`])),
                    triggers: [plan.apply((p) => p.remoteSif), copy.id],
                    logging: "stderr",
                    // apptainer build prints a lot; kept out of the env of the delete.
                    addPreviousOutputInEnv: false,
                }, { parent: this, dependsOn: [copy], deleteBeforeReplace: true });
            }
            sifs[service] = { plan, built };
        }

        const mas = sifs.mas;
        if (mas === undefined) {
            throw new pulumi.ResourceError("the MAS image is required (hpgServices must include \"mas\")", this);
        }
        const job = new SlurmJob(`${name}-service`, {
            connection,
            ...serviceJobSpec(cfg),
            command: mas.plan.apply((p) => serviceJobCommand(cfg, p.remoteSif)),
        }, { parent: this, dependsOn: [mas.built] });

        const readiness = new command.local.Command(`${name}-ready`, {
            create: pulumi.all([job.nodeList, job.stdoutPath]).apply(([node, log]) => shJoin(sshArgv(target, readinessRemoteArgv({
                node, port: cfg.masPort, timeoutSeconds: cfg.readinessTimeoutSeconds, logPath: log,
            })))),
            triggers: [job.jobId],
            // On a timeout it prints the job log's tail.
            addPreviousOutputInEnv: false,
        }, { parent: this, customTimeouts: { create: `${cfg.readinessTimeoutSeconds + 120}s` } });

        this.masEndpoint = pulumi.interpolate`http://${job.nodeList}:${cfg.masPort}`;
        this.jobId = job.jobId;
        this.jobState = job.state;
        this.logPath = job.stdoutPath;
        this.sifPaths = pulumi.all(Object.fromEntries(
            Object.entries(sifs).map(([service, s]) => [service, s.plan.apply((p) => p.remoteSif)]),
        ));
        this.readiness = readiness.stdout;
        this.copyReports = pulumi.all(copyReports);
        this.registerOutputs({
            masEndpoint: this.masEndpoint,
            jobId: this.jobId,
            jobState: this.jobState,
            logPath: this.logPath,
            sifPaths: this.sifPaths,
            readiness: this.readiness,
            copyReports: this.copyReports,
        });
    }
}
