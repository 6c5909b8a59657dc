// components/turn.ts: the TURN plan, the player's TURN REST credential and -importJson file, the secret generator.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { generateSecretArgv, playerArgs, playerCredentialExpiry, playerIceJson, turnPlan, turnRestCredential, turnSecretNames } from "../../../components/turn";

const input = {
    podName: "sparc-avatar",
    turnMode: "embedded" as const,
    host: "avatar.example.org",
    port: 3478,
    webrtcPortRange: { first: 49152, last: 49200 },
    turnUrls: [] as string[],
    turnCredentialTtlSeconds: 3600,
};

describe("turnPlan", () => {
    it.each([
        {
            mode: "embedded" as const,
            expected: {
                browserUrls: ["turn:avatar.example.org:3478?transport=udp", "turn:avatar.example.org:3478?transport=tcp"],
                playerUrls: ["turn:localhost:3478?transport=udp"],
                relay: { host: "avatar.example.org", minPort: 49152, maxPort: 49200 },
                secretName: "sparc-avatar-turn-secret",
                iceSecretName: "sparc-avatar-ice-servers",
            },
        },
        {
            mode: "external" as const,
            urls: ["turns:t.example.org:5349"],
            expected: {
                browserUrls: ["turns:t.example.org:5349"],
                playerUrls: ["turns:t.example.org:5349"],
                relay: undefined,
                secretName: "sparc-avatar-turn-secret",
            },
        },
        {
            mode: "off" as const,
            expected: { browserUrls: [], playerUrls: [], relay: undefined, secretName: undefined, iceSecretName: "sparc-avatar-ice-servers" },
        },
    ])("$mode", ({ mode, urls, expected }) => {
        expect(turnPlan({ ...input, turnMode: mode, turnUrls: urls ?? [] })).toMatchObject({ mode, credentialTtlSeconds: 3600, ...expected });
    });

    it("names the podman secrets after the pod", () => {
        expect(turnSecretNames("p2")).toEqual({ turn: "p2-turn-secret", ice: "p2-ice-servers" });
    });
});

describe("the player's TURN REST credential", () => {
    it("is base64(HMAC-SHA1(secret, '<expiry>:unity')), as coturn's use-auth-secret checks it (value from openssl dgst -sha1 -hmac)", () => {
        expect(turnRestCredential("the-shared-secret", "unity", 1700000000)).toEqual({
            username: "1700000000:unity",
            credential: "MijN+r41cHokl4ghIDXY6HOZZm0=",
        });
    });

    it.each([
        { now: 0, expiry: 30 * 86400 + 365 * 86400 },
        { now: 30 * 86400 - 1, expiry: 30 * 86400 + 365 * 86400 },
        { now: 30 * 86400, expiry: 60 * 86400 + 365 * 86400 },
    ])("expiry moves in 30-day steps (an up within one step changes nothing): now $now", ({ now, expiry }) => {
        expect(playerCredentialExpiry(now)).toBe(expiry);
        expect(playerCredentialExpiry(now) - now).toBeGreaterThan(365 * 86400);
    });

    it("the -importJson file: Unity's fields, the in-pod signaling URL, the player's credential", () => {
        const plan = turnPlan(input);
        const json = JSON.parse(playerIceJson(plan, "the-shared-secret", 0));
        const expiry = playerCredentialExpiry(0);
        expect(json).toEqual({
            signalingType: "websocket",
            signalingUrl: "ws://localhost:8080",
            iceServers: [
                {
                    urls: ["turn:localhost:3478?transport=udp"],
                    username: `${expiry}:unity`,
                    credential: turnRestCredential("the-shared-secret", "unity", expiry).credential,
                    credentialType: "password",
                },
            ],
        });
        expect(JSON.parse(playerIceJson(turnPlan({ ...input, turnMode: "off" }), undefined, 0)).iceServers).toEqual([]);
    });

    it("player arguments: the configured ones, then Unity's signaling and -importJson flags", () => {
        expect(playerArgs(["-logFile", "/dev/stdout"], "p-ice-servers")).toEqual([
            "-logFile",
            "/dev/stdout",
            "-signalingType",
            "websocket",
            "-signalingUrl",
            "ws://localhost:8080",
            "-importJson",
            "/run/secrets/p-ice-servers",
        ]);
    });
});

describe("the secret generator", () => {
    it("the generator prints 43 base64url characters (32 random bytes), different each run", () => {
        const [node, ...args] = generateSecretArgv(process.execPath);
        const a = spawnSync(node, args, { encoding: "utf8" }).stdout;
        const b = spawnSync(node, args, { encoding: "utf8" }).stdout;
        expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(a).not.toBe(b);
    });
});
