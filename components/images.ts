// The SPARC images, built from source through a Docker-API socket (Podman's) or
// taken prebuilt. Every target uses it: dev and pubapps run them in a pod, hpg turns them into .sif files.
// Their config (the image keys) is read by components/imagesConfig.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { shJoin } from "../providers";
import type { ImagesConfig } from "./imagesConfig";
import { projectRoot } from "./projectRoot";

export type { ImagesConfig } from "./imagesConfig";

export type BuiltService = "mas" | "signaling" | "unity" | "turn";

/** Removes one built image by id through the Docker API (plain JS, Node builtins only). */
export const removeImageScript = path.join(projectRoot, "scripts", "podman", "remove-image.js");
export const dockerfiles: Record<BuiltService, string> = {
    mas: path.join(projectRoot, "dockerfiles", "Dockerfile.mas"),
    signaling: path.join(projectRoot, "dockerfiles", "Dockerfile.signaling"),
    unity: path.join(projectRoot, "dockerfiles", "Dockerfile.unity-server"),
    turn: path.join(projectRoot, "dockerfiles", "Dockerfile.turn"),
};
/** The Unity player stand-in's Dockerfile (context samples/unity-player-standin), built as unity-server when unityBuildDir is "". */
export const unityStandinDockerfile = path.join(projectRoot, "dockerfiles", "Dockerfile.unity-standin");
/** The TURN image's build context: the entrypoint only. */
export const turnContext = path.join(projectRoot, "dockerfiles", "turn");

export interface SparcImagesArgs {
    config: ImagesConfig;
    /** Which images exist: a plain list, decided before any resource is made. */
    services: readonly BuiltService[];
    /** Resources that must finish before a build starts (e.g. a preflight check). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Build from the stack's own copy of each Dockerfile (stackDockerfile), so that the stack's image ids are its
     * own even when every layer is cached. For a target that runs containers from its local images (the dev pod):
     * there another stack's destroy would otherwise remove, or fail on, an image this stack runs. hpg and pubapps
     * only save their local images to a tar; giving them the label would rebuild each existing stack's images once
     * on upgrade, and for hpg resubmit the running service job (its .sif is named by the image id).
     */
    ownImageIds?: boolean;
}

/**
 * Why a build context's `COPY . ` would be rebuilt at every build, or undefined. @pulumi/docker sends a Dockerfile
 * from outside the context as a randomly named file, and appends that name to the context's .dockerignore; a
 * .dockerignore that does not exclude itself is then copied with new content each time (a missed layer cache,
 * about 1 s per image here). Without a .dockerignore the provider writes one that excludes itself.
 */
export function ignoreFileProblem(configKey: string, context: string): string | undefined {
    // configKey: the config key that sets the context (masContext, ...), or what the context is for a fixed one.
    let text: string;
    try {
        text = fs.readFileSync(path.join(context, ".dockerignore"), "utf8");
    } catch {
        return undefined;
    }
    const patterns = text.split("\n").map((l) => l.trim());
    if (patterns.some((p) => p === ".dockerignore" || p === "/.dockerignore" || p === "*.dockerignore" || p === "*")) {
        return undefined;
    }
    return (
        `${configKey}=${context}: its .dockerignore does not exclude itself, so a \`COPY . \` in the Dockerfile is rebuilt at every ` +
        `build (@pulumi/docker appends a random name to that file each time). Fix: add the line .dockerignore to ${path.join(context, ".dockerignore")}`
    );
}

/** Local images get Podman's "localhost/" prefix so that no registry is searched; pushed ones the registry's. */
export function builtImageName(registry: string, image: string): string {
    return registry === "" ? `localhost/${image}` : `${registry}/${image}`;
}

/** Where the stack's copies of the Dockerfiles are written (stackDockerfile); ignored by git. */
export const stackDockerfileDir = path.join(projectRoot, ".sparc", "dockerfiles");

/**
 * The Dockerfile a stack builds from: `dockerfile` plus one LABEL naming the stack (`owner`: project/stack),
 * written under stackDockerfileDir when its text changed. With the layer cache warm (the contexts' ignore files
 * exclude themselves), two stacks building the same sources would otherwise get the same image id, and one
 * stack's destroy would then remove, or fail on, the image the other runs. The label is a metadata step at
 * the end: every layer before it stays shared and cached. A literal, not a build arg: Podman 4.3 reuses a
 * LABEL step across build-arg values.
 */
export function stackDockerfile(dockerfile: string, owner: string): string {
    const text = `${fs.readFileSync(dockerfile, "utf8").replace(/\n*$/, "\n")}\n# Added by sparc-deploy: this stack's own image id (components/images.ts, stackDockerfile).\nLABEL org.sparc-deploy.stack=${JSON.stringify(owner)}\n`;
    const out = path.join(stackDockerfileDir, ...owner.split("/").map((part) => part.replace(/[^A-Za-z0-9._-]/g, "_")), path.basename(dockerfile));
    let current: string | undefined;
    try {
        current = fs.readFileSync(out, "utf8");
    } catch {
        current = undefined;
    }
    if (current !== text) {
        fs.mkdirSync(path.dirname(out), { recursive: true });
        // Written beside, then renamed: a concurrent run of another stack never reads half a file.
        const tmp = `${out}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, out);
    }
    return out;
}

export class SparcImages extends pulumi.ComponentResource {
    /** Reference to run, per service: the image name as built and tagged, or the prebuilt reference. */
    declare readonly refs: Partial<Record<BuiltService, pulumi.Output<string>>>;
    /**
     * What identifies the image's content, per service: the local image id (or pushed digest)
     * of a built image, the reference itself for a prebuilt one (use digests or immutable tags).
     */
    declare readonly identities: Partial<Record<BuiltService, pulumi.Output<string>>>;

    constructor(name: string, args: SparcImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:images:SparcImages", name, {}, opts);
        const cfg = args.config;
        const refs: Partial<Record<BuiltService, pulumi.Output<string>>> = {};
        const identities: Partial<Record<BuiltService, pulumi.Output<string>>> = {};
        if (cfg.imageSource === "prebuilt") {
            const prebuilt: Record<BuiltService, string> = { mas: cfg.masImage, signaling: cfg.signalingImage, unity: cfg.unityImage, turn: cfg.turnImage };
            for (const service of args.services) {
                refs[service] = pulumi.output(prebuilt[service]);
                identities[service] = pulumi.output(prebuilt[service]);
            }
        } else {
            const provider = new docker.Provider(`${name}-docker`, { host: cfg.dockerHost }, { parent: this });
            // contextKey: the config key of the context, named in a hint about its .dockerignore (ignoreFileProblem).
            type Build = { image: string; context: string; contextKey: string; dockerfile: string; args: Record<string, string> };
            const builds: Record<BuiltService, Build> = {
                mas: {
                    image: cfg.masImage,
                    context: cfg.masContext,
                    contextKey: "masContext",
                    dockerfile: dockerfiles.mas,
                    args: { PYTHON_IMAGE: cfg.pythonBaseImage },
                },
                signaling: {
                    image: cfg.signalingImage,
                    context: cfg.signalingContext,
                    contextKey: "signalingContext",
                    dockerfile: dockerfiles.signaling,
                    args: { NODE_IMAGE: cfg.nodeBaseImage },
                },
                unity:
                    cfg.unityPlayer === "standin"
                        ? {
                              image: cfg.unityImage,
                              context: cfg.unityStandinContext,
                              contextKey: "the stand-in player's context",
                              dockerfile: unityStandinDockerfile,
                              args: {},
                          }
                        : {
                              image: cfg.unityImage,
                              context: cfg.unityBuildDir,
                              contextKey: "unityBuildDir",
                              dockerfile: dockerfiles.unity,
                              args: { UNITY_BASE_IMAGE: cfg.unityBaseImage },
                          },
                turn: {
                    image: cfg.turnImage,
                    context: turnContext,
                    contextKey: "the TURN image's context",
                    dockerfile: dockerfiles.turn,
                    args: { DEBIAN_IMAGE: cfg.turnBaseImage },
                },
            };
            const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;
            for (const service of args.services) {
                const b = builds[service];
                const slowCopy = ignoreFileProblem(b.contextKey, b.context);
                if (slowCopy !== undefined) {
                    pulumi.log.info(slowCopy, this);
                }
                const image = new docker.Image(
                    `${name}-${service}`,
                    {
                        imageName: builtImageName(cfg.registry, b.image),
                        build: {
                            context: b.context,
                            dockerfile: args.ownImageIds === true ? stackDockerfile(b.dockerfile, owner) : b.dockerfile,
                            // Podman's Docker API has no BuildKit session endpoint.
                            builderVersion: "BuilderV1",
                            args: b.args,
                            // HiPerGator and PubApps are x86-64: pinned, so a Mac on Apple silicon builds amd64 too.
                            ...(cfg.imagePlatform !== "" ? { platform: cfg.imagePlatform } : {}),
                        },
                        skipPush: cfg.registry === "",
                        ...(cfg.registry === "" ? {} : { registry: { server: cfg.registry } }),
                    },
                    { parent: this, provider, dependsOn: args.dependsOn ?? [] },
                );
                // Without a push this is the local image id, so a rebuild changes it even under the same tag.
                let ref: pulumi.Output<string> = image.repoDigest;
                if (cfg.registry === "") {
                    // docker.Image's delete is a no-op: this command removes the image it built on
                    // destroy, and the previous one when a rebuild replaces it. Users of the image
                    // depend on it (ref goes through its output), so their containers go first.
                    const owned = new command.local.Command(
                        `${name}-${service}-owned`,
                        {
                            create: image.repoDigest.apply((id) => shJoin(["echo", id])),
                            delete: image.repoDigest.apply((id) =>
                                shJoin([process.execPath, removeImageScript, "--docker-host", cfg.dockerHost, "--image", id]),
                            ),
                            triggers: [image.repoDigest],
                        },
                        { parent: this },
                    );
                    ref = pulumi.all([owned.stdout, image.repoDigest]).apply(([, id]) => id);
                }
                refs[service] = ref;
                identities[service] = ref;
            }
        }
        this.refs = refs;
        this.identities = identities;
        this.registerOutputs({ refs, identities });
    }
}
