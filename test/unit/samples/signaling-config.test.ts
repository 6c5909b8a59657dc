// The signaling sample's browser-facing endpoints: TURN REST credentials (coturn use-auth-secret), the
// GET /config body, its environment, POST /client-event and the receiver page's files.
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type IceConfig = { iceServerUrls?: string[]; turnSecret?: string; turnCredentialTtlSeconds?: number };
type ClientConfig = { iceServers: { urls: string[]; username?: string; credential?: string }[]; iceTransportPolicy: string; credentialTtlSeconds: number };
const signaling = createRequire(__filename)(path.resolve(__dirname, "../../../samples/signaling/server.js")) as {
    turnCredentials: (secret: string, name: string, ttl: number, nowMs?: number) => { username: string; credential: string; expiresAt: number };
    iceConfigFromEnv: (env: Record<string, string | undefined>) => Required<Omit<IceConfig, "turnSecret">> & { turnSecret: string | undefined };
    clientConfig: (ice: IceConfig, nowMs?: number) => ClientConfig;
    createSignalingServer: (opts: IceConfig & { mode: string; log?: (line: string) => void }) => Server;
};

describe("turnCredentials (TURN REST API)", () => {
    // Expected credentials computed independently: printf %s USER | openssl dgst -sha1 -hmac SECRET -binary | base64
    it.each([
        {
            secret: "test-secret-not-for-production",
            name: "receiver-0123456789ab",
            nowMs: 1_700_000_000_000,
            ttl: 3600,
            username: "1700003600:receiver-0123456789ab",
            credential: "0EuMNFY43+COTsDEtgxjkLKPwt8=",
        },
        { secret: "s3cret", name: "sparc", nowMs: 1_234_567_290_999, ttl: 600, username: "1234567890:sparc", credential: "BIiGprBp45YnS2fL4u7xcJS0u/c=" },
    ])("$username", ({ secret, name, nowMs, ttl, username, credential }) => {
        expect(signaling.turnCredentials(secret, name, ttl, nowMs)).toEqual({ username, credential, expiresAt: Number(username.split(":")[0]) });
    });
});

describe("clientConfig (GET /config body)", () => {
    const now = 1_700_000_000_000;
    it.each([
        { name: "no ICE servers", ice: {}, iceServers: [] },
        { name: "STUN only", ice: { iceServerUrls: ["stun:s:3478"] }, iceServers: [{ urls: ["stun:s:3478"] }] },
        {
            name: "TURN without a secret is left out (browsers refuse turn: without credentials)",
            ice: { iceServerUrls: ["turn:t:3478", "stun:s:3478"] },
            iceServers: [{ urls: ["stun:s:3478"] }],
        },
        {
            name: "TURN with a secret gets REST credentials",
            ice: { iceServerUrls: ["turn:t:3478?transport=udp", "turns:t:5349", "stun:s:3478"], turnSecret: "k", turnCredentialTtlSeconds: 600 },
            iceServers: [
                {
                    urls: ["turn:t:3478?transport=udp", "turns:t:5349"],
                    username: expect.stringMatching(/^1700000600:receiver-[0-9a-f]{12}$/),
                    credential: expect.stringMatching(/^[A-Za-z0-9+/]{27}=$/),
                },
                { urls: ["stun:s:3478"] },
            ],
        },
    ])("$name", ({ ice, iceServers }) => {
        const body = signaling.clientConfig(ice, now);
        expect(body).toEqual({ iceServers, iceTransportPolicy: "all", credentialTtlSeconds: ice.turnCredentialTtlSeconds ?? 3600 });
        const turn = body.iceServers.find((s) => s.username);
        if (turn) expect(turn.credential).toBe(signaling.turnCredentials("k", turn.username!.split(":")[1], 600, now).credential);
    });

    it("gives each browser its own username", () => {
        const ice = { iceServerUrls: ["turn:t:3478"], turnSecret: "k" };
        expect(signaling.clientConfig(ice).iceServers[0].username).not.toBe(signaling.clientConfig(ice).iceServers[0].username);
    });
});

describe("iceConfigFromEnv", () => {
    it.each([
        { env: {}, want: { iceServerUrls: [], turnSecret: undefined, turnCredentialTtlSeconds: 3600 } },
        {
            env: {
                ICE_SERVER_URLS: " turn:localhost:3478?transport=udp, turn:localhost:3478?transport=tcp ,",
                TURN_SECRET: "k",
                TURN_CREDENTIAL_TTL_SECONDS: "900",
            },
            want: { iceServerUrls: ["turn:localhost:3478?transport=udp", "turn:localhost:3478?transport=tcp"], turnSecret: "k", turnCredentialTtlSeconds: 900 },
        },
        { env: { TURN_SECRET: "" }, want: { iceServerUrls: [], turnSecret: undefined, turnCredentialTtlSeconds: 3600 } },
    ])("$env", ({ env, want }) => {
        expect(signaling.iceConfigFromEnv(env)).toEqual(want);
    });

    it.each([
        { env: { ICE_SERVER_URLS: "localhost:3478" }, error: /must start with stun:, turn: or turns:/ },
        { env: { TURN_CREDENTIAL_TTL_SECONDS: "1h" }, error: /TURN_CREDENTIAL_TTL_SECONDS must be a whole number/ },
        { env: { TURN_CREDENTIAL_TTL_SECONDS: "10" }, error: />= 60/ },
    ])("refuses $env", ({ env, error }) => {
        expect(() => signaling.iceConfigFromEnv(env)).toThrow(error);
    });
});

describe("signaling HTTP endpoints", () => {
    const lines: string[] = [];
    const secret = "unit-secret-xyz";
    let server: Server;
    let base: string;
    beforeAll(async () => {
        server = signaling.createSignalingServer({
            mode: "public",
            iceServerUrls: ["turn:127.0.0.1:13478?transport=udp"],
            turnSecret: secret,
            log: (l) => lines.push(l),
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it("GET /config: the shape, fresh credentials, no caching", async () => {
        const res = await fetch(`${base}/config`);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(await res.json()).toEqual({
            iceServers: [{ urls: ["turn:127.0.0.1:13478?transport=udp"], username: expect.stringMatching(/^\d+:receiver-/), credential: expect.any(String) }],
            iceTransportPolicy: "all",
            credentialTtlSeconds: 3600,
        });
    });

    it("GET / and /receiver.js serve the page; other paths do not reach the filesystem", async () => {
        const page = await fetch(`${base}/?relay=1`);
        expect(page.headers.get("content-type")).toMatch(/^text\/html/);
        expect(await page.text()).toContain('<script src="receiver.js"></script>');
        expect(await (await fetch(`${base}/receiver.js`)).text()).toContain("window.sparcReceiver");
        for (const p of ["/server.js", "/public/receiver.js", "/..%2fserver.js", "/package.json"]) expect((await fetch(`${base}${p}`)).status).toBe(404);
        expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
    });

    it("POST /client-event: one bounded, printable log line; oversized and non-JSON bodies refused", async () => {
        const post = (body: string) => fetch(`${base}/client-event`, { method: "POST", headers: { "content-type": "application/json" }, body });
        expect((await post(JSON.stringify({ connectionId: "c1", event: "ice-failed", detail: "ICE failed\n\u001b[31mred" }))).status).toBe(200);
        expect(lines.at(-1)).toBe("signaling: client-event c1 ice-failed: ICE failed??[31mred");
        expect((await post(JSON.stringify({ connectionId: "c2", event: "x", detail: "d".repeat(5000) }))).status).toBe(413);
        expect((await post("not json")).status).toBe(400);
        expect(lines.filter((l) => l.includes("client-event"))).toHaveLength(1);
        expect(lines.join("\n")).not.toContain(secret);
    });
});

describe("signaling relay, public mode", () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
        server = signaling.createSignalingServer({ mode: "public", log: () => undefined });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    const sockets: WebSocket[] = [];
    afterAll(() => {
        // Upgraded sockets are not the HTTP server's to close: close them, or close() waits (on a failed test too).
        for (const ws of sockets) ws.close();
        return new Promise((r) => server.close(r));
    });

    const open = async () => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        const inbox: { type: string; from?: string; data?: { candidate?: string } }[] = [];
        ws.addEventListener("message", (e) => inbox.push(JSON.parse(String(e.data))));
        await new Promise((r, j) => {
            ws.addEventListener("open", r);
            ws.addEventListener("error", j);
        });
        return { inbox, send: (m: unknown) => ws.send(JSON.stringify(m)) };
    };
    const settle = () => new Promise((r) => setTimeout(r, 150));

    it("an answered connection's candidates reach its two peers only, not the other browsers", async () => {
        const [player, browserA, browserB] = [await open(), await open(), await open()];
        browserA.send({ type: "connect", connectionId: "A" });
        browserB.send({ type: "connect", connectionId: "B" });
        browserA.send({ type: "offer", data: { connectionId: "A", sdp: "offer A" } });
        await settle();
        // Before the answer nobody is paired yet: like Unity's WebApp, every other client gets it.
        browserA.send({ type: "candidate", data: { connectionId: "A", candidate: "early", sdpMLineIndex: 0, sdpMid: "0" } });
        player.send({ type: "answer", data: { connectionId: "A", sdp: "answer A" } });
        await settle();
        player.send({ type: "candidate", data: { connectionId: "A", candidate: "player-cand", sdpMLineIndex: 0, sdpMid: "0" } });
        browserA.send({ type: "candidate", data: { connectionId: "A", candidate: "browser-cand", sdpMLineIndex: 0, sdpMid: "0" } });
        await settle();
        const cands = (inbox: { type: string; data?: { candidate?: string } }[]) => inbox.filter((m) => m.type === "candidate").map((m) => m.data?.candidate);
        expect(cands(player.inbox)).toEqual(["early", "browser-cand"]);
        expect(cands(browserA.inbox)).toEqual(["player-cand"]);
        expect(cands(browserB.inbox)).toEqual(["early"]);
        expect(browserA.inbox.find((m) => m.type === "answer")).toMatchObject({ from: "A", data: { sdp: "answer A" } });
    });
});
