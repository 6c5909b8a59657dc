import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadDevConfig, type DevConfig } from "../../../../components/podConfig";
import { mockStack, valueOf as val, type MockedStack, type Registered } from "../../../support/mocks";

let mocks: MockedStack;
let registered: Registered[] = [];
let dev: typeof import("../../../../components/dev");

beforeAll(async () => {
    mocks = await mockStack({
        stack: "dev",
        outputsOf: (a) => ({
            ...(a.type === "docker:index/image:Image" ? { repoDigest: `sha256:digest-of-${a.name}` } : {}),
            ...(a.type === "command:local:Command" ? { stdout: `${a.name}-container-id\n` } : {}),
        }),
    });
    registered = mocks.registered;
    dev = await import("../../../../components/dev");
});
beforeEach(() => mocks.reset());

const root = path.resolve(__dirname, "..", "..", "..", "..");
/** The loader's result for a stack that sets nothing: every value comes from the defaults (Pulumi.yaml's, checked by config-defaults.test.ts). */
function defaults(): DevConfig {
    pulumi.runtime.setAllConfig({});
    return loadDevConfig(new pulumi.Config("sparc-deploy"), root);
}
const baseConfig = (over: Partial<DevConfig> = {}): DevConfig => ({ ...defaults(), ...over });

/** Build the component and wait until every child is registered (outputs resolve after their resources). */
async function deploy(cfg: DevConfig) {
    const stack = new dev.DevStack("dev", cfg);
    const outputs = {
        masUrl: await val(stack.masUrl),
        signalingUrl: await val(stack.signalingUrl),
        podName: await val(stack.podName),
        containerIds: await val(stack.containerIds),
        imageIds: await val(stack.imageIds),
        skipped: await val(stack.skipped),
        readiness: await val(stack.readiness),
        receiverUrl: await val(stack.receiverUrl),
        player: await val(stack.player),
        iceServerUrls: await val(stack.iceServerUrls),
    };
    return { stack, outputs };
}
const byName = (name: string) => mocks.byName(name);
const node = process.execPath;
const preflight = path.join(root, "scripts/podman/preflight.js");
const waitReady = path.join(root, "scripts/podman/wait-ready.js");

/** What Pulumi's mocks show for an input marked secret (its value stays encrypted in state). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecret = (v: unknown) => typeof v === "object" && v !== null && SECRET_SIG in v;

describe("DevStack, build source, defaults", () => {
    it("registers exactly the images component (provider, four images and their owners), preflight, secrets, pod, four containers and readiness", async () => {
        await deploy(baseConfig());
        expect(registered.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "command:local:Command dev-ice-servers",
            "command:local:Command dev-images-mas-owned",
            "command:local:Command dev-images-signaling-owned",
            "command:local:Command dev-images-turn-owned",
            "command:local:Command dev-images-unity-owned",
            "command:local:Command dev-mas",
            "command:local:Command dev-pod",
            "command:local:Command dev-preflight",
            "command:local:Command dev-ready",
            "command:local:Command dev-signaling",
            "command:local:Command dev-turn",
            "command:local:Command dev-turn-secret",
            "command:local:Command dev-turn-secret-value",
            "command:local:Command dev-unity",
            "docker:index/image:Image dev-images-mas",
            "docker:index/image:Image dev-images-signaling",
            "docker:index/image:Image dev-images-turn",
            "docker:index/image:Image dev-images-unity",
            "pulumi:providers:docker dev-images-docker",
            "sparc:dev:DevStack dev",
            "sparc:images:SparcImages dev-images",
        ]);
    });

    it('imagePlatform "" leaves the platform to the build engine (a dev stack on an Apple-silicon Mac builds native images)', async () => {
        await deploy(baseConfig({ imagePlatform: "" }));
        expect((byName("dev-images-mas").inputs.build as Record<string, unknown>).platform).toBeUndefined();
    });

    it("builds the TURN relay from dockerfiles/turn and the stand-in player from samples/unity-player-standin", async () => {
        await deploy(baseConfig());
        expect(byName("dev-images-turn").inputs).toMatchObject({
            imageName: "localhost/sparc/turn-server:latest",
            build: {
                context: path.join(root, "dockerfiles/turn"),
                dockerfile: path.join(root, ".sparc/dockerfiles/sparc-deploy/dev/Dockerfile.turn"),
                builderVersion: "BuilderV1",
                args: { DEBIAN_IMAGE: "debian:bookworm-slim" },
                // HiPerGator and PubApps are x86-64: pinned by default (imagePlatform), also on an Apple-silicon Mac.
                platform: "linux/amd64",
            },
        });
        expect(byName("dev-images-unity").inputs).toMatchObject({
            imageName: "localhost/sparc/unity-standin:latest",
            build: {
                context: path.join(root, "samples/unity-player-standin"),
                dockerfile: path.join(root, ".sparc/dockerfiles/sparc-deploy/dev/Dockerfile.unity-standin"),
                args: {},
            },
        });
    });

    it("generates the TURN secret once (stdout secret, logged nowhere) and hands every value to podman on stdin, as secrets", async () => {
        await deploy(baseConfig());
        expect(byName("dev-turn-secret-value").inputs).toEqual({
            create: `${node} -e 'process.stdout.write(require('\\''node:crypto'\\'').randomBytes(32).toString('\\''base64url'\\''))'`,
            logging: "none",
            addPreviousOutputInEnv: false,
        });
        for (const [resource, secretName] of [
            ["dev-turn-secret", "sparc-avatar-turn-secret"],
            ["dev-ice-servers", "sparc-avatar-ice-servers"],
        ]) {
            const inputs = byName(resource).inputs;
            expect(inputs.create).toBe(`podman secret rm ${secretName} >/dev/null 2>&1 || true\ncat | podman secret create ${secretName} -`);
            expect(inputs.update).toBe(inputs.create);
            expect(inputs.addPreviousOutputInEnv).toBe(false);
            expect(inputs.delete).toContain(`podman secret rm ${secretName}`);
            expect(isSecret(inputs.stdin), `${resource} stdin is a secret`).toBe(true);
            // Triggers only the name (a plain value: the real engine's command provider refuses a secret left unknown
            // at preview inside triggers, "malformed secret"); a changed value is a changed stdin, and update re-creates it.
            expect(inputs.triggers, resource).toEqual([secretName]);
        }
        expect((byName("dev-turn-secret").inputs.stdin as { value: string }).value).toBe("dev-turn-secret-value-container-id\n");
        const ice = JSON.parse((byName("dev-ice-servers").inputs.stdin as { value: string }).value);
        expect(ice).toMatchObject({
            signalingType: "websocket",
            signalingUrl: "ws://localhost:8080",
            iceServers: [{ urls: ["turn:localhost:3478?transport=udp"], username: expect.stringMatching(/^\d+:unity$/), credentialType: "password" }],
        });
        // No command line carries a secret value.
        for (const r of registered) {
            expect(JSON.stringify(r.inputs.create ?? "")).not.toContain("dev-turn-secret-value-container-id");
            expect(JSON.stringify(r.inputs.create ?? "")).not.toContain(ice.iceServers[0].credential);
        }
    });

    it("a configured turnSecret is used as given (no generator)", async () => {
        await deploy(baseConfig({ turnSecret: pulumi.secret("configured-secret-0123456789") }));
        expect(registered.some((r) => r.name === "dev-turn-secret-value")).toBe(false);
        expect((byName("dev-turn-secret").inputs.stdin as { value: string }).value).toBe("configured-secret-0123456789");
    });

    it("builds through the Podman socket with the classic builder and no push", async () => {
        await deploy(baseConfig());
        expect(byName("dev-images-docker").inputs.host).toBe("unix:///run/podman/podman.sock");
        expect(byName("dev-images-mas").inputs).toMatchObject({
            imageName: "localhost/sparc/mas-server:latest",
            skipPush: true,
            build: {
                context: path.join(root, "samples/mas"),
                dockerfile: path.join(root, ".sparc/dockerfiles/sparc-deploy/dev/Dockerfile.mas"),
                builderVersion: "BuilderV1",
                args: { PYTHON_IMAGE: "python:3.11-slim" },
            },
        });
        expect(byName("dev-images-mas").inputs.registry).toBeUndefined();
        expect(byName("dev-images-signaling").inputs).toMatchObject({
            imageName: "localhost/sparc/signaling-server:latest",
            build: {
                context: path.join(root, "samples/signaling"),
                dockerfile: path.join(root, ".sparc/dockerfiles/sparc-deploy/dev/Dockerfile.signaling"),
                args: { NODE_IMAGE: "node:20-alpine" },
            },
        });
    });

    it("removes each built image by id when destroyed or superseded (docker.Image's delete is a no-op)", async () => {
        await deploy(baseConfig());
        const removeImage = path.join(root, "scripts/podman/remove-image.js");
        expect(byName("dev-images-mas-owned").inputs).toEqual({
            create: "echo sha256:digest-of-dev-images-mas",
            delete: `${node} ${removeImage} --docker-host unix:///run/podman/podman.sock --image sha256:digest-of-dev-images-mas`,
            triggers: ["sha256:digest-of-dev-images-mas"],
        });
    });

    it("keeps the readiness check's output (container logs) out of the env of its later runs", async () => {
        await deploy(baseConfig());
        expect(byName("dev-ready").inputs.addPreviousOutputInEnv).toBe(false);
    });

    it("runs the reference pod and containers by image digest, replaced on a new digest or pod", async () => {
        const { outputs } = await deploy(baseConfig());
        expect(byName("dev-preflight").inputs.create).toBe(
            `${node} ${preflight} --pod sparc-avatar --docker-host unix:///run/podman/podman.sock --port masPort=8000/tcp --port signalingPort=8080/tcp --port turnPort=3478/udp --port turnPort=3478/tcp --port webrtcPortRange=49152-49200/udp`,
        );
        expect(byName("dev-pod").inputs).toMatchObject({
            create: "podman pod create --name sparc-avatar -p 8000:8000 -p 8080:8080 -p 3478:3478/udp -p 3478:3478/tcp -p 49152-49200:49152-49200/udp",
            delete: "podman pod rm --force --ignore --time 5 sparc-avatar",
        });
        const masRun = "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure sha256:digest-of-dev-images-mas";
        expect(byName("dev-mas").inputs).toEqual({
            create: masRun,
            delete: "podman rm --force --ignore --time 5 mas-server",
            triggers: ["sha256:digest-of-dev-images-mas", "dev-pod-container-id\n", masRun],
        });
        const turnSecret = "--secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET";
        expect(byName("dev-turn").inputs.create).toBe(
            `podman run --detach --pod sparc-avatar --name turn-server --restart on-failure --env TURN_HOST=localhost --env TURN_PORT=3478 --env TURN_MIN_PORT=49152 --env TURN_MAX_PORT=49200 --env TURN_SECRET_FILE=/run/secrets/sparc-avatar-turn-secret --secret sparc-avatar-turn-secret sha256:digest-of-dev-images-turn`,
        );
        const signalingRun = `podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost --env 'ICE_SERVER_URLS=turn:localhost:3478?transport=udp,turn:localhost:3478?transport=tcp' --env TURN_CREDENTIAL_TTL_SECONDS=3600 ${turnSecret} sha256:digest-of-dev-images-signaling`;
        // A re-created podman secret (new id) re-creates the containers that read it.
        expect(byName("dev-signaling").inputs).toEqual({
            create: signalingRun,
            delete: "podman rm --force --ignore --time 5 signaling-server",
            triggers: ["sha256:digest-of-dev-images-signaling", "dev-pod-container-id\n", signalingRun, "dev-turn-secret-container-id\n"],
        });
        // The stand-in player: no GPU, Unity's own flags, the ICE servers as a secret file.
        expect(byName("dev-unity").inputs.create).toBe(
            "podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers sha256:digest-of-dev-images-unity -logFile /dev/stdout -force-vulkan -signalingType websocket -signalingUrl ws://localhost:8080 -importJson /run/secrets/sparc-avatar-ice-servers",
        );
        expect((byName("dev-unity").inputs.triggers as string[]).at(-1)).toBe("dev-ice-servers-container-id\n");
        expect(byName("dev-ready").inputs).toMatchObject({
            create: `${node} ${waitReady} --timeout 120 --http http://127.0.0.1:8000/health --websocket ws://127.0.0.1:8080/ --ice-config http://127.0.0.1:8080/config --stun 127.0.0.1:3478 --running mas-server --logs mas-server --running turn-server --logs turn-server --running signaling-server --logs signaling-server --running unity-server --logs unity-server`,
            triggers: ["dev-mas-container-id\n", "dev-turn-container-id\n", "dev-signaling-container-id\n", "dev-unity-container-id\n"],
        });
        expect(outputs).toEqual({
            masUrl: "http://localhost:8000",
            signalingUrl: "ws://localhost:8080",
            podName: "sparc-avatar",
            containerIds: {
                mas: "dev-mas-container-id",
                turn: "dev-turn-container-id",
                signaling: "dev-signaling-container-id",
                unity: "dev-unity-container-id",
            },
            imageIds: {
                mas: "sha256:digest-of-dev-images-mas",
                signaling: "sha256:digest-of-dev-images-signaling",
                turn: "sha256:digest-of-dev-images-turn",
                unity: "sha256:digest-of-dev-images-unity",
            },
            skipped: [{ service: "riva", reason: expect.stringContaining("rivaEnabled is false") }],
            readiness: "dev-ready-container-id\n",
            receiverUrl: "http://localhost:8080/",
            player: expect.stringMatching(/^stand-in player \(samples\/unity-player-standin, no GPU\)/),
            iceServerUrls: ["turn:localhost:3478?transport=udp", "turn:localhost:3478?transport=tcp"],
        });
    });

    it.each([
        {
            label: "external: no relay container or generator, the configured URLs, no STUN check",
            over: { turnMode: "external" as const, turnUrls: ["turn:t.example.org:3478"], turnSecret: pulumi.secret("external-secret-0123456789") },
            absent: ["dev-turn", "dev-images-turn", "dev-turn-secret-value"],
            present: ["dev-turn-secret", "dev-ice-servers"],
            urls: "--env ICE_SERVER_URLS=turn:t.example.org:3478",
        },
        {
            label: "off: no relay, no TURN secret, no STUN check",
            over: { turnMode: "off" as const },
            absent: ["dev-turn", "dev-images-turn", "dev-turn-secret-value", "dev-turn-secret"],
            present: ["dev-ice-servers"],
            urls: "--env ICE_SERVER_URLS= ",
        },
    ])("turnMode $label", async ({ over, absent, present, urls }) => {
        const { outputs } = await deploy(baseConfig(over));
        for (const name of absent) {
            expect(
                registered.some((r) => r.name === name),
                name,
            ).toBe(false);
        }
        for (const name of present) {
            expect(
                registered.some((r) => r.name === name),
                name,
            ).toBe(true);
        }
        expect(byName("dev-signaling").inputs.create).toContain(urls);
        expect(byName("dev-ready").inputs.create).not.toContain("--stun");
        expect(outputs.skipped).toContainEqual({ service: "turn", reason: expect.stringContaining(`turnMode is ${over.turnMode}`) });
    });
});

describe("DevStack, optional services and sources", () => {
    it("adds Unity (built from unityBuildDir, GPU, SIGNALING_URL) and Riva (GPU) when enabled", async () => {
        const unityDir = path.join(root, "samples/unity-build-standin");
        const { outputs } = await deploy(
            baseConfig({
                unityBuildDir: unityDir,
                unityEnabled: true,
                unityPlayer: "build",
                unityImage: "sparc/unity-server:latest",
                rivaEnabled: true,
                rivaModelRepository: "/srv/riva",
                containerNamePrefix: "x-",
            }),
        );
        expect(byName("dev-images-unity").inputs).toMatchObject({
            imageName: "localhost/sparc/unity-server:latest",
            build: {
                context: unityDir,
                dockerfile: path.join(root, ".sparc/dockerfiles/sparc-deploy/dev/Dockerfile.unity-server"),
                builderVersion: "BuilderV1",
                args: { UNITY_BASE_IMAGE: "nvidia/opengl:1.2-glvnd-runtime-ubuntu20.04" },
            },
        });
        expect(byName("dev-unity").inputs.create).toBe(
            "podman run --detach --pod sparc-avatar --name x-unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers --device nvidia.com/gpu=all sha256:digest-of-dev-images-unity -logFile /dev/stdout -force-vulkan -signalingType websocket -signalingUrl ws://localhost:8080 -importJson /run/secrets/sparc-avatar-ice-servers",
        );
        const rivaRun =
            "podman run --detach --pod sparc-avatar --name x-riva-server --restart on-failure --device nvidia.com/gpu=all --init --ulimit memlock=-1 --ulimit stack=67108864 --volume /srv/riva:/data nvcr.io/nvidia/riva/riva-speech:2.16.0-server start-riva --riva-uri=0.0.0.0:50051 --asr_service=true --tts_service=true --nlp_service=false";
        expect(byName("dev-riva").inputs.create).toBe(rivaRun);
        expect(byName("dev-riva").inputs.triggers).toEqual(["nvcr.io/nvidia/riva/riva-speech:2.16.0-server", "dev-pod-container-id\n", rivaRun]);
        expect(byName("dev-mas").inputs.create).toContain(" --env RIVA_URI=localhost:50051 ");
        // Riva's gRPC on the host's loopback, checked free by preflight, and its own readiness bound.
        expect(byName("dev-pod").inputs.create).toMatch(/ -p 127\.0\.0\.1:50051:50051$/);
        expect(byName("dev-preflight").inputs.create).toMatch(/ --port rivaPort=50051\/tcp$/);
        expect(byName("dev-riva-ready").inputs.create).toBe(`${node} ${waitReady} --timeout 600 --grpc-health 127.0.0.1:50051 --logs x-riva-server`);
        expect(byName("dev-riva-ready").inputs.triggers).toEqual(["dev-riva-container-id\n"]);
        expect(outputs.readiness).toBe("dev-ready-container-id\ndev-riva-ready-container-id\n");
        // No key given: no secret.
        expect(registered.some((r) => r.name === "dev-ngc-secret")).toBe(false);
        expect(registered.some((r) => r.name === "dev-riva-image")).toBe(false);
        expect(byName("dev-ready").inputs.triggers).toEqual([
            "dev-mas-container-id\n",
            "dev-riva-container-id\n",
            "dev-turn-container-id\n",
            "dev-signaling-container-id\n",
            "dev-unity-container-id\n",
        ]);
        expect(byName("dev-ready").inputs.create).toMatch(
            / --running x-mas-server --logs x-mas-server --running x-riva-server --logs x-riva-server --running x-turn-server --logs x-turn-server --running x-signaling-server --logs x-signaling-server --running x-unity-server --logs x-unity-server$/,
        );
        expect(outputs.skipped).toEqual([]);
        expect(outputs.player).toBe("Unity build (unityBuildDir), with gpuDeviceArgs");
        expect(Object.keys(outputs.containerIds).sort()).toEqual(["mas", "riva", "signaling", "turn", "unity"]);
    });

    it("Riva's NGC key: only on the secret command's stdin (a secret); the run line names the podman secret", async () => {
        const key = "nvapi-unit-test-value";
        await deploy(baseConfig({ rivaEnabled: true, rivaModelRepository: "/srv/riva", rivaNgcApiKey: pulumi.secret(key) }));
        const secret = byName("dev-ngc-secret");
        expect(secret.inputs).toMatchObject({
            create: "podman secret rm sparc-avatar-ngc-api-key >/dev/null 2>&1 || true\ncat | podman secret create sparc-avatar-ngc-api-key -",
            update: "podman secret rm sparc-avatar-ngc-api-key >/dev/null 2>&1 || true\ncat | podman secret create sparc-avatar-ngc-api-key -",
            delete: "if podman secret inspect sparc-avatar-ngc-api-key >/dev/null 2>&1; then podman secret rm sparc-avatar-ngc-api-key; fi",
            triggers: ["sparc-avatar-ngc-api-key"],
        });
        // Mocks receive secrets as a special object (signature 1b47...): the key travels only inside it.
        expect(JSON.stringify(secret.inputs.stdin)).toContain("1b47061264138c4ac30d75fd1eb44270");
        expect(JSON.stringify(secret.inputs.stdin)).toContain(key);
        const others = registered.filter((r) => r !== secret).map((r) => JSON.stringify(r.inputs));
        expect(others.filter((text) => text.includes(key))).toEqual([]);
        expect(byName("dev-riva").inputs.create).toContain(" --secret sparc-avatar-ngc-api-key,type=env,target=NGC_API_KEY ");
        // A new key is a new secret id: Riva is replaced to read it.
        expect(byName("dev-riva").inputs.triggers).toContain("dev-ngc-secret-container-id\n");
    });

    it("prebuilt: no docker provider or Image, containers run the given references", async () => {
        const { outputs } = await deploy(
            baseConfig({
                imageSource: "prebuilt",
                masImage: "registry.example.org/sparc/mas-server:1.2",
                signalingImage: "registry.example.org/sparc/signaling-server:1.2",
                unityImage: "registry.example.org/sparc/unity-server:1.2",
                turnImage: "registry.example.org/sparc/turn-server:1.2",
                unityEnabled: true,
                unityPlayer: "prebuilt",
            }),
        );
        expect(registered.filter((r) => r.type.startsWith("docker:") || r.type === "pulumi:providers:docker")).toEqual([]);
        expect(byName("dev-preflight").inputs.create).not.toContain("--docker-host");
        expect(byName("dev-mas").inputs.create).toBe(
            "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure registry.example.org/sparc/mas-server:1.2",
        );
        expect(outputs.imageIds).toEqual({
            mas: "registry.example.org/sparc/mas-server:1.2",
            signaling: "registry.example.org/sparc/signaling-server:1.2",
            unity: "registry.example.org/sparc/unity-server:1.2",
            turn: "registry.example.org/sparc/turn-server:1.2",
        });
        expect(outputs.skipped).toEqual([{ service: "riva", reason: expect.stringContaining("rivaEnabled") }]);
    });

    it("prebuilt without unityImage: no player (nothing is built, so no stand-in), said in skipped and the player output", async () => {
        const { outputs } = await deploy(baseConfig({ imageSource: "prebuilt", unityImage: "", unityEnabled: false, unityPlayer: "none" }));
        expect(registered.some((r) => r.name === "dev-unity" || r.name === "dev-ice-servers")).toBe(false);
        expect(outputs.player).toBe("none");
        expect(outputs.skipped).toContainEqual({
            service: "unity",
            reason: expect.stringContaining("the stand-in player is built only with imageSource build"),
        });
    });

    it("registry set: images are pushed under the registry, ports follow the config", async () => {
        await deploy(
            baseConfig({
                registry: "registry.example.org/sparc",
                masPort: 18000,
                signalingPort: 18080,
                turnPort: 13478,
                webrtcPortRange: { first: 40000, last: 40010 },
                containerStopTimeoutSeconds: 0,
            }),
        );
        expect(byName("dev-images-mas").inputs).toMatchObject({
            imageName: "registry.example.org/sparc/sparc/mas-server:latest",
            skipPush: false,
            registry: { server: "registry.example.org/sparc" },
        });
        expect(byName("dev-pod").inputs.create).toBe(
            "podman pod create --name sparc-avatar -p 18000:8000 -p 18080:8080 -p 13478:3478/udp -p 13478:3478/tcp -p 40000-40010:40000-40010/udp",
        );
        expect(byName("dev-pod").inputs.delete).toBe("podman pod rm --force --ignore --time 0 sparc-avatar");
        expect(byName("dev-ready").inputs.create).toContain(
            "--http http://127.0.0.1:18000/health --websocket ws://127.0.0.1:18080/ --ice-config http://127.0.0.1:18080/config --stun 127.0.0.1:13478",
        );
        expect(byName("dev-turn").inputs.create).toContain("--env TURN_MIN_PORT=40000 --env TURN_MAX_PORT=40010");
    });
});
