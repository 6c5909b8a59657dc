// Pure builders of the podman command lines the dev stack runs (argv arrays, rendered with shJoin).
// Ports, names and env follow the reference pod (README, "Dev stack (local Podman pod)").
import { shJoin } from "../../providers/remote";

/** Ports the services listen on inside the pod; the config only chooses the host side. */
export const containerPorts = { mas: 8000, signaling: 8080, turn: 3478 } as const;

export type ServiceName = "mas" | "riva" | "unity" | "signaling";

/** Reference container names (README, "Dev stack"), before the optional prefix. */
export const referenceContainerNames: Record<ServiceName, string> = {
    mas: "mas-server",
    riva: "riva-server",
    unity: "unity-server",
    signaling: "signaling-server",
};

export interface PodSpec {
    podName: string;
    masPort: number;
    signalingPort: number;
    turnPort: number;
    webrtcPortRange: { first: number; last: number };
}

export interface ContainerSpec {
    service: ServiceName;
    name: string;
    podName: string;
    image: string;
    /** Restart policy (podman run --restart). */
    restart: string;
    env: Record<string, string>;
    /** Extra podman run options, e.g. GPU devices. */
    runOptions: string[];
    /** Arguments after the image (the image's CMD is replaced when non-empty). */
    args: string[];
}

/** The host-side port publications of the pod: TCP for MAS and signaling, UDP for TURN and the WebRTC range. */
export function podPortArgs(spec: PodSpec): string[] {
    const range = `${spec.webrtcPortRange.first}-${spec.webrtcPortRange.last}`;
    return [
        "-p",
        `${spec.masPort}:${containerPorts.mas}`,
        "-p",
        `${spec.signalingPort}:${containerPorts.signaling}`,
        "-p",
        `${spec.turnPort}:${containerPorts.turn}/udp`,
        // ICE candidates carry the in-pod port, so the range maps 1:1.
        "-p",
        `${range}:${range}/udp`,
    ];
}

export function podCreateArgv(spec: PodSpec): string[] {
    return ["podman", "pod", "create", "--name", spec.podName, ...podPortArgs(spec)];
}

/** Removes the pod and whatever still runs in it; --ignore makes a repeated delete succeed. */
export function podRmArgv(podName: string, stopTimeoutSeconds: number): string[] {
    return ["podman", "pod", "rm", "--force", "--ignore", "--time", String(stopTimeoutSeconds), podName];
}

export function containerRunArgv(spec: ContainerSpec): string[] {
    const env = Object.entries(spec.env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    return [
        "podman",
        "run",
        "--detach",
        "--pod",
        spec.podName,
        "--name",
        spec.name,
        "--restart",
        spec.restart,
        ...env,
        ...spec.runOptions,
        spec.image,
        ...spec.args,
    ];
}

export function containerRmArgv(name: string, stopTimeoutSeconds: number): string[] {
    return ["podman", "rm", "--force", "--ignore", "--time", String(stopTimeoutSeconds), name];
}

export function containerLogsArgv(name: string, tail: number): string[] {
    return ["podman", "logs", "--tail", String(tail), name];
}

export interface DevContainerPlan {
    podName: string;
    containerNamePrefix: string;
    publicHost: string;
    gpuDeviceArgs: string[];
    unityArgs: string[];
    rivaEnabled: boolean;
    /** Whether a Unity build was given (unityBuildDir or a prebuilt unity image). */
    unityEnabled: boolean;
    restart?: string;
}

export type ServiceImages = Record<"mas" | "signaling", string> & Partial<Record<"riva" | "unity", string>>;

/**
 * The containers of the pod, in start order: MAS first (Unity calls it), then Riva, then signaling,
 * then Unity (it connects to SIGNALING_URL on start). Riva and Unity only when enabled.
 */
export function devContainerSpecs(plan: DevContainerPlan, images: ServiceImages): ContainerSpec[] {
    const restart = plan.restart ?? "on-failure";
    const base = (service: ServiceName, image: string | undefined) => {
        if (image === undefined) {
            throw new Error(`devContainerSpecs: no image given for enabled service "${service}"`);
        }
        return { service, name: plan.containerNamePrefix + referenceContainerNames[service], podName: plan.podName, image, restart };
    };
    const specs: ContainerSpec[] = [{ ...base("mas", images.mas), env: {}, runOptions: [], args: [] }];
    if (plan.rivaEnabled) {
        specs.push({ ...base("riva", images.riva), env: {}, runOptions: [...plan.gpuDeviceArgs], args: [] });
    }
    specs.push({ ...base("signaling", images.signaling), env: { PUBLIC_HOST: plan.publicHost }, runOptions: [], args: [] });
    if (plan.unityEnabled) {
        specs.push({
            ...base("unity", images.unity),
            env: { SIGNALING_URL: `ws://localhost:${containerPorts.signaling}` },
            runOptions: [...plan.gpuDeviceArgs],
            args: [...plan.unityArgs],
        });
    }
    return specs;
}

/** Render an argv as one POSIX shell command line (every word quoted by the one shared helper). */
export function render(argv: readonly string[]): string {
    return shJoin(argv);
}
