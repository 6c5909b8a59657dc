// Typed loader for the dev stack's config keys (declared in Pulumi.yaml between the dev markers).
// Read once; every problem is collected and reported together, each naming the key, the value and the fix.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { checkedReader } from "../configCheck";

export const imageSources = ["build", "prebuilt"] as const;
export type ImageSource = (typeof imageSources)[number];

/** The stand-in / real Unity player, relative to unityBuildDir (the Dockerfile copies Build/LinuxServer/). */
export const unityPlayerPath = "Build/LinuxServer/SPARC-P.x86_64";
/** Name a built Unity image gets when unityImage is "" (Pulumi.yaml defaults every key, so "" means unset). */
export const builtUnityImageName = "sparc/unity-server:latest";

export interface PortRange {
    first: number;
    last: number;
}

export interface DevConfig {
    /** "build": build the images from source contexts; "prebuilt": run masImage/signalingImage/unityImage as given. */
    imageSource: ImageSource;
    /** Docker-API endpoint used to build images (Podman's socket). */
    dockerHost: string;
    /** Registry server to push built images to; "" = keep them local (skipPush). */
    registry: string;
    /** Absolute path of the MAS build context (main.py, requirements.txt). */
    masContext: string;
    /** Absolute path of the signaling build context (package.json, package-lock.json, server.js). */
    signalingContext: string;
    /** Absolute path of a directory holding Build/LinuxServer/SPARC-P.x86_64; "" = Unity server skipped. */
    unityBuildDir: string;
    /** Whether the Unity server runs: build = unityBuildDir set; prebuilt = unityImage not "". */
    unityEnabled: boolean;
    masImage: string;
    signalingImage: string;
    unityImage: string;
    /** Base images passed as build args (the Dockerfiles' ARG defaults; HPC sites mirror registries). */
    pythonBaseImage: string;
    nodeBaseImage: string;
    unityBaseImage: string;
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
    gpuDeviceArgs: string[];
    unityArgs: string[];
    readinessTimeoutSeconds: number;
    containerStopTimeoutSeconds: number;
}

export const devConfigDefaults = {
    imageSource: "build",
    dockerHost: "unix:///run/podman/podman.sock",
    registry: "",
    masContext: "samples/mas",
    signalingContext: "samples/signaling",
    unityBuildDir: "",
    masImage: "sparc/mas-server:latest",
    signalingImage: "sparc/signaling-server:latest",
    /** "" = Unity skipped when prebuilt; built images then use builtUnityImageName. */
    unityImage: "",
    pythonBaseImage: "python:3.11-slim",
    nodeBaseImage: "node:20-alpine",
    unityBaseImage: "nvidia/opengl:1.2-glvnd-runtime-ubuntu20.04",
    podName: "sparc-avatar",
    containerNamePrefix: "",
    masPort: 8000,
    signalingPort: 8080,
    turnPort: 3478,
    webrtcPortRange: "49152-49200",
    publicHost: "localhost",
    rivaEnabled: false,
    rivaImage: "nvcr.io/nvidia/riva/riva-speech:2.16.0-server",
    gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
    unityArgs: ["-logFile", "/dev/stdout", "-batchmode", "-force-vulkan"],
    readinessTimeoutSeconds: 120,
    containerStopTimeoutSeconds: 5,
} as const;

const podmanName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const imageRef = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

/** The project key prefix, for messages that tell the user which `pulumi config set` to run. */
function keyName(config: pulumi.Config, key: string): string {
    return `${config.name}:${key}`;
}

/**
 * Read and validate every dev-stack key. Paths are resolved against `baseDir` (the Pulumi program directory).
 * Throws one error listing all problems, so a preview fails before anything runs.
 */
export function loadDevConfig(config: pulumi.Config = new pulumi.Config(), baseDir: string = process.cwd()): DevConfig {
    const d = devConfigDefaults;
    const problems: string[] = [];
    const fix = (key: string, value: unknown, what: string, howToFix: string) =>
        problems.push(`${keyName(config, key)} = ${JSON.stringify(value)}: ${what}. Fix: ${howToFix}`);

    const checkedRead = checkedReader(problems);
    const checked = <T>(_key: string, howToFix: string, fallback: T, read: () => T | undefined): T => checkedRead(howToFix, fallback, read);
    const port = (key: string, fallback: number): number => {
        const value = checked(key, `pulumi config set ${key} <1-65535>`, fallback, () => config.getNumber(key, { min: 1, max: 65535 }));
        if (!Number.isInteger(value)) {
            fix(key, value, "not a whole port number", `pulumi config set ${key} <1-65535>`);
        }
        return value;
    };
    const stringList = (key: string, fallback: readonly string[]): string[] => {
        const value = checked<unknown>(key, `give a JSON list of strings, e.g. ${JSON.stringify(fallback)}`, [...fallback], () => config.getObject<unknown>(key));
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
            fix(key, value, "must be a list of strings", `pulumi config set --path '${key}[0]' <arg> (or edit the stack YAML)`);
            return [...fallback];
        }
        return value;
    };
    const image = (key: string, fallback: string): string =>
        checked(key, `pulumi config set ${key} <image reference, e.g. ${fallback}>`, fallback, () => config.get(key, { pattern: imageRef }));

    const imageSource = checked<ImageSource>("imageSource", "pulumi config set imageSource build (or prebuilt)", d.imageSource,
        () => config.get<ImageSource>("imageSource", { allowedValues: [...imageSources] }));
    const registry = checked("registry", "pulumi config set registry host[:port][/namespace] (or \"\" for local images)", d.registry,
        () => config.get("registry", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9._\-:/]*$/ }));
    const dockerHost = checked("dockerHost", "pulumi config set dockerHost unix:///run/podman/podman.sock", d.dockerHost,
        () => config.get("dockerHost", { pattern: /^(unix|tcp|ssh|npipe):\/\/.+/ }));

    const masPort = port("masPort", d.masPort);
    const signalingPort = port("signalingPort", d.signalingPort);
    const turnPort = port("turnPort", d.turnPort);
    const rangeText = checked("webrtcPortRange", "pulumi config set webrtcPortRange 49152-49200", d.webrtcPortRange,
        () => config.get("webrtcPortRange", { pattern: /^\d{1,5}-\d{1,5}$/ }));
    const [first, last] = rangeText.split("-").map(Number);
    if (!(first >= 1 && last <= 65535 && first <= last)) {
        fix("webrtcPortRange", rangeText, "needs FIRST-LAST with 1 <= FIRST <= LAST <= 65535", "pulumi config set webrtcPortRange 49152-49200");
    }
    if (masPort === signalingPort) {
        fix("signalingPort", signalingPort, "is the same host port as masPort", "give MAS and signaling different host ports");
    }
    if (turnPort >= first && turnPort <= last) {
        fix("turnPort", turnPort, `lies inside webrtcPortRange ${rangeText} (both UDP)`, "move turnPort outside the WebRTC range");
    }

    const resolveDir = (value: string) => (value === "" ? "" : path.resolve(baseDir, value));
    const masContext = resolveDir(checked("masContext", "point masContext at the MAS sources, e.g. samples/mas", d.masContext, () => config.get("masContext", { minLength: 1 })));
    const signalingContext = resolveDir(checked("signalingContext", "point signalingContext at the signaling sources, e.g. samples/signaling", d.signalingContext,
        () => config.get("signalingContext", { minLength: 1 })));
    const unityBuildDir = resolveDir(config.get("unityBuildDir") ?? d.unityBuildDir);

    const requireFiles = (key: string, dir: string, files: string[], howToFix: string) => {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
            fix(key, dir, "directory does not exist", howToFix);
            return;
        }
        const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
        if (missing.length > 0) {
            fix(key, dir, `missing ${missing.join(", ")}`, howToFix);
        }
    };
    if (imageSource === "build") {
        requireFiles("masContext", masContext, ["requirements.txt", "main.py"],
            "point masContext at the MAS sources (main.py with main:app, requirements.txt), e.g. samples/mas");
        requireFiles("signalingContext", signalingContext, ["package.json", "package-lock.json", "server.js"],
            "point signalingContext at the signaling sources (package.json, package-lock.json, server.js), e.g. samples/signaling");
        if (unityBuildDir !== "") {
            requireFiles("unityBuildDir", unityBuildDir, [unityPlayerPath],
                `point unityBuildDir at the Unity CI artifact directory that contains ${unityPlayerPath}, or set it to "" to skip the Unity server`);
        }
    }

    const unityImage = checked("unityImage", "pulumi config set unityImage <image reference> (or \"\")", d.unityImage,
        () => config.get("unityImage", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/ }));
    const podName = checked("podName", "use letters, digits, _ . - (starting with a letter or digit)", d.podName, () => config.get("podName", { pattern: podmanName }));
    const containerNamePrefix = checked("containerNamePrefix", "use letters, digits, _ . - (or \"\")", d.containerNamePrefix,
        () => config.get("containerNamePrefix", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/ }));
    const readinessTimeoutSeconds = checked("readinessTimeoutSeconds", "pulumi config set readinessTimeoutSeconds <1-3600>", d.readinessTimeoutSeconds,
        () => config.getNumber("readinessTimeoutSeconds", { min: 1, max: 3600 }));
    const containerStopTimeoutSeconds = checked("containerStopTimeoutSeconds", "pulumi config set containerStopTimeoutSeconds <0-600>", d.containerStopTimeoutSeconds,
        () => config.getNumber("containerStopTimeoutSeconds", { min: 0, max: 600 }));
    for (const [key, value] of [["readinessTimeoutSeconds", readinessTimeoutSeconds], ["containerStopTimeoutSeconds", containerStopTimeoutSeconds]] as const) {
        if (!Number.isInteger(value)) {
            fix(key, value, "must be a whole number of seconds", `pulumi config set ${key} <seconds>`);
        }
    }

    const result: DevConfig = {
        imageSource,
        dockerHost,
        registry,
        masContext,
        signalingContext,
        unityBuildDir,
        unityEnabled: imageSource === "build" ? unityBuildDir !== "" : unityImage !== "",
        masImage: image("masImage", d.masImage),
        signalingImage: image("signalingImage", d.signalingImage),
        unityImage: unityImage === "" && imageSource === "build" ? builtUnityImageName : unityImage,
        pythonBaseImage: image("pythonBaseImage", d.pythonBaseImage),
        nodeBaseImage: image("nodeBaseImage", d.nodeBaseImage),
        unityBaseImage: image("unityBaseImage", d.unityBaseImage),
        podName,
        containerNamePrefix,
        masPort,
        signalingPort,
        turnPort,
        webrtcPortRange: { first, last },
        publicHost: checked("publicHost", "pulumi config set publicHost <host name or IP>", d.publicHost, () => config.get("publicHost", { pattern: /^[a-zA-Z0-9.:[\]-]+$/ })),
        rivaEnabled: checked<boolean>("rivaEnabled", "pulumi config set rivaEnabled true|false", d.rivaEnabled, () => config.getBoolean("rivaEnabled")),
        rivaImage: image("rivaImage", d.rivaImage),
        gpuDeviceArgs: stringList("gpuDeviceArgs", d.gpuDeviceArgs),
        unityArgs: stringList("unityArgs", d.unityArgs),
        readinessTimeoutSeconds,
        containerStopTimeoutSeconds,
    };
    if (problems.length > 0) {
        throw new pulumi.RunError(`dev stack configuration has ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
    }
    return result;
}
