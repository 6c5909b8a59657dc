// Typed loader for the image keys of Pulumi.yaml (imageSource ... unityBaseImage), shared by every
// target that builds or takes the SPARC images: dev and pubapps (through the dev loader) and hpg.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems } from "./configCheck";

export const imageSources = ["build", "prebuilt"] as const;
export type ImageSource = (typeof imageSources)[number];

/** The stand-in / real Unity player, relative to unityBuildDir (the Dockerfile copies Build/LinuxServer/). */
export const unityPlayerPath = "Build/LinuxServer/SPARC-P.x86_64";
/** Name a built Unity image gets when unityImage is "" (Pulumi.yaml defaults every key, so "" means unset). */
export const builtUnityImageName = "sparc/unity-server:latest";
/** The Unity player stand-in (a WebRTC peer in Node), built when unityBuildDir is "": its context and image name. */
export const unityStandinContext = "samples/unity-player-standin";
export const unityStandinImageName = "sparc/unity-standin:latest";

/**
 * Which player runs as unity-server: "build" (the Unity build from unityBuildDir), "standin" (imageSource
 * build without unityBuildDir: the stand-in, so a default `up` streams without a GPU or a Unity build),
 * "prebuilt" (unityImage as given) or "none" (prebuilt without unityImage: nothing is built then, and
 * the stack has no stand-in reference to run).
 */
export type UnityPlayer = "build" | "standin" | "prebuilt" | "none";

export interface ImagesConfig {
    /** "build": build the images from source contexts; "prebuilt": run masImage/signalingImage/unityImage as given. */
    imageSource: ImageSource;
    /** Docker-API endpoint used to build images (Podman's socket). */
    dockerHost: string;
    /** Registry server to push built images to; "" = keep them local (skipPush). */
    registry: string;
    /** Platform images are built for and checked against before they are saved ("os/arch"); "" = the engine's own, unchecked. */
    imagePlatform: string;
    /** Absolute path of the MAS build context (main.py, requirements.txt). */
    masContext: string;
    /** Absolute path of the signaling build context (package.json, package-lock.json, server.js). */
    signalingContext: string;
    /** Absolute path of a directory holding Build/LinuxServer/SPARC-P.x86_64; "" = the stand-in player (build) runs. */
    unityBuildDir: string;
    /** Whether unity-server runs (unityPlayer is not "none"). */
    unityEnabled: boolean;
    unityPlayer: UnityPlayer;
    /** Absolute path of the stand-in player's build context (used when unityPlayer is "standin"). */
    unityStandinContext: string;
    masImage: string;
    signalingImage: string;
    unityImage: string;
    /** The TURN relay's image (turn-server; built from dockerfiles/turn, or a prebuilt reference). */
    turnImage: string;
    /** Base images passed as build args (the Dockerfiles' ARG defaults; HPC sites mirror registries). */
    pythonBaseImage: string;
    nodeBaseImage: string;
    unityBaseImage: string;
    turnBaseImage: string;
}

/** The Pulumi.yaml defaults of the image keys (test/unit/components/config-defaults.test.ts checks they agree). */
export const imagesConfigDefaults = {
    imageSource: "build",
    dockerHost: "unix:///run/podman/podman.sock",
    registry: "",
    /** HiPerGator and PubApps run x86-64: an image built on an Apple-silicon Mac would be arm64 ("exec format error"). */
    imagePlatform: "linux/amd64",
    masContext: "samples/mas",
    signalingContext: "samples/signaling",
    unityBuildDir: "",
    masImage: "sparc/mas-server:latest",
    signalingImage: "sparc/signaling-server:latest",
    /** "" = Unity skipped when prebuilt; built images then use builtUnityImageName (the stand-in: unityStandinImageName). */
    unityImage: "",
    turnImage: "sparc/turn-server:latest",
    pythonBaseImage: "python:3.11-slim",
    nodeBaseImage: "node:20-alpine",
    unityBaseImage: "nvidia/opengl:1.2-glvnd-runtime-ubuntu20.04",
    turnBaseImage: "debian:bookworm-slim",
} as const;

const imageRef = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

/**
 * Read and validate the image keys into `problems` (the caller throws them with its own). Paths are
 * resolved against `baseDir` (the Pulumi program directory).
 */
export function readImagesConfig(problems: ConfigProblems, baseDir: string): ImagesConfig {
    const config = problems.config;
    const d = imagesConfigDefaults;
    const image = (key: string, fallback: string): string =>
        problems.read(key, `pulumi config set ${key} <image reference, e.g. ${fallback}>`, fallback, () => config.get(key, { pattern: imageRef }));

    const imageSource = problems.read<ImageSource>("imageSource", "pulumi config set imageSource build (or prebuilt)", d.imageSource, () =>
        config.get<ImageSource>("imageSource", { allowedValues: [...imageSources] }),
    );
    const registry = problems.read("registry", 'pulumi config set registry host[:port][/namespace] (or "" for local images)', d.registry, () =>
        config.get("registry", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9._\-:/]*$/ }),
    );
    const imagePlatform = problems.read(
        "imagePlatform",
        'pulumi config set imagePlatform linux/amd64 (os/arch as in `podman build --platform`; "" = the build engine\'s own)',
        d.imagePlatform,
        () => config.get("imagePlatform", { pattern: /^$|^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/ }),
    );
    const dockerHost = problems.read("dockerHost", "pulumi config set dockerHost unix:///run/podman/podman.sock", d.dockerHost, () =>
        config.get("dockerHost", { pattern: /^(unix|tcp|ssh|npipe):\/\/.+/ }),
    );

    const resolveDir = (value: string) => (value === "" ? "" : path.resolve(baseDir, value));
    const masContext = resolveDir(
        problems.read("masContext", "point masContext at the MAS sources, e.g. samples/mas", d.masContext, () => config.get("masContext", { minLength: 1 })),
    );
    const signalingContext = resolveDir(
        problems.read("signalingContext", "point signalingContext at the signaling sources, e.g. samples/signaling", d.signalingContext, () =>
            config.get("signalingContext", { minLength: 1 }),
        ),
    );
    const unityBuildDir = resolveDir(config.get("unityBuildDir") ?? d.unityBuildDir);

    const requireFiles = (key: string, dir: string, files: string[], howToFix: string) => {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
            problems.bad(key, dir, "directory does not exist", howToFix);
            return;
        }
        const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
        if (missing.length > 0) {
            problems.bad(key, dir, `missing ${missing.join(", ")}`, howToFix);
        }
    };
    if (imageSource === "build") {
        requireFiles(
            "masContext",
            masContext,
            ["requirements.txt", "main.py"],
            "point masContext at the MAS sources (main.py with main:app, requirements.txt), e.g. samples/mas",
        );
        requireFiles(
            "signalingContext",
            signalingContext,
            ["package.json", "package-lock.json", "server.js"],
            "point signalingContext at the signaling sources (package.json, package-lock.json, server.js), e.g. samples/signaling",
        );
        if (unityBuildDir !== "") {
            requireFiles(
                "unityBuildDir",
                unityBuildDir,
                [unityPlayerPath],
                `point unityBuildDir at the Unity CI artifact directory that contains ${unityPlayerPath}, or set it to "" to run the stand-in player (${unityStandinContext})`,
            );
        }
    }
    const unityImage = problems.read("unityImage", 'pulumi config set unityImage <image reference> (or "")', d.unityImage, () =>
        config.get("unityImage", { pattern: /^$|^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/ }),
    );
    const unityPlayer: UnityPlayer = imageSource === "build" ? (unityBuildDir !== "" ? "build" : "standin") : unityImage !== "" ? "prebuilt" : "none";
    return {
        imageSource,
        dockerHost,
        registry,
        imagePlatform,
        masContext,
        signalingContext,
        unityBuildDir,
        unityEnabled: unityPlayer !== "none",
        unityPlayer,
        unityStandinContext: path.resolve(baseDir, unityStandinContext),
        masImage: image("masImage", d.masImage),
        signalingImage: image("signalingImage", d.signalingImage),
        unityImage:
            // Built: the name given, else the Unity build's or the stand-in's default name.
            imageSource === "build" && unityImage === "" ? (unityPlayer === "standin" ? unityStandinImageName : builtUnityImageName) : unityImage,
        turnImage: image("turnImage", d.turnImage),
        pythonBaseImage: image("pythonBaseImage", d.pythonBaseImage),
        nodeBaseImage: image("nodeBaseImage", d.nodeBaseImage),
        unityBaseImage: image("unityBaseImage", d.unityBaseImage),
        turnBaseImage: image("turnBaseImage", d.turnBaseImage),
    };
}

/** The image keys alone (the hpg target: it needs no pod, ports or Riva keys). Throws every problem at once. */
export function loadImagesConfig(config: pulumi.Config = new pulumi.Config(), baseDir: string = process.cwd()): ImagesConfig {
    const problems = new ConfigProblems(config);
    const images = readImagesConfig(problems, baseDir);
    problems.throwIfAny("image");
    return images;
}
