// Typed loader for the dev stack's config keys (declared in Pulumi.yaml between the dev markers):
// the image keys (components/imagesConfig.ts) and the pod's. Read once; every problem is collected
// and reported together, each naming the key, the value and the fix (components/configCheck.ts).
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems } from "../configCheck";
import { imagesConfigDefaults, readImagesConfig, type ImagesConfig } from "../imagesConfig";

export { imageSources, unityPlayerPath, builtUnityImageName } from "../imagesConfig";
export type { ImageSource } from "../imagesConfig";

export interface PortRange {
    first: number;
    last: number;
}

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
    gpuDeviceArgs: string[];
    unityArgs: string[];
    readinessTimeoutSeconds: number;
    containerStopTimeoutSeconds: number;
}

/** The Pulumi.yaml defaults of the dev section (test/unit/config-defaults.test.ts checks they agree). */
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
    gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
    unityArgs: ["-logFile", "/dev/stdout", "-batchmode", "-force-vulkan"],
    readinessTimeoutSeconds: 120,
    containerStopTimeoutSeconds: 5,
} as const;

const podmanName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const imageRef = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

/**
 * Read and validate every dev-stack key. Paths are resolved against `baseDir` (the Pulumi program directory).
 * Throws one RunError listing all problems, so a preview fails before anything runs.
 */
export function loadDevConfig(config: pulumi.Config = new pulumi.Config(), baseDir: string = process.cwd()): DevConfig {
    const d = devConfigDefaults;
    const problems = new ConfigProblems(config);
    const images = readImagesConfig(problems, baseDir);

    const port = (key: string, fallback: number): number => {
        const value = problems.read(key, `pulumi config set ${key} <1-65535>`, fallback, () => config.getNumber(key, { min: 1, max: 65535 }));
        if (!Number.isInteger(value)) {
            problems.bad(key, value, "not a whole port number", `pulumi config set ${key} <1-65535>`);
        }
        return value;
    };
    const masPort = port("masPort", d.masPort);
    const signalingPort = port("signalingPort", d.signalingPort);
    const turnPort = port("turnPort", d.turnPort);
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
    const seconds = (key: string, fallback: number, max: number, min: number): number => {
        const value = problems.read(key, `pulumi config set ${key} <${min}-${max}>`, fallback, () => config.getNumber(key, { min, max }));
        if (!Number.isInteger(value)) {
            problems.bad(key, value, "must be a whole number of seconds", `pulumi config set ${key} <seconds>`);
        }
        return value;
    };
    const readinessTimeoutSeconds = seconds("readinessTimeoutSeconds", d.readinessTimeoutSeconds, 3600, 1);
    const containerStopTimeoutSeconds = seconds("containerStopTimeoutSeconds", d.containerStopTimeoutSeconds, 600, 0);

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
        rivaEnabled: problems.boolean("rivaEnabled", d.rivaEnabled),
        rivaImage: problems.read("rivaImage", `pulumi config set rivaImage <image reference, e.g. ${d.rivaImage}>`, d.rivaImage, () =>
            config.get("rivaImage", { pattern: imageRef }),
        ),
        gpuDeviceArgs: problems.stringList("gpuDeviceArgs", d.gpuDeviceArgs),
        unityArgs: problems.stringList("unityArgs", d.unityArgs),
        readinessTimeoutSeconds,
        containerStopTimeoutSeconds,
    };
    problems.throwIfAny("dev stack");
    return result;
}
