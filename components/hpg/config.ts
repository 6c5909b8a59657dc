// Typed loader for the hpg stack's config keys (declared in Pulumi.yaml between the hpg markers).
// Read once; every problem is collected and reported together, each naming the key, the value and the fix
// (components/configCheck.ts); the job fields are also checked by the SlurmJob provider's own rules (./jobSpecs.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_CHECK_MODES, DEFAULT_MFA_PROMPT_PATTERN, parseSlurmMemory, parseSlurmTime } from "../../providers";
import { UF_KEY_SSH_PORT, resolveSshHost } from "../sshConfig";
import { ConfigProblems, expandHome } from "../configCheck";
import { gpuConfigProblems, hpgJobProblems } from "./jobSpecs";
import { HIPERGATOR_GPU_OFFER, HPG_CONTROL_PATH } from "./site";

export const sifBuildPlaces = ["login", "slurm"] as const;
/** The SlurmJob provider's own list (hpgClusterChecks is its clusterChecks). */
export const clusterCheckModes = CLUSTER_CHECK_MODES;
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
    /** Keyboard-interactive answers (Duo: "push" or "1"): SLURM_PROVIDER_MFA_ANSWERS (or SPARC_HPG_MFA_ANSWERS) if set, else hpgMfaAnswers. */
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
    /** Apptainer's layer cache on the cluster (APPTAINER_CACHEDIR): never $HOME (UF's home quota is 40 GB). */
    apptainerCacheDir: string;
    /** Apptainer's build temp dir (APPTAINER_TMPDIR); "" = the build job's local scratch ($TMPDIR in a job), else apptainerTmpFallback. */
    apptainerTmpDir: string;
    apptainerTmpFallback: string;
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
    /** Renewal on the cluster: hours before each job's end at which it submits its successor (the chain); 0 = off. */
    renewBeforeHours: number;
    /** Where Slurm mails the service job's END and FAIL (--mail-user); "" = no mail. */
    mailUser: string;
}

/** The Pulumi.yaml defaults of the hpg section (test/unit/components/config-defaults.test.ts checks they agree). */
export const hpgConfigDefaults = {
    hpgHost: "hpg.rc.ufl.edu",
    /** 0 = the Port of ~/.ssh/config, else hpgDefaultSshPort. */
    hpgPort: 0,
    hpgUser: "",
    hpgGroup: "",
    hpgHostKey: "",
    hpgInsecureIgnoreHostKey: false,
    hpgIdentityFile: "",
    hpgKeyPassphrase: "",
    hpgMfaAnswers: [],
    hpgMfaPromptPattern: "",
    hpgSshTransport: "openssh",
    hpgControlPath: HPG_CONTROL_PATH,
    hpgContainerDir: "",
    hpgWorkDir: "",
    hpgLocalArchiveDir: "",
    hpgLocalCli: "podman",
    hpgSifBuildOn: "slurm",
    hpgSifBuildPartition: "hpg-default",
    hpgSifBuildCpus: 4,
    hpgSifBuildMem: "16gb",
    hpgSifBuildTime: "02:00:00",
    /** "" = <hpgWorkDir>/apptainer-cache, on /blue. */
    hpgApptainerCacheDir: "",
    /** "" = the build job's local scratch ($TMPDIR), else <hpgWorkDir>/apptainer-tmp. */
    hpgApptainerTmpDir: "",
    hpgServices: ["mas"],
    hpgModules: ["apptainer"],
    hpgJobName: "sparc-production-service",
    hpgPartition: "hpg-ai",
    hpgAccount: "",
    hpgQos: "",
    hpgNodes: 1,
    hpgNtasks: 1,
    hpgGpusPerTask: "4",
    hpgGpus: "",
    hpgCpusPerTask: 32,
    hpgMem: "256gb",
    hpgTime: "14-00:00:00",
    hpgOutput: "sparc_service_%j.log",
    hpgMasPort: 8000,
    hpgMasAppDir: "/app",
    hpgClusterChecks: "up",
    hpgReadinessTimeoutSeconds: 300,
    hpgWaitTimeoutSeconds: 1800,
    hpgRenewBeforeHours: "0",
    hpgMailUser: "",
} as const;

/** UF RC's key-based port (components/sshConfig.ts). */
export const hpgDefaultSshPort = UF_KEY_SSH_PORT;

const builtServices = ["mas", "signaling", "unity"] as const;

/** local@domain.tld, nothing else (no display name, no list, no blanks or shell characters). */
export const MAIL_ADDRESS = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

function nonZero(n: number | undefined): number | undefined {
    return n === 0 ? undefined : n;
}

export function loadHpgConfig(config = new pulumi.Config(), env: NodeJS.ProcessEnv = process.env): HpgConfig {
    const d = hpgConfigDefaults;
    const problems = new ConfigProblems(config);
    const setting = (key: string) => problems.text(key);
    const hostAlias = setting("hpgHost") ?? d.hpgHost;
    const resolved = resolveSshHost(hostAlias);
    const user = problems.required(
        "hpgUser",
        setting("hpgUser") ?? resolved.user,
        "set your GatorLink user with `pulumi config set hpgUser <gatorlink>` (or User in ~/.ssh/config)",
    );
    const group = problems.required(
        "hpgGroup",
        setting("hpgGroup"),
        "set your HiPerGator group (the /blue/<group> directory) with `pulumi config set hpgGroup <group>`",
    );
    const insecureIgnoreHostKey = problems.boolean("hpgInsecureIgnoreHostKey", d.hpgInsecureIgnoreHostKey);
    const keyscan = `ssh-keyscan -p ${hpgDefaultSshPort} ${resolved.host}`;
    const hostKey = problems.hostKey("hpgHostKey", {
        insecure: insecureIgnoreHostKey,
        keyscan,
        unsetFix:
            `run \`${keyscan}\`, compare the fingerprint ` +
            '(`ssh-keygen -lf`) with the one UF Research Computing publishes, then `pulumi config set hpgHostKey "ssh-ed25519 AAAA..."`',
    });
    const identityFile = problems.identityFile("hpgIdentityFile", resolved.identityFile);
    const transport = problems.oneOf("hpgSshTransport", sshTransports, d.hpgSshTransport);
    if (transport === "ssh2" && resolved.proxyJump !== undefined) {
        problems.bad(
            "hpgSshTransport",
            transport,
            `~/.ssh/config sets ProxyJump ${resolved.proxyJump} for ${hostAlias}, which ssh2 cannot follow`,
            "pulumi config set hpgSshTransport openssh (it honours ProxyJump)",
        );
    }
    const time = config.get("hpgTime") ?? d.hpgTime;
    if (parseSlurmTime(time) === undefined) {
        problems.bad("hpgTime", time, "is not a Slurm time", 'use e.g. "14-00:00:00", "2-12:00:00" or "90" (minutes)');
    }
    const mem = config.get("hpgMem") ?? d.hpgMem;
    if (parseSlurmMemory(mem) === undefined) {
        problems.bad("hpgMem", mem, "is not a Slurm memory size", 'use e.g. "256gb", "100G" or "4096M"');
    }
    const containerDir = setting("hpgContainerDir") ?? (user !== "" && group !== "" ? `/blue/${group}/${user}/sparc/containers` : "");
    if (containerDir !== "" && !containerDir.startsWith("/")) {
        problems.bad("hpgContainerDir", containerDir, "must be an absolute path on the cluster", "e.g. /blue/<group>/<user>/sparc/containers");
    }
    const workDir = setting("hpgWorkDir") ?? containerDir.replace(/\/containers$/, "");
    for (const key of ["hpgApptainerCacheDir", "hpgApptainerTmpDir"]) {
        const dir = setting(key);
        if (dir !== undefined && !dir.startsWith("/")) {
            problems.bad(
                key,
                dir,
                "must be an absolute path on the cluster",
                `e.g. /blue/<group>/<user>/sparc/${key === "hpgApptainerTmpDir" ? "apptainer-tmp" : "apptainer-cache"} (not under $HOME: UF's home quota is 40 GB)`,
            );
        }
    }
    const servicesFix = `pulumi config set --path 'hpgServices[1]' signaling (or edit the stack YAML): a list from ${builtServices.map((s) => `"${s}"`).join(", ")}; "mas" is required (it is the service job)`;
    const services = problems.stringList("hpgServices", d.hpgServices, servicesFix);
    if (!problems.has("hpgServices") && (services.some((s) => !(builtServices as readonly string[]).includes(s)) || !services.includes("mas"))) {
        problems.bad("hpgServices", services, "lists the images to turn into .sif files", servicesFix);
    }
    const modules = problems.stringList("hpgModules", d.hpgModules);
    const mfaPromptPattern = setting("hpgMfaPromptPattern") ?? "";
    if (mfaPromptPattern !== "") {
        try {
            new RegExp(mfaPromptPattern, "i");
        } catch (err) {
            problems.bad(
                "hpgMfaPromptPattern",
                mfaPromptPattern,
                `is not a valid regular expression (${(err as Error).message})`,
                `use e.g. "${DEFAULT_MFA_PROMPT_PATTERN}"`,
            );
        }
        if (/pass(word|phrase)/i.test(mfaPromptPattern)) {
            problems.bad(
                "hpgMfaPromptPattern",
                mfaPromptPattern,
                "mentions password/passphrase: password prompts are never answered with the second-factor answer",
                'match the second factor\'s own prompt only (e.g. "Passcode or option")',
            );
        }
    }
    const mfaAnswers = problems.secondFactorAnswers("hpgMfaAnswers", env);
    const port = problems.port("hpgPort", d.hpgPort, { zeroMeans: `the Port of ~/.ssh/config, else ${hpgDefaultSshPort}` });
    const localCli = problems.oneOf("hpgLocalCli", ["podman", "docker"] as const, d.hpgLocalCli);
    const sifBuildOn = problems.oneOf("hpgSifBuildOn", sifBuildPlaces, d.hpgSifBuildOn);
    const clusterChecks = problems.oneOf("hpgClusterChecks", clusterCheckModes, d.hpgClusterChecks);
    const nodes = problems.count("hpgNodes", d.hpgNodes, 1);
    const ntasks = problems.count("hpgNtasks", d.hpgNtasks, 1);
    const cpusPerTask = problems.count("hpgCpusPerTask", d.hpgCpusPerTask, 1);
    const masPort = problems.port("hpgMasPort", d.hpgMasPort);
    const readinessTimeoutSeconds = problems.seconds("hpgReadinessTimeoutSeconds", d.hpgReadinessTimeoutSeconds, { min: 1 });
    const waitTimeoutSeconds = problems.seconds("hpgWaitTimeoutSeconds", d.hpgWaitTimeoutSeconds, { min: 1 });
    const renewBeforeHours = problems.read(
        "hpgRenewBeforeHours",
        "pulumi config set hpgRenewBeforeHours <hours, e.g. 48; 0 = off>",
        Number(d.hpgRenewBeforeHours),
        () => config.getNumber("hpgRenewBeforeHours", { min: 0 }),
    );
    const limitSeconds = parseSlurmTime(time);
    if (renewBeforeHours > 0 && limitSeconds !== undefined && renewBeforeHours * 3600 >= limitSeconds) {
        problems.bad(
            "hpgRenewBeforeHours",
            renewBeforeHours,
            `is not less than hpgTime (${time}): every job would be due for renewal as soon as it starts`,
            "use fewer hours than the time limit (e.g. 48 for 14 days), or 0 to turn renewal off",
        );
    }
    const mailUser = setting("hpgMailUser") ?? d.hpgMailUser;
    // One plain address: Slurm passes it to the site's mailer as is, so no lists, names or blanks.
    if (mailUser !== "" && !MAIL_ADDRESS.test(mailUser)) {
        problems.bad(
            "hpgMailUser",
            mailUser,
            "is not an email address",
            'give one address, e.g. "gatorlink@ufl.edu", or "" for no mail (`pulumi config set hpgMailUser gatorlink@ufl.edu`)',
        );
    }
    const sifBuildCpus = problems.count("hpgSifBuildCpus", d.hpgSifBuildCpus, 1);
    const sifBuildMem = config.get("hpgSifBuildMem") ?? d.hpgSifBuildMem;
    if (parseSlurmMemory(sifBuildMem) === undefined) {
        problems.bad("hpgSifBuildMem", sifBuildMem, "is not a Slurm memory size", 'use e.g. "16gb"');
    }
    const sifBuildTime = config.get("hpgSifBuildTime") ?? d.hpgSifBuildTime;
    if (parseSlurmTime(sifBuildTime) === undefined) {
        problems.bad("hpgSifBuildTime", sifBuildTime, "is not a Slurm time", 'use e.g. "02:00:00"');
    }
    const sifBuildPartition = config.get("hpgSifBuildPartition") ?? d.hpgSifBuildPartition;
    if (sifBuildOn === "slurm" && (HIPERGATOR_GPU_OFFER[sifBuildPartition] ?? []).length > 0) {
        problems.bad(
            "hpgSifBuildPartition",
            sifBuildPartition,
            "is a GPU partition, but the .sif build uses no GPU " + "(UF RC cancels GPU-partition jobs that leave their GPUs idle)",
            "use a CPU partition such as hpg-default",
        );
    }
    const partition = config.get("hpgPartition") ?? d.hpgPartition;
    const gpusPerTask = config.get("hpgGpusPerTask") ?? d.hpgGpusPerTask;
    const gpus = config.get("hpgGpus") ?? d.hpgGpus;
    for (const problem of gpuConfigProblems(partition, { hpgGpusPerTask: gpusPerTask, hpgGpus: gpus })) {
        problems.add(problem.key, `${problems.keyName(problem.key)} = ${problem.message}`);
    }
    const result: HpgConfig = {
        hostAlias,
        host: resolved.host,
        proxyJump: resolved.proxyJump ?? "",
        // 0 (the Pulumi.yaml default) = the Port of ~/.ssh/config, else UF's key-based port.
        port: nonZero(port) ?? resolved.port ?? hpgDefaultSshPort,
        user,
        hostKey,
        insecureIgnoreHostKey,
        identityFile,
        privateKey: undefined,
        passphrase: setting("hpgKeyPassphrase") === undefined ? undefined : config.requireSecret("hpgKeyPassphrase"),
        // Read once, as a secret (Duo answers can be passcodes); the environment wins (configCheck.ts secondFactorAnswers).
        mfaAnswers,
        mfaPromptPattern,
        transport,
        controlPath: setting("hpgControlPath") ?? d.hpgControlPath,
        group,
        containerDir,
        workDir,
        apptainerCacheDir: setting("hpgApptainerCacheDir") ?? `${workDir}/apptainer-cache`,
        apptainerTmpDir: setting("hpgApptainerTmpDir") ?? "",
        apptainerTmpFallback: `${workDir}/apptainer-tmp`,
        localArchiveDir: expandHome(setting("hpgLocalArchiveDir") ?? path.join(os.homedir(), ".cache", "sparc-deploy", "archives")),
        localCli,
        sifBuildOn,
        sifBuildPartition,
        sifBuildCpus,
        sifBuildMem,
        sifBuildTime,
        services: services as HpgConfig["services"],
        modules,
        jobName: config.get("hpgJobName") ?? d.hpgJobName,
        partition,
        account: setting("hpgAccount") ?? group,
        qos: config.get("hpgQos") ?? d.hpgQos,
        nodes,
        ntasks,
        gpusPerTask,
        gpus,
        cpusPerTask,
        mem,
        time,
        output: config.get("hpgOutput") ?? d.hpgOutput,
        masPort,
        masAppDir: config.get("hpgMasAppDir") ?? d.hpgMasAppDir,
        clusterChecks,
        readinessTimeoutSeconds,
        waitTimeoutSeconds,
        renewBeforeHours,
        mailUser,
    };
    // The SlurmJob provider's own rules on the jobs this config makes, under the config keys; a key
    // already reported above (e.g. hpgTime) is not reported twice.
    // An empty hpgWorkDir derived from an unset hpgUser/hpgGroup is theirs, reported above.
    const workDirFromUnset = setting("hpgWorkDir") === undefined && containerDir === "";
    for (const problem of hpgJobProblems(config.name, result)) {
        if (!problems.has(problem.key) && !(workDirFromUnset && problem.key === "hpgWorkDir")) {
            problems.add(problem.key, problem.message);
        }
    }
    problems.throwIfAny("hpg stack");
    const keyText = identityFile !== "" ? fs.readFileSync(identityFile, "utf8") : undefined;
    return { ...result, privateKey: keyText === undefined ? undefined : pulumi.secret(keyText) };
}
