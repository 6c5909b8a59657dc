// The avatar pod, shared by the targets that run it: the dev stack (podman run on this machine) and the
// pubapps stack (the same containers as systemd units on an instance). Pure builders of its plan, its
// containers and the podman command lines (argv arrays, rendered with shJoin).
// Ports, names and env follow the reference pod (docs/dev.md, "Dev stack (local Podman pod)").
import { shJoin } from "../providers";
import type { UnityPlayer } from "./imagesConfig";
import type { DevConfig } from "./podConfig";
import { playerArgs, turnPlan, type TurnPlan } from "./turn";

/** Ports the services listen on inside the pod; the config only chooses the host side. */
export const containerPorts = { mas: 8000, signaling: 8080, turn: 3478 } as const;

export type ServiceName = "mas" | "riva" | "turn" | "unity" | "signaling";

/** Riva's gRPC port in the pod (NVIDIA's quick start: riva_speech_api_port 50051); MAS reaches it at localhost. */
export const rivaGrpcPort = 50051;

/** Reference container names (docs/dev.md), before the optional prefix. */
export const referenceContainerNames: Record<ServiceName, string> = {
    mas: "mas-server",
    riva: "riva-server",
    turn: "turn-server",
    unity: "unity-server",
    signaling: "signaling-server",
};

export interface PodSpec {
    podName: string;
    masPort: number;
    signalingPort: number;
    turnPort: number;
    webrtcPortRange: { first: number; last: number };
    /** Host port published, on 127.0.0.1 only, to Riva's gRPC (when Riva runs). */
    rivaPort?: number;
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
    /** podman secrets: `env` set = an environment variable of that name, else a file /run/secrets/NAME. */
    secrets?: SecretUse[];
}

export interface SecretUse {
    name: string;
    env?: string;
}

/** The value of --secret (podman run) and Secret= (Quadlet). */
export function secretOption(s: SecretUse): string {
    return s.env === undefined ? s.name : `${s.name},type=env,target=${s.env}`;
}

/** The host-side port publications of the pod: TCP for MAS and signaling, UDP and TCP for TURN, UDP for the WebRTC range. */
export function podPortArgs(spec: PodSpec): string[] {
    const range = `${spec.webrtcPortRange.first}-${spec.webrtcPortRange.last}`;
    return [
        "-p",
        `${spec.masPort}:${containerPorts.mas}`,
        "-p",
        `${spec.signalingPort}:${containerPorts.signaling}`,
        "-p",
        `${spec.turnPort}:${containerPorts.turn}/udp`,
        "-p",
        `${spec.turnPort}:${containerPorts.turn}/tcp`,
        // ICE candidates carry the in-pod port, so the range maps 1:1.
        "-p",
        `${range}:${range}/udp`,
    ];
}

export function podCreateArgv(spec: PodSpec): string[] {
    const riva = spec.rivaPort === undefined ? [] : ["-p", `127.0.0.1:${spec.rivaPort}:${rivaGrpcPort}`];
    return ["podman", "pod", "create", "--name", spec.podName, ...podPortArgs(spec), ...riva];
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
        ...(spec.secrets ?? []).flatMap((x) => ["--secret", secretOption(x)]),
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

/** What the Riva container gets besides the GPU, as NVIDIA's riva_start.sh runs it (docs.nvidia.com/deeplearning/riva, "Local (Docker)"). */
export interface RivaRun {
    /** Run options besides GPU, volume and secret (riva_start.sh: `--init --ulimit memlock=-1 --ulimit stack=67108864`). */
    runArgs: string[];
    /** Host directory mounted as /data (riva_start.sh: `-v $riva_model_loc:/data`). */
    modelRepository: string;
    /** The podman secret holding the NGC API key (given as env NGC_API_KEY), or undefined for none. */
    ngcSecretName?: string;
    /** The container's command (riva_start.sh: `start-riva --riva-uri=0.0.0.0:50051 --asr_service=...`). */
    command: string[];
}

/** The podman secret of a pod's NGC API key (one per pod: podman secrets are per user, not per pod). */
export function ngcSecretName(podName: string): string {
    return `${podName}-ngc-api-key`;
}

/**
 * Puts the value read on stdin into the podman secret `name`. Podman 4.3 has no `secret create --replace`,
 * so an existing one (a previous key, or an interrupted run) is removed first; a container that
 * uses it keeps the value it was started with until it is replaced. `cat |`: podman reads `-` only from a
 * pipe, and a caller's stdin may be a socket (node's child_process) or a file.
 */
export function secretCreateScript(name: string): string {
    return [`${render(secretRemoveArgv(name))} >/dev/null 2>&1 || true`, `cat | ${render(["podman", "secret", "create", name, "-"])}`].join("\n");
}

/** Removes the secret; a secret already gone is not an error (no `--ignore` in podman 4.3). */
export function secretDeleteScript(name: string): string {
    return `if ${render(["podman", "secret", "inspect", name])} >/dev/null 2>&1; then ${render(secretRemoveArgv(name))}; fi`;
}

function secretRemoveArgv(name: string): string[] {
    return ["podman", "secret", "rm", name];
}

/** riva_start.sh's run options besides the GPU and ports: its --init and ulimits (runArgs), /data, and the NGC key as a secret env. */
export function rivaRunOptions(riva: RivaRun): string[] {
    return [
        ...riva.runArgs,
        "--volume",
        `${riva.modelRepository}:/data`,
        ...(riva.ngcSecretName === undefined ? [] : ["--secret", `${riva.ngcSecretName},type=env,target=NGC_API_KEY`]),
    ];
}

export interface DevContainerPlan {
    podName: string;
    containerNamePrefix: string;
    publicHost: string;
    gpuDeviceArgs: string[];
    unityArgs: string[];
    rivaEnabled: boolean;
    /** Which player runs as unity-server ("none": no unity-server); the stand-in gets no GPU. */
    unityPlayer: UnityPlayer;
    /** The TURN side (components/turn.ts turnPlan). */
    turn: TurnPlan;
    /** Riva's volume, secret and command; without it Riva runs with the GPU and its image's CMD only (the pubapps stack). */
    riva?: RivaRun;
    restart?: string;
}

/** The plan of a pod from the dev keys; `publicHost` is the host browsers use (dev: publicHost; pubapps: its own). */
export function devContainerPlan(dev: DevConfig, publicHost: string): DevContainerPlan {
    return {
        podName: dev.podName,
        containerNamePrefix: dev.containerNamePrefix,
        publicHost,
        gpuDeviceArgs: dev.gpuDeviceArgs,
        unityArgs: dev.unityArgs,
        rivaEnabled: dev.rivaEnabled,
        unityPlayer: dev.unityPlayer,
        turn: turnPlan({
            podName: dev.podName,
            turnMode: dev.turnMode,
            host: dev.turnHost === "" ? publicHost : dev.turnHost,
            port: dev.turnPort,
            webrtcPortRange: dev.webrtcPortRange,
            turnUrls: dev.turnUrls,
            turnCredentialTtlSeconds: dev.turnCredentialTtlSeconds,
        }),
    };
}

export type ServiceImages = Record<"mas" | "signaling", string> & Partial<Record<"riva" | "turn" | "unity", string>>;

/**
 * The containers of the pod, in start order: MAS first (Unity calls it), then Riva, then the TURN relay
 * (embedded), then signaling (it hands browsers TURN credentials), then the player (it connects to
 * signaling on start). Riva, TURN and the player only when enabled.
 */
export function devContainerSpecs(plan: DevContainerPlan, images: ServiceImages): ContainerSpec[] {
    const restart = plan.restart ?? "on-failure";
    const base = (service: ServiceName, image: string | undefined) => {
        if (image === undefined) {
            throw new Error(`devContainerSpecs: no image given for enabled service "${service}"`);
        }
        return { service, name: plan.containerNamePrefix + referenceContainerNames[service], podName: plan.podName, image, restart };
    };
    const masEnv: Record<string, string> = plan.rivaEnabled ? { RIVA_URI: `localhost:${rivaGrpcPort}` } : {};
    const specs: ContainerSpec[] = [{ ...base("mas", images.mas), env: masEnv, runOptions: [], args: [] }];
    if (plan.rivaEnabled) {
        const riva = plan.riva;
        if (riva !== undefined && riva.modelRepository === "") {
            throw new Error("devContainerSpecs: Riva needs a model repository to mount as /data (rivaModelRepository)");
        }
        specs.push({
            ...base("riva", images.riva),
            env: {},
            runOptions: [...plan.gpuDeviceArgs, ...(riva === undefined ? [] : rivaRunOptions(riva))],
            args: [...(riva?.command ?? [])],
        });
    }
    const turn = plan.turn;
    const turnSecret: SecretUse[] = turn.secretName === undefined ? [] : [{ name: turn.secretName, env: "TURN_SECRET" }];
    if (turn.relay !== undefined) {
        specs.push({
            ...base("turn", images.turn),
            env: {
                TURN_HOST: turn.relay.host,
                TURN_PORT: String(containerPorts.turn),
                TURN_MIN_PORT: String(turn.relay.minPort),
                TURN_MAX_PORT: String(turn.relay.maxPort),
                // A file, not type=env: Podman 4.3 shows env secrets' values in `podman inspect` (Config.Env).
                TURN_SECRET_FILE: `/run/secrets/${turn.secretName}`,
            },
            secrets: [{ name: turn.secretName ?? "" }],
            runOptions: [],
            args: [],
        });
    }
    specs.push({
        ...base("signaling", images.signaling),
        env: {
            PUBLIC_HOST: plan.publicHost,
            ICE_SERVER_URLS: turn.browserUrls.join(","),
            TURN_CREDENTIAL_TTL_SECONDS: String(turn.credentialTtlSeconds),
        },
        secrets: turnSecret,
        runOptions: [],
        args: [],
    });
    if (plan.unityPlayer !== "none") {
        specs.push({
            ...base("unity", images.unity),
            // Kept as the seed writes it; the player itself reads -signalingUrl / -importJson.
            env: { SIGNALING_URL: `ws://localhost:${containerPorts.signaling}` },
            secrets: [{ name: turn.iceSecretName }],
            runOptions: plan.unityPlayer === "standin" ? [] : [...plan.gpuDeviceArgs],
            args: playerArgs(plan.unityArgs, turn.iceSecretName),
        });
    }
    return specs;
}

/** Which player runs as unity-server, in words (the `player` output and the `up` log). */
export function playerDescription(player: UnityPlayer): string {
    switch (player) {
        case "build":
            return "Unity build (unityBuildDir), with gpuDeviceArgs";
        case "standin":
            return "stand-in player (samples/unity-player-standin, no GPU): set unityBuildDir to run the Unity build";
        case "prebuilt":
            return "Unity build (prebuilt unityImage), with gpuDeviceArgs";
        case "none":
            return "none";
    }
}

/** Render an argv as one POSIX shell command line (every word quoted by the one shared helper). */
export function render(argv: readonly string[]): string {
    return shJoin(argv);
}
