import { describe, expect, it } from "vitest";
import {
    containerRmArgv,
    containerRunArgv,
    devContainerSpecs,
    podCreateArgv,
    podRmArgv,
    render,
    rivaRunOptions,
    secretCreateScript,
    secretDeleteScript,
    type ContainerSpec,
    type DevContainerPlan,
} from "../../components/dev/podman";

const referencePod = { podName: "sparc-avatar", masPort: 8000, signalingPort: 8080, turnPort: 3478, webrtcPortRange: { first: 49152, last: 49200 } };

describe("podCreateArgv", () => {
    it.each([
        {
            label: "reference ports (README, 'Dev stack')",
            spec: referencePod,
            line: "podman pod create --name sparc-avatar -p 8000:8000 -p 8080:8080 -p 3478:3478/udp -p 49152-49200:49152-49200/udp",
        },
        {
            label: "host ports moved, pod ports fixed",
            spec: { podName: "t", masPort: 18000, signalingPort: 18080, turnPort: 13478, webrtcPortRange: { first: 40000, last: 40001 } },
            line: "podman pod create --name t -p 18000:8000 -p 18080:8080 -p 13478:3478/udp -p 40000-40001:40000-40001/udp",
        },
        {
            label: "Riva: its gRPC on the host's loopback only",
            spec: { ...referencePod, rivaPort: 15051 },
            line: "podman pod create --name sparc-avatar -p 8000:8000 -p 8080:8080 -p 3478:3478/udp -p 49152-49200:49152-49200/udp -p 127.0.0.1:15051:50051",
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
            label: "values with shell syntax are quoted",
            spec: spec({ env: { PUBLIC_HOST: "a b;$(x)" }, args: ["it's"] }),
            line: "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env 'PUBLIC_HOST=a b;$(x)' localhost/sparc/mas-server:latest 'it'\\''s'",
        },
    ])("$label", ({ spec: s, line }) => {
        expect(render(containerRunArgv(s))).toBe(line);
    });
});

describe("devContainerSpecs", () => {
    const plan = (over: Partial<DevContainerPlan>): DevContainerPlan => ({
        podName: "sparc-avatar",
        containerNamePrefix: "",
        publicHost: "localhost",
        gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
        unityArgs: ["-logFile", "/dev/stdout", "-batchmode", "-force-vulkan"],
        rivaEnabled: false,
        unityEnabled: false,
        ...over,
    });
    const images = { mas: "img-mas", signaling: "img-sig", riva: "img-riva", unity: "img-unity" };

    it.each([
        {
            label: "MAS + signaling only",
            plan: plan({}),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure img-mas",
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost img-sig",
            ],
        },
        {
            label: "everything, reference names and env (README, 'Dev stack')",
            plan: plan({ rivaEnabled: true, unityEnabled: true }),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env RIVA_URI=localhost:50051 img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --device nvidia.com/gpu=all img-riva",
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost img-sig",
                "podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --device nvidia.com/gpu=all img-unity -logFile /dev/stdout -batchmode -force-vulkan",
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
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost img-sig",
            ],
        },
        {
            label: "Riva without an NGC key or run args (rivaRunArgs []): no secret, no ulimits",
            plan: plan({ rivaEnabled: true, gpuDeviceArgs: [], riva: { runArgs: [], modelRepository: "/m", command: ["start-riva"] } }),
            lines: [
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure --env RIVA_URI=localhost:50051 img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --volume /m:/data img-riva start-riva",
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost img-sig",
            ],
        },
        {
            label: "prefix, public host, no GPU args, other Unity args",
            plan: plan({
                podName: "t",
                containerNamePrefix: "t-",
                publicHost: "avatar.example.org",
                gpuDeviceArgs: [],
                unityEnabled: true,
                unityArgs: ["-nographics"],
            }),
            lines: [
                "podman run --detach --pod t --name t-mas-server --restart on-failure img-mas",
                "podman run --detach --pod t --name t-signaling-server --restart on-failure --env PUBLIC_HOST=avatar.example.org img-sig",
                "podman run --detach --pod t --name t-unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 img-unity -nographics",
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
        expect(() => devContainerSpecs(plan({ unityEnabled: true }), { mas: "a", signaling: "b" })).toThrow(/no image given for enabled service "unity"/);
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
