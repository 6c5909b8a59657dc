// Typed loader for the hpg stack's config keys (declared in Pulumi.yaml between the hpg markers).
// Read once; every problem is collected and reported together, each naming the key, the value and the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { HIPERGATOR_GPU_OFFER, gpuRequestProblem, parseGpuRequest, parseSlurmMemory, parseSlurmTime } from "../../providers/slurm";
import { resolveSshHost } from "./sshConfig";
import { checkedReader } from "../configCheck";
import { DEFAULT_MFA_PROMPT_PATTERN, parsePinnedHostKey } from "../../providers/remote";

export const sifBuildPlaces = ["login", "slurm"] as const;
export const clusterCheckModes = ["up", "preview", "off"] as const;
export const sshTransports = ["ssh2", "openssh"] as const;

export interface HpgConfig {
    /** Login node as given (may be a ~/.ssh/config alias) and as resolved. */
    hostAlias: string;
    host: string;
    /** ProxyJump that ~/.ssh/config sets for hostAlias ("" = none): the tunnel command goes through it too. */
    proxyJump: string;
    port: number;
    user: string;
    hostKey: string;
    insecureIgnoreHostKey: boolean;
    /** Private key file ("" = ssh-agent). Its text is read for ssh2 and passed as a secret. */
    identityFile: string;
    privateKey: pulumi.Output<string> | undefined;
    passphrase: pulumi.Output<string> | undefined;
    /** Keyboard-interactive answers (Duo: "push" or "1"), from config or SPARC_HPG_MFA_ANSWERS. */
    mfaAnswers: pulumi.Output<string[]> | undefined;
    /** Which keyboard-interactive prompts get mfaAnswers (regex); "" = the built-in Duo/TOTP pattern. */
    mfaPromptPattern: string;
    transport: (typeof sshTransports)[number];
    controlPath: string;
    group: string;
    containerDir: string;
    /** Where the service runs and writes its endpoint file and logs. */
    workDir: string;
    localArchiveDir: string;
    localCli: string;
    sifBuildOn: (typeof sifBuildPlaces)[number];
    /** The .sif build job (sifBuildOn "slurm"): a CPU partition, no GPUs. */
    sifBuildPartition: string;
    sifBuildCpus: number;
    sifBuildMem: string;
    sifBuildTime: string;
    services: ("mas" | "signaling" | "unity")[];
    modules: string[];
    jobName: string;
    partition: string;
    account: string;
    qos: string;
    nodes: number;
    ntasks: number;
    gpusPerTask: string;
    /** --gpus for the whole job, e.g. "a100:4"; "" = not used. */
    gpus: string;
    cpusPerTask: number;
    mem: string;
    time: string;
    output: string;
    masPort: number;
    /** Directory inside the MAS image holding main.py (the Dockerfile's WORKDIR, which Apptainer ignores). */
    masAppDir: string;
    clusterChecks: (typeof clusterCheckModes)[number];
    readinessTimeoutSeconds: number;
    waitTimeoutSeconds: number;
    /** Rolling renewal: hours before the job's end at which an up starts its successor; 0 = off. */
    renewBeforeHours: number;
}

export const hpgConfigDefaults = {
    host: "hpg.rc.ufl.edu",
    // UF RC: key-based SSH goes to port 2222 (port 22 asks for the GatorLink password); Duo follows the key.
    port: 2222,
    transport: "openssh",
    controlPath: "~/.ssh/sparc-cm-%C",
    sifBuildOn: "slurm",
    sifBuildPartition: "hpg-default",
    sifBuildCpus: 4,
    sifBuildMem: "16gb",
    sifBuildTime: "02:00:00",
    services: ["mas"],
    modules: ["apptainer"],
    jobName: "sparc-production-service",
    partition: "hpg-ai",
    nodes: 1,
    ntasks: 1,
    gpusPerTask: "4",
    gpus: "",
    cpusPerTask: 32,
    mem: "256gb",
    time: "14-00:00:00",
    output: "sparc_service_%j.log",
    masPort: 8000,
    masAppDir: "/app",
    clusterChecks: "up",
    readinessTimeoutSeconds: 300,
    waitTimeoutSeconds: 1800,
    renewBeforeHours: 0,
    localCli: "podman",
} as const;

function nonZero(n: number | undefined): number | undefined {
    return n === 0 ? undefined : n;
}

function expandHome(p: string): string {
    return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/** Pulumi.yaml gives every key a default (a key without one is required even on the dev stack): "" means unset. */
function setting(config: pulumi.Config, key: string): string | undefined {
    const value = config.get(key);
    return value === "" ? undefined : value;
}

export function loadHpgConfig(config = new pulumi.Config(), env: NodeJS.ProcessEnv = process.env): HpgConfig {
    const problems: string[] = [];
    const checked = checkedReader(problems);
    const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T =>
        checked(`pulumi config set ${key} ${allowed.join("|")}`, fallback, () => config.get<T>(key, { allowedValues: [...allowed] }));
    const count = (key: string, fallback: number, min: number, max?: number): number =>
        checked(`pulumi config set ${key} <whole number >= ${min}${max === undefined ? "" : ` and <= ${max}`}>`, fallback,
            () => config.getNumber(key, max === undefined ? { min } : { min, max }));
    const need = (key: string, value: string | undefined, fix: string): string => {
        if (value === undefined || value === "") {
            problems.push(`${key} is not set: ${fix}`);
            return "";
        }
        return value;
    };
    const hostAlias = setting(config, "hpgHost") ?? hpgConfigDefaults.host;
    const resolved = resolveSshHost(hostAlias);
    const user = need("hpgUser", setting(config, "hpgUser") ?? resolved.user,
        "set your GatorLink user with `pulumi config set hpgUser <gatorlink>` (or User in ~/.ssh/config)");
    const group = need("hpgGroup", setting(config, "hpgGroup"),
        "set your HiPerGator group (the /blue/<group> directory) with `pulumi config set hpgGroup <group>`");
    const insecureIgnoreHostKey = config.getBoolean("hpgInsecureIgnoreHostKey") ?? false;
    const hostKey = setting(config, "hpgHostKey") ?? "";
    if (hostKey !== "" && parsePinnedHostKey(hostKey) === undefined) {
        problems.push(`hpgHostKey = ${JSON.stringify(hostKey.length > 60 ? `${hostKey.slice(0, 60)}...` : hostKey)} is not an OpenSSH public key: ` +
            `give a line of \`ssh-keyscan -p 2222 ${resolved.host}\` without the host name, e.g. "ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA..." or "ssh-rsa AAAA..."`);
    }
    if (hostKey === "" && !insecureIgnoreHostKey) {
        problems.push(`hpgHostKey is not set: run \`ssh-keyscan -p 2222 ${resolved.host}\`, compare the fingerprint ` +
            "(`ssh-keygen -lf`) with the one UF Research Computing publishes, then `pulumi config set hpgHostKey \"ssh-ed25519 AAAA...\"`");
    }
    const identityFile = expandHome(setting(config, "hpgIdentityFile") ?? resolved.identityFile ?? "");
    if (identityFile !== "" && !fs.existsSync(identityFile)) {
        problems.push(`hpgIdentityFile = ${JSON.stringify(identityFile)}: no such file; give the path of your private key, or "" to use ssh-agent`);
    }
    const transport = oneOf("hpgSshTransport", sshTransports, hpgConfigDefaults.transport);
    if (transport === "ssh2" && resolved.proxyJump !== undefined) {
        problems.push(`hpgSshTransport = "ssh2" but ~/.ssh/config sets ProxyJump ${resolved.proxyJump} for ${hostAlias}; use hpgSshTransport = "openssh", which honours it`);
    }
    const time = config.get("hpgTime") ?? hpgConfigDefaults.time;
    if (parseSlurmTime(time) === undefined) {
        problems.push(`hpgTime = ${JSON.stringify(time)} is not a Slurm time; use e.g. "14-00:00:00", "2-12:00:00" or "90" (minutes)`);
    }
    const mem = config.get("hpgMem") ?? hpgConfigDefaults.mem;
    if (parseSlurmMemory(mem) === undefined) {
        problems.push(`hpgMem = ${JSON.stringify(mem)} is not a Slurm memory size; use e.g. "256gb", "100G" or "4096M"`);
    }
    const containerDir = setting(config, "hpgContainerDir") ?? (user !== "" && group !== "" ? `/blue/${group}/${user}/sparc/containers` : "");
    if (containerDir !== "" && !containerDir.startsWith("/")) {
        problems.push(`hpgContainerDir = ${JSON.stringify(containerDir)} must be an absolute path on the cluster, e.g. /blue/<group>/<user>/sparc/containers`);
    }
    const services = config.getObject<string[]>("hpgServices") ?? [...hpgConfigDefaults.services];
    const badServices = services.filter((s) => !["mas", "signaling", "unity"].includes(s));
    if (badServices.length > 0 || !services.includes("mas")) {
        problems.push(`hpgServices = ${JSON.stringify(services)}: list the images to turn into .sif files, from "mas", "signaling", "unity"; "mas" is required (it is the service job)`);
    }
    const mfa = config.getSecretObject<string[]>("hpgMfaAnswers");
    const mfaPromptPattern = setting(config, "hpgMfaPromptPattern") ?? "";
    if (mfaPromptPattern !== "") {
        try {
            new RegExp(mfaPromptPattern, "i");
        } catch (err) {
            problems.push(`hpgMfaPromptPattern = ${JSON.stringify(mfaPromptPattern)} is not a valid regular expression (${(err as Error).message}); ` +
                `use e.g. "${DEFAULT_MFA_PROMPT_PATTERN}"`);
        }
        if (/pass(word|phrase)/i.test(mfaPromptPattern)) {
            problems.push(`hpgMfaPromptPattern = ${JSON.stringify(mfaPromptPattern)} mentions password/passphrase: password prompts are never answered ` +
                "with the second-factor answer; match the second factor's own prompt only (e.g. \"Passcode or option\")");
        }
    }
    const envAnswers = env.SPARC_HPG_MFA_ANSWERS;
    const port = count("hpgPort", 0, 0, 65535);
    const localCli = oneOf("hpgLocalCli", ["podman", "docker"] as const, hpgConfigDefaults.localCli);
    const sifBuildOn = oneOf("hpgSifBuildOn", sifBuildPlaces, hpgConfigDefaults.sifBuildOn);
    const clusterChecks = oneOf("hpgClusterChecks", clusterCheckModes, hpgConfigDefaults.clusterChecks);
    const nodes = count("hpgNodes", hpgConfigDefaults.nodes, 1);
    const ntasks = count("hpgNtasks", hpgConfigDefaults.ntasks, 1);
    const cpusPerTask = count("hpgCpusPerTask", hpgConfigDefaults.cpusPerTask, 1);
    const masPort = count("hpgMasPort", hpgConfigDefaults.masPort, 1, 65535);
    const readinessTimeoutSeconds = count("hpgReadinessTimeoutSeconds", hpgConfigDefaults.readinessTimeoutSeconds, 1);
    const waitTimeoutSeconds = count("hpgWaitTimeoutSeconds", hpgConfigDefaults.waitTimeoutSeconds, 1);
    const renewBeforeHours = checked("pulumi config set hpgRenewBeforeHours <hours, e.g. 48; 0 = off>", hpgConfigDefaults.renewBeforeHours,
        () => config.getNumber("hpgRenewBeforeHours", { min: 0 }));
    const limitSeconds = parseSlurmTime(time);
    if (renewBeforeHours > 0 && limitSeconds !== undefined && renewBeforeHours * 3600 >= limitSeconds) {
        problems.push(`hpgRenewBeforeHours = ${renewBeforeHours} is not less than hpgTime (${time}): every job would be due for renewal ` +
            "as soon as it starts; use fewer hours than the time limit (e.g. 48 for 14 days), or 0 to turn renewal off");
    }
    const sifBuildCpus = count("hpgSifBuildCpus", hpgConfigDefaults.sifBuildCpus, 1);
    const sifBuildMem = config.get("hpgSifBuildMem") ?? hpgConfigDefaults.sifBuildMem;
    if (parseSlurmMemory(sifBuildMem) === undefined) {
        problems.push(`hpgSifBuildMem = ${JSON.stringify(sifBuildMem)} is not a Slurm memory size; use e.g. "16gb"`);
    }
    const sifBuildTime = config.get("hpgSifBuildTime") ?? hpgConfigDefaults.sifBuildTime;
    if (parseSlurmTime(sifBuildTime) === undefined) {
        problems.push(`hpgSifBuildTime = ${JSON.stringify(sifBuildTime)} is not a Slurm time; use e.g. "02:00:00"`);
    }
    const sifBuildPartition = config.get("hpgSifBuildPartition") ?? hpgConfigDefaults.sifBuildPartition;
    if (sifBuildOn === "slurm" && (HIPERGATOR_GPU_OFFER[sifBuildPartition] ?? []).length > 0) {
        problems.push(`hpgSifBuildPartition = ${JSON.stringify(sifBuildPartition)} is a GPU partition, but the .sif build uses no GPU ` +
            "(UF RC cancels GPU-partition jobs that leave their GPUs idle); use a CPU partition such as hpg-default");
    }
    const partition = config.get("hpgPartition") ?? hpgConfigDefaults.partition;
    const gpusPerTask = config.get("hpgGpusPerTask") ?? hpgConfigDefaults.gpusPerTask;
    const gpus = config.get("hpgGpus") ?? hpgConfigDefaults.gpus;
    problems.push(...gpuConfigProblems(partition, { hpgGpusPerTask: gpusPerTask, hpgGpus: gpus }));
    if (problems.length > 0) {
        throw new Error(`invalid hpg stack configuration:\n  - ${problems.join("\n  - ")}`);
    }
    const keyText = identityFile !== "" ? fs.readFileSync(identityFile, "utf8") : undefined;
    return {
        hostAlias,
        host: resolved.host,
        proxyJump: resolved.proxyJump ?? "",
        // 0 (the Pulumi.yaml default) = the Port of ~/.ssh/config, else 22.
        port: nonZero(port) ?? resolved.port ?? hpgConfigDefaults.port,
        user,
        hostKey,
        insecureIgnoreHostKey,
        identityFile,
        privateKey: keyText === undefined ? undefined : pulumi.secret(keyText),
        passphrase: setting(config, "hpgKeyPassphrase") === undefined ? undefined : config.requireSecret("hpgKeyPassphrase"),
        // Read once, as a secret (Duo answers can be passcodes); an empty list falls back to the environment.
        mfaAnswers: mfa === undefined && (envAnswers ?? "") === "" ? undefined
            : pulumi.secret(pulumi.output(mfa ?? []).apply((a) => (a.length > 0 ? a : (envAnswers ?? "").split(",").filter((x) => x !== "")))),
        mfaPromptPattern,
        transport,
        controlPath: setting(config, "hpgControlPath") ?? hpgConfigDefaults.controlPath,
        group,
        containerDir,
        workDir: setting(config, "hpgWorkDir") ?? containerDir.replace(/\/containers$/, ""),
        localArchiveDir: expandHome(setting(config, "hpgLocalArchiveDir") ?? path.join(os.homedir(), ".cache", "sparc-deploy", "archives")),
        localCli,
        sifBuildOn,
        sifBuildPartition,
        sifBuildCpus,
        sifBuildMem,
        sifBuildTime,
        services: services as HpgConfig["services"],
        modules: config.getObject<string[]>("hpgModules") ?? [...hpgConfigDefaults.modules],
        jobName: config.get("hpgJobName") ?? hpgConfigDefaults.jobName,
        partition,
        account: setting(config, "hpgAccount") ?? group,
        qos: config.get("hpgQos") ?? "",
        nodes,
        ntasks,
        gpusPerTask,
        gpus,
        cpusPerTask,
        mem,
        time,
        output: config.get("hpgOutput") ?? hpgConfigDefaults.output,
        masPort,
        masAppDir: config.get("hpgMasAppDir") ?? hpgConfigDefaults.masAppDir,
        clusterChecks,
        readinessTimeoutSeconds,
        waitTimeoutSeconds,
        renewBeforeHours,
    };
}

/**
 * Typed GPU requests checked at preview: the form ("4" or "type:4"), one way of asking, and the type
 * against the partitions HiPerGator is known to have (others are checked against sinfo at up).
 */
export function gpuConfigProblems(partition: string, requests: { hpgGpusPerTask: string; hpgGpus: string }): string[] {
    const problems: string[] = [];
    const given = Object.entries(requests).filter(([, value]) => value !== "" && value !== "0");
    if (given.length > 1) {
        problems.push(`hpgGpusPerTask = ${JSON.stringify(requests.hpgGpusPerTask)} and hpgGpus = ${JSON.stringify(requests.hpgGpus)}: ` +
            "ask for GPUs one way; set the other to \"0\" (hpgGpusPerTask) or \"\" (hpgGpus)");
    }
    for (const [key, value] of given) {
        const request = parseGpuRequest(value, "gpus");
        if (request === undefined || request.count === 0) {
            problems.push(`${key} = ${JSON.stringify(value)} is not a GPU request; use a count or type:count, e.g. "4" or "a100:4" (HiPerGator asks for GPUs by type)`);
            continue;
        }
        const problem = gpuRequestProblem(HIPERGATOR_GPU_OFFER, partition, request);
        if (problem !== "") {
            problems.push(`${key} = ${JSON.stringify(value)} with hpgPartition = ${JSON.stringify(partition)}: ${problem}; change hpgPartition or ${key}`);
        }
    }
    return problems;
}
