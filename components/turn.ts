// The pod's TURN side, decided from config alone (pure, except turnSecretOutput, the one command that
// generates the shared secret when none is configured): which relay the browsers and the player use,
// the podman secrets that carry the shared secret and the player's ICE servers, and the player's own
// TURN REST credential (username "<expiry>:unity", password base64(HMAC-SHA1(secret, username))).
// The secret never reaches argv, unit files or plaintext state: it goes to `podman secret create NAME -`
// on stdin, and containers read it with --secret (an env var, or a file under /run/secrets).
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { shJoin } from "../providers";
import type { DevConfig, TurnMode } from "./podConfig";

/** Where the pod's signaling server listens, as the player (in the pod) reaches it. */
export const inPodSignalingUrl = "ws://localhost:8080";
/** The embedded relay as the player reaches it: inside the pod, on the relay's own port. */
export const inPodTurnUrl = "turn:localhost:3478?transport=udp";
/** The player's credential is long-lived (it is not handed out): valid about a year from the deploy. */
export const playerCredentialDays = 365;
/** Its expiry moves in steps of this many days, so an `up` within one step changes nothing. */
export const playerCredentialStepDays = 30;

export interface TurnPlan {
    mode: TurnMode;
    /** The URLs browsers get from the signaling server (ICE_SERVER_URLS); [] when off. */
    browserUrls: string[];
    /** The URLs in the player's -importJson file; [] when off. */
    playerUrls: string[];
    /** embedded: what the relay container needs (host-side name, relay port range); undefined otherwise. */
    relay: { host: string; minPort: number; maxPort: number } | undefined;
    credentialTtlSeconds: number;
    /** podman secret holding the shared TURN secret (env TURN_SECRET); undefined when off. */
    secretName: string | undefined;
    /** podman secret holding the player's ICE servers JSON (-importJson /run/secrets/NAME). */
    iceSecretName: string;
}

export interface TurnPlanInput {
    podName: string;
    turnMode: TurnMode;
    /** turnHost, or publicHost when that is "". */
    host: string;
    /** Host-side port browsers reach the embedded relay at (turnPort). */
    port: number;
    webrtcPortRange: { first: number; last: number };
    turnUrls: readonly string[];
    turnCredentialTtlSeconds: number;
}

/** The podman secrets of a pod: named after it, so two stacks on one machine do not share them. */
export function turnSecretNames(podName: string): { turn: string; ice: string } {
    return { turn: `${podName}-turn-secret`, ice: `${podName}-ice-servers` };
}

function urlHost(host: string): string {
    return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export function turnPlan(i: TurnPlanInput): TurnPlan {
    const names = turnSecretNames(i.podName);
    const embedded = i.turnMode === "embedded";
    const h = urlHost(i.host);
    return {
        mode: i.turnMode,
        browserUrls: embedded ? [`turn:${h}:${i.port}?transport=udp`, `turn:${h}:${i.port}?transport=tcp`] : i.turnMode === "external" ? [...i.turnUrls] : [],
        playerUrls: embedded ? [inPodTurnUrl] : i.turnMode === "external" ? [...i.turnUrls] : [],
        relay: embedded ? { host: i.host, minPort: i.webrtcPortRange.first, maxPort: i.webrtcPortRange.last } : undefined,
        credentialTtlSeconds: i.turnCredentialTtlSeconds,
        secretName: i.turnMode === "off" ? undefined : names.turn,
        iceSecretName: names.ice,
    };
}

/** TURN REST API credential (coturn use-auth-secret): the password is base64(HMAC-SHA1(secret, username)). */
export function turnRestCredential(secret: string, name: string, expiresAtSeconds: number): { username: string; credential: string } {
    const username = `${expiresAtSeconds}:${name}`;
    return { username, credential: crypto.createHmac("sha1", secret).update(username).digest("base64") };
}

/** The player credential's expiry: the start of the next 30-day step after now, plus 365 days. */
export function playerCredentialExpiry(nowSeconds: number): number {
    const step = playerCredentialStepDays * 86400;
    return (Math.floor(nowSeconds / step) + 1) * step + playerCredentialDays * 86400;
}

/** The -importJson file of Unity Render Streaming: signaling settings and ICE servers with the player's credential. */
export function playerIceJson(plan: TurnPlan, secret: string | undefined, nowSeconds: number): string {
    const iceServers =
        plan.playerUrls.length === 0 || secret === undefined
            ? []
            : [{ urls: plan.playerUrls, ...turnRestCredential(secret, "unity", playerCredentialExpiry(nowSeconds)), credentialType: "password" }];
    return JSON.stringify({ signalingType: "websocket", signalingUrl: inPodSignalingUrl, iceServers });
}

/** The player's arguments: the configured ones, then what the stack sets (Unity's own flags, not env). */
export function playerArgs(unityArgs: readonly string[], iceSecretName: string): string[] {
    return [...unityArgs, "-signalingType", "websocket", "-signalingUrl", inPodSignalingUrl, "-importJson", `/run/secrets/${iceSecretName}`];
}

/** Prints a fresh random secret (run by a command whose stdout is a secret output; no random plugin here). */
export function generateSecretArgv(node: string): string[] {
    return [node, "-e", "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))"];
}

/**
 * The secret the TURN relay and the signaling server share: the configured one, or one generated once per
 * stack (a command whose stdout is a secret output, logged nowhere; no random plugin is available here).
 */
export function turnSecretOutput(
    name: string,
    cfg: Pick<DevConfig, "turnSecret">,
    turn: TurnPlan,
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> | undefined {
    if (turn.secretName === undefined) {
        return undefined;
    }
    if (cfg.turnSecret !== undefined) {
        return cfg.turnSecret;
    }
    const generated = new command.local.Command(
        `${name}-turn-secret-value`,
        { create: shJoin(generateSecretArgv(process.execPath)), logging: "none", addPreviousOutputInEnv: false },
        pulumi.mergeOptions(opts, { additionalSecretOutputs: ["stdout"] }),
    );
    return pulumi.secret(generated.stdout);
}
