import { describe, expect, it } from "vitest";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadDevConfig } from "../../../components/podConfig";
import { turnPlan } from "../../../components/turn";
import {
    containerRmArgv,
    containerRunArgv,
    devContainerPlan,
    devContainerSpecs,
    podCreateArgv,
    podRmArgv,
    render,
    rivaRunOptions,
    secretCreateScript,
    secretDeleteScript,
    type ContainerSpec,
    type DevContainerPlan,
} from "../../../components/pod";

const referencePod = { podName: "sparc-avatar", masPort: 8000, signalingPort: 8080, turnPort: 3478, webrtcPortRange: { first: 49152, last: 49200 } };

describe("podCreateArgv", () => {
    it.each([
        {
            label: "reference ports (docs/dev.md)",
            spec: referencePod,
            line: "podman pod create --name sparc-avatar -p 8000:8000 -p 8080:8080 -p 3478:3478/udp -p 3478:3478/tcp -p 49152-49200:49152-49200/udp",
        },
        {
            label: "host ports moved, pod ports fixed",
            spec: { podName: "t", masPort: 18000, signalingPort: 18080, turnPort: 13478, webrtcPortRange: { first: 40000, last: 40001 } },
            line: "podman pod create --name t -p 18000:8000 -p 18080:8080 -p 13478:3478/udp -p 13478:3478/tcp -p 40000-40001:40000-40001/udp",
        },
        {
            label: "Riva: its gRPC on the host's loopback only",
            spec: { ...referencePod, rivaPort: 15051 },
            line: "podman pod create --name sparc-avatar -p 8000:8000 -p 8080:8080 -p 3478:3478/udp -p 3478:3478/tcp -p 49152-49200:49152-49200/udp -p 127.0.0.1:15051:50051",
        },
    ])("$label", ({ spec, line }) => {
        expect(render(podCreateArgv(spec))).toBe(line);
    });
});

describe("remove commands", () => {
    it.each([
        { argv: podRmArgv("sparc-avatar", 5), line: "podman pod rm --force --ignore --time 5 sparc-avatar" },
        { argv: podRmArgv("p", 0), line: "podman pod rm --force --ignore --time 0 p" },
        { argv: containerRmArgv("mas-server", 5), line: "podman rm --force --ignore --time 5 mas-server" },
        { argv: containerRmArgv("x-unity-server", 30), line: "podman rm --force --ignore --time 30 x-unity-server" },
    ])("$line", ({ argv, line }) => {
        expect(render(argv)).toBe(line);
    });
});

describe("containerRunArgv", () => {
    const spec = (over: Partial<ContainerSpec>): ContainerSpec => ({
        service: "mas",
        name: "mas-server",
        podName: "sparc-avatar",
        image: "localhost/sparc/mas-server:latest",
        restart: "on-failure",
        env: {},
        runOptions: [],
        args: [],
        ...over,
    });
    it.each([
        {
            label: "plain",
            spec: spec({}),
            line: "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure localhost/sparc/mas-server:latest",
        },
        {
            label: "env and GPU before the image, args after it",
            spec: spec({
                name: "unity-server",
                env: { SIGNALING_URL: "ws://localhost:8080" },
                runOptions: ["--device", "nvidia.com/gpu=all"],
                args: ["-logFile", "/dev/stdout"],
            }),
            line: "podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --device nvidia.com/gpu=all localhost/sparc/mas-server:latest -logFile /dev/stdout",
        },
        {
            label: "secrets as env and as file, after env and before the run options",
            spec: spec({
                env: { A: "1" },
                secrets: [{ name: "p-turn-secret", env: "TURN_SECRET" }, { name: "p-ice-servers" }],
                runOptions: ["--device", "x"],
            }),
            line: "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env A=1 --secret p-turn-secret,type=env,target=TURN_SECRET --secret p-ice-servers --device x localhost/sparc/mas-server:latest",
        },
        {
            label: "values with shell syntax are quoted",
            spec: spec({ env: { PUBLIC_HOST: "a b;$(x)" }, args: ["it's"] }),
            line: "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env 'PUBLIC_HOST=a b;$(x)' localhost/sparc/mas-server:latest 'it'\\''s'",
        },
    ])("$label", ({ spec: s, line }) => {
        expect(render(containerRunArgv(s))).toBe(line);
    });
});

describe("devContainerSpecs", () => {
    const turn = (over: Partial<Parameters<typeof turnPlan>[0]> = {}) =>
        turnPlan({
            podName: "sparc-avatar",
            turnMode: "embedded",
            host: "localhost",
            port: 3478,
            webrtcPortRange: { first: 49152, last: 49200 },
            turnUrls: [],
            turnCredentialTtlSeconds: 3600,
            ...over,
        });
    const plan = (over: Partial<DevContainerPlan>): DevContainerPlan => ({
        podName: "sparc-avatar",
        containerNamePrefix: "",
        publicHost: "localhost",
        gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
        unityArgs: ["-logFile", "/dev/stdout", "-force-vulkan"],
        rivaEnabled: false,
        unityPlayer: "none",
        turn: turn(),
        ...over,
    });
    const images = { mas: "img-mas", signaling: "img-sig", riva: "img-riva", turn: "img-turn", unity: "img-unity" };
    const mas = "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure img-mas";
    const turnServer =
        "podman run --detach --pod sparc-avatar --name turn-server --restart on-failure --env TURN_HOST=localhost --env TURN_PORT=3478 --env TURN_MIN_PORT=49152 --env TURN_MAX_PORT=49200 --env TURN_SECRET_FILE=/run/secrets/sparc-avatar-turn-secret --secret sparc-avatar-turn-secret img-turn";
    const signaling =
        "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost --env 'ICE_SERVER_URLS=turn:localhost:3478?transport=udp,turn:localhost:3478?transport=tcp' --env TURN_CREDENTIAL_TTL_SECONDS=3600 --secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET img-sig";
    const playerTail = "-signalingType websocket -signalingUrl ws://localhost:8080 -importJson /run/secrets/sparc-avatar-ice-servers";

    it.each([
        {
            label: "no player: MAS, the relay, signaling",
            plan: plan({}),
            lines: [mas, turnServer, signaling],
        },
        {
            label: "everything, reference names and env (docs/dev.md): the Unity build gets the GPU and Unity's own flags",
            plan: plan({ rivaEnabled: true, unityPlayer: "build" }),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env RIVA_URI=localhost:50051 img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --device nvidia.com/gpu=all img-riva",
                turnServer,
                signaling,
                `podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers --device nvidia.com/gpu=all img-unity -logFile /dev/stdout -force-vulkan ${playerTail}`,
            ],
        },
        {
            label: "Riva as riva_start.sh runs it: /data, the NGC key as a secret env, start-riva; MAS gets RIVA_URI",
            plan: plan({
                rivaEnabled: true,
                riva: {
                    runArgs: ["--init", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"],
                    modelRepository: "/srv/riva model repo",
                    ngcSecretName: "sparc-avatar-ngc-api-key",
                    command: ["start-riva", "--riva-uri=0.0.0.0:50051", "--asr_service=true", "--tts_service=true", "--nlp_service=false"],
                },
            }),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env RIVA_URI=localhost:50051 img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --device nvidia.com/gpu=all --init --ulimit memlock=-1 --ulimit stack=67108864 --volume '/srv/riva model repo:/data' --secret sparc-avatar-ngc-api-key,type=env,target=NGC_API_KEY img-riva start-riva --riva-uri=0.0.0.0:50051 --asr_service=true --tts_service=true --nlp_service=false",
                turnServer,
                signaling,
            ],
        },
        {
            label: "Riva without an NGC key or run args (rivaRunArgs []): no secret, no ulimits",
            plan: plan({ rivaEnabled: true, gpuDeviceArgs: [], riva: { runArgs: [], modelRepository: "/m", command: ["start-riva"] } }),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env RIVA_URI=localhost:50051 img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --volume /m:/data img-riva start-riva",
                turnServer,
                signaling,
            ],
        },
        {
            label: "the stand-in player: no GPU device args",
            plan: plan({ unityPlayer: "standin" }),
            lines: [
                mas,
                turnServer,
                signaling,
                `podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers img-unity -logFile /dev/stdout -force-vulkan ${playerTail}`,
            ],
        },
        {
            label: "external TURN: no relay container, the configured URLs, the shared secret",
            plan: plan({
                unityPlayer: "prebuilt",
                gpuDeviceArgs: [],
                turn: turn({ turnMode: "external", turnUrls: ["turn:t.example.org:3478"], turnCredentialTtlSeconds: 600 }),
            }),
            lines: [
                mas,
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost --env ICE_SERVER_URLS=turn:t.example.org:3478 --env TURN_CREDENTIAL_TTL_SECONDS=600 --secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET img-sig",
                `podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers img-unity -logFile /dev/stdout -force-vulkan ${playerTail}`,
            ],
        },
        {
            label: "TURN off: no relay, no secret, empty ICE_SERVER_URLS",
            plan: plan({ turn: turn({ turnMode: "off" }) }),
            lines: [
                mas,
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost --env ICE_SERVER_URLS= --env TURN_CREDENTIAL_TTL_SECONDS=3600 img-sig",
            ],
        },
        {
            label: "prefix, public host and its relay, other Unity args",
            plan: plan({
                podName: "t",
                containerNamePrefix: "t-",
                publicHost: "avatar.example.org",
                gpuDeviceArgs: [],
                unityPlayer: "build",
                unityArgs: ["-force-glcore"],
                turn: turn({ podName: "t", host: "turn.example.org", port: 13478, webrtcPortRange: { first: 40000, last: 40010 } }),
            }),
            lines: [
                "podman run --detach --pod t --name t-mas-server --restart on-failure img-mas",
                "podman run --detach --pod t --name t-turn-server --restart on-failure --env TURN_HOST=turn.example.org --env TURN_PORT=3478 --env TURN_MIN_PORT=40000 --env TURN_MAX_PORT=40010 --env TURN_SECRET_FILE=/run/secrets/t-turn-secret --secret t-turn-secret img-turn",
                "podman run --detach --pod t --name t-signaling-server --restart on-failure --env PUBLIC_HOST=avatar.example.org --env 'ICE_SERVER_URLS=turn:turn.example.org:13478?transport=udp,turn:turn.example.org:13478?transport=tcp' --env TURN_CREDENTIAL_TTL_SECONDS=3600 --secret t-turn-secret,type=env,target=TURN_SECRET img-sig",
                "podman run --detach --pod t --name t-unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --secret t-ice-servers img-unity -force-glcore -signalingType websocket -signalingUrl ws://localhost:8080 -importJson /run/secrets/t-ice-servers",
            ],
        },
    ])("$label", ({ plan: p, lines }) => {
        expect(devContainerSpecs(p, images).map((s) => render(containerRunArgv(s)))).toEqual(lines);
    });

    it("fails loudly when Riva's plan has no model repository", () => {
        expect(() => devContainerSpecs(plan({ rivaEnabled: true, riva: { runArgs: [], modelRepository: "", command: [] } }), images)).toThrow(
            /Riva needs a model repository to mount as \/data \(rivaModelRepository\)/,
        );
    });

    it("fails loudly when an enabled service has no image", () => {
        expect(() => devContainerSpecs(plan({ unityPlayer: "standin" }), { mas: "a", signaling: "b", turn: "c" })).toThrow(
            /no image given for enabled service "unity"/,
        );
    });

    it('devContainerPlan: turnHost "" is publicHost, an IPv6 host is bracketed in the URLs', () => {
        pulumi.runtime.setAllConfig({});
        const dev = loadDevConfig(new pulumi.Config("sparc-deploy"), path.resolve(__dirname, "..", "..", ".."));
        expect(devContainerPlan(dev, "avatar.example.org").turn.browserUrls).toEqual([
            "turn:avatar.example.org:3478?transport=udp",
            "turn:avatar.example.org:3478?transport=tcp",
        ]);
        expect(devContainerPlan({ ...dev, turnHost: "2001:db8::7" }, "x").turn).toMatchObject({
            browserUrls: ["turn:[2001:db8::7]:3478?transport=udp", "turn:[2001:db8::7]:3478?transport=tcp"],
            relay: { host: "2001:db8::7", minPort: 49152, maxPort: 49200 },
            playerUrls: ["turn:localhost:3478?transport=udp"],
        });
    });
});

describe("the NGC key's podman secret", () => {
    it.each([
        {
            what: "create/update: drop a stale one (podman 4.3 has no --replace), then read the value from stdin",
            script: secretCreateScript("sparc-avatar-ngc-api-key"),
            text: "podman secret rm sparc-avatar-ngc-api-key >/dev/null 2>&1 || true\ncat | podman secret create sparc-avatar-ngc-api-key -",
        },
        {
            what: "delete: only if it is there (no --ignore in podman 4.3)",
            script: secretDeleteScript("p-ngc-api-key"),
            text: "if podman secret inspect p-ngc-api-key >/dev/null 2>&1; then podman secret rm p-ngc-api-key; fi",
        },
    ])("$what", ({ script, text }) => {
        expect(script).toBe(text);
    });

    it("is referenced by name only: the run options never carry a value", () => {
        expect(
            rivaRunOptions({
                runArgs: ["--init", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"],
                modelRepository: "/m",
                ngcSecretName: "s",
                command: [],
            }),
        ).toEqual(["--init", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864", "--volume", "/m:/data", "--secret", "s,type=env,target=NGC_API_KEY"]);
    });
});
