// `pulumi up --stack dev` of the project's own program under the real engine, on real Podman,
// with the real @pulumi/docker 5.2.0 and @pulumi/command 1.2.1 plugins (scripts/pulumi-engine/build.sh).
// 1. The default `imageSource: build`: docker.Image builds through Podman's Docker-API socket with
//    BuilderV1; preview, up to ready, a second up with no change and no rebuild, an edit to the MAS
//    source rebuilds that image only and replaces only its container (and the readiness check),
//    an unrelated config key touches nothing, destroy leaves no pod, container or image it built.
// 2. `imageSource: prebuilt`: images built here with `podman build`; preview, up, no-op up, destroy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireEngine, resourcesOfType, shouldSkipEngineTests, TestStack } from "../support/engine";

const root = path.resolve(__dirname, "../..");

const podmanUsable = spawnSync("podman", ["info"], { stdio: "ignore" }).status === 0;
if (!podmanUsable && process.env.CI === "true") {
    throw new Error("Podman is not usable: run `bash scripts/podman/setup.sh` (.ci/run does it)");
}
const skip = shouldSkipEngineTests() || !podmanUsable;

function podman(args: string[]): string {
    return execFileSync("podman", args, { encoding: "utf8" });
}

function leftovers(pod: string, prefix: string): string {
    const pods = podman(["pod", "ls", "--format", "{{.Name}}"])
        .split("\n")
        .filter((n) => n === pod);
    const containers = podman(["ps", "-a", "--format", "{{.Names}}"])
        .split("\n")
        .filter((n) => n.startsWith(prefix));
    return [...pods, ...containers].join(" ");
}

/** Every image id in the store, intermediate ones included. */
function allImageIds(): Set<string> {
    return new Set(
        podman(["images", "--all", "--quiet", "--no-trunc"])
            .split("\n")
            .filter((l) => l !== ""),
    );
}

/** The layer (diff) ids of each image, in one podman call. */
function layersOf(ids: readonly string[]): string[] {
    if (ids.length === 0) {
        return [];
    }
    const r = spawnSync("podman", ["image", "inspect", "--format", "{{json .RootFS.Layers}}", ...ids], { encoding: "utf8" });
    // An image removed between the listing and the inspect is simply skipped.
    return r.stdout
        .split("\n")
        .filter((l) => l.startsWith("["))
        .flatMap((l) => JSON.parse(l) as string[]);
}

/** The id a local tag points at, or "" when it does not exist. */
function imageId(ref: string): string {
    const r = spawnSync("podman", ["image", "inspect", "--format", "{{.Id}}", ref], { encoding: "utf8" });
    return r.status === 0 ? `sha256:${r.stdout.trim().replace(/^sha256:/, "")}` : "";
}

/** Build working containers (Podman "storage" state, @pulumi/docker builds with rm=0) whose image is this one. */
function buildContainersOn(image: string): string[] {
    return podman(["ps", "--all", "--external", "--no-trunc", "--format", "{{.ID}} {{.ImageID}}"])
        .split("\n")
        .filter((l) => l.endsWith(image.replace(/^sha256:/, "")))
        .map((l) => l.split(" ")[0]);
}

async function health(port: number): Promise<unknown> {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) })).json();
}

function vendorSamples(): void {
    execFileSync(
        "bash",
        [
            path.join(root, "scripts/podman/vendor-deps.sh"),
            "--mas",
            path.join(root, "samples/mas"),
            "--signaling",
            path.join(root, "samples/signaling"),
            "--player",
            path.join(root, "samples/unity-player-standin"),
        ],
        { stdio: "ignore" },
    );
}

/** Only the ops that change something, per resource (drops "same"; sorted: replacement steps come in either order). */
function changed(steps: Record<string, string[]>): Record<string, string[]> {
    return Object.fromEntries(
        Object.entries(steps)
            .map(([name, ops]) => [name, ops.filter((op) => op !== "same").sort()] as const)
            .filter(([, ops]) => ops.length > 0),
    );
}

describe.skipIf(skip)("pulumi up --stack dev, imageSource build (real docker.Image through Podman's Docker API)", () => {
    const POD = "sparc-e2e-build";
    const PREFIX = "e2eb-";
    const MAS_PORT = 18110;
    const SIGNALING_PORT = 18190;
    const images = { mas: "localhost/sparc-e2e-build/mas-server:latest", signaling: "localhost/sparc-e2e-build/signaling-server:latest" };
    const contexts = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-e2e-contexts-"));
    const masContext = path.join(contexts, "mas");
    let stack: TestStack;
    let resourceCount = 0;
    const ids: Record<string, string> = {};
    /** Every image id the stack built (current and superseded). */
    const builtIds: string[] = [];
    /**
     * Layers only this stack's builds can have made: both Dockerfiles end with `COPY . <app>` (the
     * context, with this run's own file) and `RUN rm -rf /app/vendor`, then metadata steps. The layers
     * below are cache other builds on the machine share, and may keep.
     */
    const builtLayers = new Set<string>();
    const recordBuilt = (id: string): void => {
        builtIds.push(id);
        for (const layer of layersOf([id]).slice(-2)) {
            builtLayers.add(layer);
        }
    };

    beforeAll(async () => {
        vendorSamples();
        // Copies of the sample sources, so the test can edit one without touching the repository.
        fs.cpSync(path.join(root, "samples/mas"), masContext, { recursive: true });
        fs.cpSync(path.join(root, "samples/signaling"), path.join(contexts, "signaling"), { recursive: true });
        // A file of this run's own in each context: the layers from `COPY . ...` on are this stack's
        // alone, so no other build on the machine shares them through the layer cache.
        for (const service of ["mas", "signaling"]) {
            fs.writeFileSync(path.join(contexts, service, "e2e-run.txt"), `${process.pid} ${Date.now()}\n`);
        }
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        for (const image of Object.values(images)) {
            spawnSync("podman", ["image", "rm", "-f", image], { stdio: "ignore" });
        }
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: "e2e-dev-build" });
        const config: Record<string, string> = {
            masContext,
            signalingContext: path.join(contexts, "signaling"),
            masImage: "sparc-e2e-build/mas-server:latest",
            signalingImage: "sparc-e2e-build/signaling-server:latest",
            podName: POD,
            containerNamePrefix: PREFIX,
            masPort: String(MAS_PORT),
            signalingPort: String(SIGNALING_PORT),
            turnPort: "13480",
            webrtcPortRange: "49420-49422",
            readinessTimeoutSeconds: "90",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
    }, 600_000);

    afterAll(async () => {
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        await stack?.dispose();
        fs.rmSync(contexts, { recursive: true, force: true });
    });

    it("preview plans the images, the pod and its containers without building anything", async () => {
        const started = Date.now();
        const plan = await stack.preview();
        console.log(`pulumi preview --stack dev (imageSource build): ${((Date.now() - started) / 1000).toFixed(1)} s`);
        resourceCount = plan.create ?? 0;
        expect(plan).toEqual({ create: resourceCount });
        // MAS, signaling, the TURN relay and the stand-in player (four images, their owners and containers),
        // the generated TURN secret and two podman secrets, the pod, preflight, readiness, provider, components.
        expect(resourceCount).toBe(22);
        // index.ts exports the dev target's outputs only: no "Undefined value (masEndpoint) will not show as a stack output".
        const text = await stack.previewText();
        expect(text).toContain("masUrl");
        expect(text).not.toContain("will not show as a stack output");
        expect(imageId(images.mas)).toBe("");
        expect(leftovers(POD, PREFIX)).toBe("");
    }, 300_000);

    it("up builds both images with BuilderV1, starts the pod and MAS /health answers", async () => {
        const started = Date.now();
        expect(await stack.up()).toEqual({ create: resourceCount });
        console.log(`pulumi up --stack dev (imageSource build) to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const { deployment } = await stack.exportState();
        const built = resourcesOfType(deployment, "docker:index/image:Image");
        expect(built.map((r) => r.inputs?.imageName).sort()).toEqual(
            [images.mas, images.signaling, "localhost/sparc/turn-server:latest", "localhost/sparc/unity-standin:latest"].sort(),
        );
        // pulumi-docker #1700/#1708: Podman's Docker API has no BuildKit session endpoint.
        for (const image of built) {
            expect((image.inputs?.build as { builderVersion?: string }).builderVersion).toBe("BuilderV1");
        }
        ids.mas = imageId(images.mas);
        ids.signaling = imageId(images.signaling);
        recordBuilt(ids.mas);
        recordBuilt(ids.signaling);
        expect(builtLayers.size).toBe(4);
        const out = await stack.outputs();
        // Exactly the dev target's outputs (docs/dev.md), none of the other targets'.
        expect(Object.keys(out).sort()).toEqual([
            "containerIds",
            "iceServerUrls",
            "imageIds",
            "masUrl",
            "player",
            "podName",
            "readiness",
            "receiverUrl",
            "signalingUrl",
            "skipped",
        ]);
        expect(out.imageIds).toMatchObject(ids);
        expect(Object.keys(out.imageIds as object).sort()).toEqual(["mas", "signaling", "turn", "unity"]);
        expect(out.masUrl).toBe(`http://localhost:${MAS_PORT}`);
        expect(await health(MAS_PORT)).toEqual({ status: "ok" });
        expect(leftovers(POD, PREFIX).split(" ").sort()).toEqual(
            [`${PREFIX}mas-server`, `${PREFIX}turn-server`, `${PREFIX}signaling-server`, `${PREFIX}unity-server`, POD].sort(),
        );
    }, 600_000);

    it("a second up changes nothing and rebuilds nothing", async () => {
        const containersBefore = (await stack.outputs()).containerIds;
        const { summary, steps } = await stack.upWithSteps();
        expect(summary).toEqual({ same: resourceCount });
        expect(changed(steps)).toEqual({});
        expect(imageId(images.mas)).toBe(ids.mas);
        expect(imageId(images.signaling)).toBe(ids.signaling);
        expect((await stack.outputs()).containerIds).toEqual(containersBefore);
    }, 300_000);

    it("an edit to the MAS source rebuilds that image only and replaces only its container", async () => {
        const before = (await stack.outputs()).containerIds as Record<string, string>;
        fs.appendFileSync(path.join(masContext, "main.py"), "\n# e2e: a source change\n");
        const { summary, steps } = await stack.upWithSteps();
        expect(changed(steps)).toEqual({
            "sparc-images-mas": ["update"],
            "sparc-images-mas-owned": ["create-replacement", "delete-replaced", "replace"],
            "sparc-mas": ["create-replacement", "delete-replaced", "replace"],
            "sparc-ready": ["create-replacement", "delete-replaced", "replace"],
        });
        expect(summary).toEqual({ same: resourceCount - 4, update: 1, replace: 3 });
        const masNow = imageId(images.mas);
        expect(masNow).not.toBe("");
        expect(masNow).not.toBe(ids.mas);
        expect(imageId(images.signaling)).toBe(ids.signaling);
        // The image the rebuild superseded was removed with its replaced owner command.
        expect(allImageIds().has(ids.mas)).toBe(false);
        expect(buildContainersOn(ids.mas)).toEqual([]);
        ids.mas = masNow;
        recordBuilt(masNow);
        const after = (await stack.outputs()).containerIds as Record<string, string>;
        expect(after.signaling).toBe(before.signaling);
        expect(after.mas).not.toBe(before.mas);
        expect(await health(MAS_PORT)).toEqual({ status: "ok" });
    }, 600_000);

    it("a change to a config key the dev stack does not use touches nothing", async () => {
        await stack.setConfig("hpgPartition", "e2e-unrelated");
        const { summary, steps } = await stack.upWithSteps();
        expect(changed(steps)).toEqual({});
        expect(summary).toEqual({ same: resourceCount });
    }, 300_000);

    it("destroy leaves no pod, no container and no image the stack built; base images stay", async () => {
        const { summary, messages } = await stack.destroyWithMessages();
        console.log(`destroy: ${[...new Set(messages.filter((m) => /removed|gone|kept|could not/.test(m)))].join("\n")}`);
        expect(summary).toEqual({ delete: resourceCount });
        expect(leftovers(POD, PREFIX)).toBe("");
        expect(imageId(images.mas)).toBe("");
        expect(imageId(images.signaling)).toBe("");
        // Every id the stack's tags ever pointed at is gone (other tests build images meanwhile,
        // so "no new id at all" would not be this stack's doing).
        const remaining = [...allImageIds()];
        expect(builtIds.filter((id) => remaining.includes(id))).toEqual([]);
        // Nor any intermediate image of those builds: no image left holds a layer only they made.
        const holders = remaining.filter((id) => layersOf([id]).some((layer) => builtLayers.has(layer)));
        expect(holders).toEqual([]);
        for (const base of ["python:3.11-slim", "node:20-alpine"]) {
            expect(imageId(base), `${base} (scripts/podman/setup.sh) must survive`).not.toBe("");
        }
    }, 300_000);
});

describe.skipIf(skip)("pulumi up --stack dev, imageSource prebuilt (real engine and plugins)", () => {
    const POD = "sparc-e2e";
    const PREFIX = "e2e-";
    const MAS_PORT = 18100;
    const SIGNALING_PORT = 18180;
    const images = { mas: "localhost/sparc-e2e/mas-server:latest", signaling: "localhost/sparc-e2e/signaling-server:latest" };
    let stack: TestStack;

    beforeAll(async () => {
        vendorSamples();
        for (const [service, context] of [
            ["mas", "samples/mas"],
            ["signaling", "samples/signaling"],
        ] as const) {
            execFileSync(
                "podman",
                ["build", "-q", "-t", images[service], "-f", path.join(root, `dockerfiles/Dockerfile.${service}`), path.join(root, context)],
                { stdio: "ignore" },
            );
        }
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: "e2e-dev" });
        const config: Record<string, string> = {
            imageSource: "prebuilt",
            masImage: images.mas,
            signalingImage: images.signaling,
            podName: POD,
            containerNamePrefix: PREFIX,
            masPort: String(MAS_PORT),
            signalingPort: String(SIGNALING_PORT),
            turnPort: "13479",
            webrtcPortRange: "49410-49412",
            // This block is about prebuilt images; the relay is test/podman/turn.test.ts's and avatar-stream's.
            turnMode: "off",
            readinessTimeoutSeconds: "60",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
    }, 600_000);

    afterAll(async () => {
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        await stack?.dispose();
    });

    it("preview plans the pod without touching Podman", async () => {
        expect(await stack.preview()).toEqual({ create: 8 });
        expect(leftovers(POD, PREFIX)).toBe("");
    }, 300_000);

    it("up brings the pod up and MAS /health answers", async () => {
        const started = Date.now();
        expect(await stack.up()).toEqual({ create: 8 });
        console.log(`pulumi up --stack dev (prebuilt images) to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const out = await stack.outputs();
        expect(out.masUrl).toBe(`http://localhost:${MAS_PORT}`);
        expect(out.signalingUrl).toBe(`ws://localhost:${SIGNALING_PORT}`);
        expect(out.imageIds).toEqual(images);
        expect(Object.keys(out.containerIds as object).sort()).toEqual(["mas", "signaling"]);
        expect(await health(MAS_PORT)).toEqual({ status: "ok" });
        expect(leftovers(POD, PREFIX).split(" ").sort()).toEqual([`${PREFIX}mas-server`, `${PREFIX}signaling-server`, POD].sort());
    }, 300_000);

    it("a second up changes nothing", async () => {
        expect(await stack.up()).toEqual({ same: 8 });
    }, 300_000);

    it("destroy leaves no pod and no container, and keeps the prebuilt images it did not build", async () => {
        expect(await stack.destroy()).toEqual({ delete: 8 });
        expect(leftovers(POD, PREFIX)).toBe("");
        expect(imageId(images.mas)).not.toBe("");
    }, 300_000);
});
