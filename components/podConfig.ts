// Typed loader for the pod's config keys (declared in Pulumi.yaml between the dev markers), read by the dev
// stack and, for the same pod on an instance, by the pubapps stack: the image keys (components/imagesConfig.ts)
// and the pod's. Read once; every problem is collected
// and reported together, each naming the key, the value and the fix (components/configCheck.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems, expandHome } from "./configCheck";
import { imagesConfigDefaults, readImagesConfig, type ImagesConfig } from "./imagesConfig";

export { imageSources, unityPlayerPath, builtUnityImageName } from "./imagesConfig";
export type { ImageSource } from "./imagesConfig";

export interface PortRange {
    first: number;
    last: number;
}

/** "embedded": the pod's own coturn (turn-server); "external": turnUrls with the shared turnSecret; "off": no TURN. */
export const turnModes = ["embedded", "external", "off"] as const;
export type TurnMode = (typeof turnModes)[number];

/** Unity's manual (com.unity.renderstreaming 3.1, command-line options): these make Render Streaming not work. */
export const refusedUnityFlags = ["-batchmode", "-nographics"] as const;
/** Flags the stack sets itself on the player (components/turn.ts, playerArgs). */
export const stackUnityFlags = [
    "-signalingType",
    "-signalingUrl",
    "-iceServerUrl",
    "-iceServerUsername",
    "-iceServerCredential",
    "-iceServerCredentialType",
    "-importJson",
] as const;

export interface DevConfig extends ImagesConfig {
    podName: string;
    /** Prepended to the reference container names (mas-server, ...); "" = exactly the reference names. */
    containerNamePrefix: string;
    masPort: number;
    signalingPort: number;
    turnPort: number;
    webrtcPortRange: PortRange;
    publicHost: string;
    rivaEnabled: boolean;
    rivaImage: string;
    /** Host directory mounted as Riva's /data (NVIDIA's riva_model_loc, prepared by riva_init.sh); absolute; "" when Riva is off. */
    rivaModelRepository: string;
    /** NGC API key (a secret), given to Riva as NGC_API_KEY through a podman secret; undefined = none. */
    rivaNgcApiKey: pulumi.Output<string> | undefined;
    /** Riva's command (replaces the image CMD); NVIDIA's riva_start.sh runs start-riva. */
    rivaCommand: string[];
    /** Riva's podman run options besides GPU, /data and the secret (riva_start.sh's --init and ulimits). */
    rivaRunArgs: string[];
    /** Host TCP port (on 127.0.0.1 only) published to Riva's gRPC 50051, for the readiness check and host clients. */
    rivaPort: number;
    rivaReadinessTimeoutSeconds: number;
    gpuDeviceArgs: string[];
    unityArgs: string[];
    readinessTimeoutSeconds: number;
    containerStopTimeoutSeconds: number;
    turnMode: TurnMode;
    /** The shared TURN REST secret (a pulumi secret); undefined = generated once per stack and kept encrypted in state. */
    turnSecret: pulumi.Output<string> | undefined;
    /** external: the TURN URLs browsers and the player use; [] otherwise. */
    turnUrls: string[];
    /** Host browsers reach the embedded relay at (its realm and external address); "" = publicHost. */
    turnHost: string;
    /** Lifetime of the credentials the signaling server hands each browser. */
    turnCredentialTtlSeconds: number;
}

/** The Pulumi.yaml defaults of the dev section (test/unit/components/config-defaults.test.ts checks they agree). */
export const devConfigDefaults = {
    ...imagesConfigDefaults,
    podName: "sparc-avatar",
    containerNamePrefix: "",
    masPort: 8000,
    signalingPort: 8080,
    turnPort: 3478,
    webrtcPortRange: "49152-49200",
    publicHost: "localhost",
    rivaEnabled: false,
    rivaImage: "nvcr.io/nvidia/riva/riva-speech:2.16.0-server",
    rivaModelRepository: "",
    rivaNgcApiKey: "",
    // riva_start.sh's server command (the quick start's config.sh picks the services); SPARC needs ASR and TTS.
    rivaCommand: ["start-riva", "--riva-uri=0.0.0.0:50051", "--asr_service=true", "--tts_service=true", "--nlp_service=false"],
    // riva_start.sh's other docker run options (rootless Podman may refuse memlock=-1: set [] there).
    rivaRunArgs: ["--init", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"],
    rivaPort: 50051,
    rivaReadinessTimeoutSeconds: 600,
    gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
    unityArgs: ["-logFile", "/dev/stdout", "-force-vulkan"],
    readinessTimeoutSeconds: 120,
    containerStopTimeoutSeconds: 5,
    turnMode: "embedded",
    turnSecret: "",
    turnUrls: [],
    turnHost: "",
    turnCredentialTtlSeconds: 3600,
} as const;

const podmanName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const imageRef = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

/** The SDK's record of which keys the engine passed as secrets (runtime/config isConfigSecret, marked @internal in its types). */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;

/**
 * Read and validate every dev-stack key. Paths are resolved against `baseDir` (the Pulumi program directory).
 * Throws one RunError listing all problems, so a preview fails before anything runs. `target` "pubapps"
 * (which reuses these keys for the same pod on an instance) leaves out what only the local pod uses:
 * Riva's model repository on this machine and its NGC key.
 */
export function loadDevConfig(
    config: pulumi.Config = new pulumi.Config(),
    baseDir: string = process.cwd(),
    target: "podman" | "pubapps" = "podman",
): DevConfig {
    const d = devConfigDefaults;
    const problems = new ConfigProblems(config);
    const images = readImagesConfig(problems, baseDir);

    const masPort = problems.port("masPort", d.masPort);
    const signalingPort = problems.port("signalingPort", d.signalingPort);
    const turnPort = problems.port("turnPort", d.turnPort);
    const rangeText = problems.read("webrtcPortRange", "pulumi config set webrtcPortRange 49152-49200", d.webrtcPortRange, () =>
        config.get("webrtcPortRange", { pattern: /^\d{1,5}-\d{1,5}$/ }),
    );
    const [first, last] = rangeText.split("-").map(Number);
    if (!(first >= 1 && last <= 65535 && first <= last)) {
        problems.bad("webrtcPortRange", rangeText, "needs FIRST-LAST with 1 <= FIRST <= LAST <= 65535", "pulumi config set webrtcPortRange 49152-49200");
    }
    if (masPort === signalingPort) {
        problems.bad("signalingPort", signalingPort, "is the same host port as masPort", "give MAS and signaling different host ports");
    }
    if (turnPort >= first && turnPort <= last) {
        problems.bad("turnPort", turnPort, `lies inside webrtcPortRange ${rangeText} (both UDP)`, "move turnPort outside the WebRTC range");
    }

    const podName = problems.read("podName", "use letters, digits, _ . - (starting with a letter or digit)", d.podName, () =>
        config.get("podName", { pattern: podmanName }),
    );
    const containerNamePrefix = problems.read("containerNamePrefix", 'use letters, digits, _ . - (or "")', d.containerNamePrefix, () =>
        config.get("containerNamePrefix", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/ }),
    );
    const readinessTimeoutSeconds = problems.seconds("readinessTimeoutSeconds", d.readinessTimeoutSeconds, { min: 1, max: 3600 });
    const unityArgs = problems.stringList("unityArgs", d.unityArgs);
    checkUnityArgs(problems, unityArgs);
    const turn = readTurn(problems, turnPort);
    const containerStopTimeoutSeconds = problems.seconds("containerStopTimeoutSeconds", d.containerStopTimeoutSeconds, { min: 0, max: 600 });
    const rivaEnabled = problems.boolean("rivaEnabled", d.rivaEnabled);
    const riva = readRiva(problems, baseDir, rivaEnabled && target === "podman", { masPort, signalingPort });

    const result: DevConfig = {
        ...images,
        podName,
        containerNamePrefix,
        masPort,
        signalingPort,
        turnPort,
        webrtcPortRange: { first, last },
        publicHost: problems.read("publicHost", "pulumi config set publicHost <host name or IP>", d.publicHost, () =>
            config.get("publicHost", { pattern: /^[a-zA-Z0-9.:[\]-]+$/ }),
        ),
        rivaEnabled,
        rivaImage: problems.read("rivaImage", `pulumi config set rivaImage <image reference, e.g. ${d.rivaImage}>`, d.rivaImage, () =>
            config.get("rivaImage", { pattern: imageRef }),
        ),
        ...riva,
        gpuDeviceArgs: problems.stringList("gpuDeviceArgs", d.gpuDeviceArgs),
        unityArgs,
        readinessTimeoutSeconds,
        containerStopTimeoutSeconds,
        ...turn,
    };
    problems.throwIfAny("dev stack");
    return result;
}

/** unityArgs may not hold what breaks Render Streaming, nor what the stack sets itself. */
function checkUnityArgs(problems: ConfigProblems, args: readonly string[]): void {
    const fix = (flag: string) =>
        `remove ${flag} from unityArgs (edit the list in Pulumi.<stack>.yaml); the default is ${JSON.stringify(devConfigDefaults.unityArgs)}`;
    for (const arg of args) {
        const flag = arg.toLowerCase();
        if (refusedUnityFlags.some((f) => f === flag)) {
            problems.bad(
                "unityArgs",
                args,
                `holds ${arg}: Unity's manual (Render Streaming, command-line options) says "-batchmode and -nographics options don't work with Unity Render Streaming" (the player streams no video)`,
                fix(arg),
            );
        } else if (stackUnityFlags.some((f) => f.toLowerCase() === flag)) {
            problems.bad(
                "unityArgs",
                args,
                `holds ${arg}, which is set by the stack from the pod's signaling server (ws://localhost:8080) and turnMode/turnUrls/turnSecret (-importJson with the ICE servers)`,
                fix(arg),
            );
        }
    }
}

const turnUrlPattern = /^turns?:[^\s,?]+(\?transport=(udp|tcp))?$/;

/** The TURN keys; external mode needs turnUrls and the external server's turnSecret. */
function readTurn(
    problems: ConfigProblems,
    turnPort: number,
): Pick<DevConfig, "turnMode" | "turnSecret" | "turnUrls" | "turnHost" | "turnCredentialTtlSeconds"> {
    const config = problems.config;
    const d = devConfigDefaults;
    const turnMode = problems.oneOf<TurnMode>("turnMode", turnModes, d.turnMode);
    const turnUrls = problems.stringList("turnUrls", d.turnUrls, `pulumi config set --path 'turnUrls[0]' turn:turn.example.org:3478?transport=udp`);
    const turnHost = problems.read("turnHost", 'pulumi config set turnHost <host name or IP> (or "" for publicHost)', d.turnHost, () =>
        config.get("turnHost", { pattern: /^$|^[a-zA-Z0-9.:[\]-]+$/ }),
    );
    const turnCredentialTtlSeconds = problems.seconds("turnCredentialTtlSeconds", d.turnCredentialTtlSeconds, { min: 60, max: 7 * 24 * 3600 });
    // Read plain only to check it; the value the stack uses is the secret Output.
    const secretText = config.get("turnSecret") ?? "";
    const secretFix = "pulumi config set --secret turnSecret <the TURN server's static-auth-secret>";
    const secretKey = problems.keyName("turnSecret");
    if (secretText !== "" && isConfigSecret !== undefined && !isConfigSecret(secretKey)) {
        problems.add(
            "turnSecret",
            `${secretKey} is stored in plaintext in the stack's config. Fix: pulumi config set --secret turnSecret (the value is then encrypted); if that file was shared or committed, choose a new secret`,
        );
    } else if (secretText !== "" && secretText.length < 16) {
        problems.add(
            "turnSecret",
            `${problems.keyName("turnSecret")} = [secret, ${secretText.length} characters]: is shorter than 16 characters. Fix: ${secretFix}`,
        );
    }
    if (turnMode === "external") {
        if (turnUrls.length === 0) {
            problems.unset(
                "turnUrls",
                "pulumi config set --path 'turnUrls[0]' turn:turn.example.org:3478?transport=udp (the external server's URLs, as browsers reach them)",
            );
        }
        if (secretText === "") {
            problems.unset("turnSecret", `${secretFix} (turnMode external: the external server's shared secret; it cannot be generated)`);
        }
    } else if (turnUrls.length > 0) {
        problems.bad(
            "turnUrls",
            turnUrls,
            `is only for turnMode external (turnMode is ${turnMode}; embedded uses turn:<turnHost>:${turnPort})`,
            'pulumi config set --path turnUrls "[]" (or set turnMode external)',
        );
    }
    for (const url of turnUrls) {
        if (!turnUrlPattern.test(url)) {
            problems.bad(
                "turnUrls",
                url,
                "is not a TURN URL (turn:HOST[:PORT][?transport=udp|tcp] or turns:...)",
                "pulumi config set --path 'turnUrls[0]' turn:turn.example.org:3478?transport=udp",
            );
        }
    }
    return {
        turnMode,
        turnSecret: secretText === "" ? undefined : config.requireSecret("turnSecret"),
        turnUrls,
        turnHost,
        turnCredentialTtlSeconds,
    };
}

type RivaConfig = Pick<DevConfig, "rivaModelRepository" | "rivaNgcApiKey" | "rivaCommand" | "rivaRunArgs" | "rivaPort" | "rivaReadinessTimeoutSeconds">;

/**
 * Riva's keys. Checked in full only when the local pod runs Riva (`local`): the model repository must be a
 * directory here (NVIDIA's quick start mounts its `riva_model_loc` as /data, and start-riva reads the
 * repository riva_init.sh deployed to /data/models), and the NGC key must be stored as a secret.
 */
function readRiva(problems: ConfigProblems, baseDir: string, local: boolean, read: { masPort: number; signalingPort: number }): RivaConfig {
    const d = devConfigDefaults;
    const rivaCommand = problems.stringList("rivaCommand", d.rivaCommand);
    const rivaRunArgs = problems.stringList("rivaRunArgs", d.rivaRunArgs);
    const rivaPort = problems.port("rivaPort", d.rivaPort);
    const rivaReadinessTimeoutSeconds = problems.seconds("rivaReadinessTimeoutSeconds", d.rivaReadinessTimeoutSeconds, { min: 1, max: 7200 });
    if (!local) {
        return { rivaModelRepository: "", rivaNgcApiKey: undefined, rivaCommand, rivaRunArgs, rivaPort, rivaReadinessTimeoutSeconds };
    }

    const repoFix = "pulumi config set rivaModelRepository <the directory NVIDIA's riva_init.sh filled: riva_model_loc in its config.sh>";
    const given = problems.required("rivaModelRepository", problems.text("rivaModelRepository"), repoFix);
    const rivaModelRepository = given === "" ? "" : path.resolve(baseDir, expandHome(given));
    if (given !== "") {
        const stat = fs.statSync(rivaModelRepository, { throwIfNoEntry: false });
        const models = path.join(rivaModelRepository, "models");
        if (stat === undefined) {
            problems.bad("rivaModelRepository", given, `no such directory (${rivaModelRepository})`, repoFix);
        } else if (!stat.isDirectory()) {
            problems.bad("rivaModelRepository", given, `is not a directory (${rivaModelRepository})`, repoFix);
        } else if (!rivaCommand.some((a) => a.startsWith("--model-repo")) && !fs.statSync(models, { throwIfNoEntry: false })?.isDirectory()) {
            problems.bad(
                "rivaModelRepository",
                given,
                `has no models/ directory (start-riva serves /data/models; riva_init.sh deploys the models there)`,
                `run NVIDIA's riva_init.sh with riva_model_loc=${rivaModelRepository}, or give the directory it filled`,
            );
        }
    }
    if (rivaCommand.length === 0) {
        problems.bad("rivaCommand", rivaCommand, "is empty", `pulumi config set --path 'rivaCommand[0]' start-riva (default ${JSON.stringify(d.rivaCommand)})`);
    }
    if (rivaPort === read.masPort || rivaPort === read.signalingPort) {
        problems.bad("rivaPort", rivaPort, "is the same host TCP port as masPort or signalingPort", "pulumi config set rivaPort <another free port>");
    }

    // Never shown in a message: only whether it is set and stored encrypted.
    const key = problems.keyName("rivaNgcApiKey");
    let rivaNgcApiKey: pulumi.Output<string> | undefined;
    if (problems.text("rivaNgcApiKey") !== undefined) {
        if (isConfigSecret !== undefined && !isConfigSecret(key)) {
            problems.add(
                "rivaNgcApiKey",
                `${key} is stored in plaintext in the stack's config. Fix: pulumi config set --secret rivaNgcApiKey (it prompts; the value is then encrypted); if that file was shared or committed, revoke the key at ngc.nvidia.com`,
            );
        }
        rivaNgcApiKey = problems.config.requireSecret("rivaNgcApiKey");
    }
    return { rivaModelRepository, rivaNgcApiKey, rivaCommand, rivaRunArgs, rivaPort, rivaReadinessTimeoutSeconds };
}
