import { describe, expect, it } from "vitest";
import {
    containerRmArgv,
    containerRunArgv,
    devContainerSpecs,
    podCreateArgv,
    podRmArgv,
    render,
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
                "podman run --detach --pod sparc-avatar --name mas-server --restart on-failure img-mas",
                "podman run --detach --pod sparc-avatar --name riva-server --restart on-failure --device nvidia.com/gpu=all img-riva",
                "podman run --detach --pod sparc-avatar --name signaling-server --restart on-failure --env PUBLIC_HOST=localhost img-sig",
                "podman run --detach --pod sparc-avatar --name unity-server --restart on-failure --env SIGNALING_URL=ws://localhost:8080 --device nvidia.com/gpu=all img-unity -logFile /dev/stdout -batchmode -force-vulkan",
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

    it("fails loudly when an enabled service has no image", () => {
        expect(() => devContainerSpecs(plan({ unityEnabled: true }), { mas: "a", signaling: "b" })).toThrow(/no image given for enabled service "unity"/);
    });
});
