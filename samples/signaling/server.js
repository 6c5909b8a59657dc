"use strict";
// Minimal signaling server for Unity Render Streaming (sample for the SPARC dev stack).
// It speaks the WebSocket protocol of Unity's "WebApp" signaling server: clients send
// JSON {type, data} messages - connect / disconnect carry {connectionId} at the top
// level, offer / answer / candidate carry it in data - and the server relays
// {from, to, type, data} to the other peer(s) of that connectionId.
// Modes: "public" (default, like Unity's WebApp: an offer goes to every other client)
// and "private" (exactly two peers per connectionId).
// It also serves the browser side (the role of Unity's "Receiver" sample): GET / (public/), GET /config
// (ICE servers with TURN REST credentials) and POST /client-event (the page's failures, into this log).
// Replace with the real signaling sources via config key signalingContext.

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { WebSocketServer } = require("ws");

/** The receiver page's files: a fixed list, so no request path ever reaches the filesystem. */
const STATIC_FILES = {
    "/": ["index.html", "text/html; charset=utf-8"],
    "/index.html": ["index.html", "text/html; charset=utf-8"],
    "/receiver.js": ["receiver.js", "text/javascript; charset=utf-8"],
};
const CLIENT_EVENT_MAX_BYTES = 4096;

/**
 * TURN REST API credentials (coturn use-auth-secret): username "<unix expiry>:<name>",
 * credential base64(HMAC-SHA1(secret, username)).
 */
function turnCredentials(secret, name, ttlSeconds, nowMs = Date.now()) {
    const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
    const username = `${expiresAt}:${name}`;
    const credential = crypto.createHmac("sha1", secret).update(username).digest("base64");
    return { username, credential, expiresAt };
}

/** ICE settings from the environment: ICE_SERVER_URLS, TURN_SECRET, TURN_CREDENTIAL_TTL_SECONDS. */
function iceConfigFromEnv(env) {
    const iceServerUrls = (env.ICE_SERVER_URLS ?? "")
        .split(",")
        .map((u) => u.trim())
        .filter((u) => u !== "");
    for (const url of iceServerUrls) {
        if (!/^(stun|turns?):/.test(url)) throw new Error(`ICE_SERVER_URLS: each URL must start with stun:, turn: or turns:, got ${JSON.stringify(url)}`);
    }
    const ttlText = env.TURN_CREDENTIAL_TTL_SECONDS ?? "3600";
    const turnCredentialTtlSeconds = Number(ttlText);
    if (!/^\d+$/.test(ttlText) || turnCredentialTtlSeconds < 60) {
        throw new Error(`TURN_CREDENTIAL_TTL_SECONDS must be a whole number of seconds >= 60, got ${JSON.stringify(ttlText)}`);
    }
    return { iceServerUrls, turnSecret: env.TURN_SECRET || undefined, turnCredentialTtlSeconds };
}

/**
 * The body of GET /config. TURN URLs get fresh REST credentials for each browser; without a secret they
 * are left out (a browser refuses a turn: URL without credentials and would fail the whole page).
 */
function clientConfig({ iceServerUrls = [], turnSecret, turnCredentialTtlSeconds = 3600 }, nowMs = Date.now()) {
    const stun = iceServerUrls.filter((u) => u.startsWith("stun:"));
    const turn = iceServerUrls.filter((u) => !u.startsWith("stun:"));
    const iceServers = [];
    if (turn.length > 0 && turnSecret) {
        const { username, credential } = turnCredentials(turnSecret, `receiver-${crypto.randomBytes(6).toString("hex")}`, turnCredentialTtlSeconds, nowMs);
        iceServers.push({ urls: turn, username, credential });
    }
    if (stun.length > 0) iceServers.push({ urls: stun });
    return { iceServers, iceTransportPolicy: "all", credentialTtlSeconds: turnCredentialTtlSeconds };
}

/** One log line from a client's text: printable, bounded. */
const clean = (value, max) =>
    String(value ?? "")
        .replace(/[^\x20-\x7e]/g, "?")
        .slice(0, max);

function parseArgs(argv) {
    const opts = { httpPort: 80, mode: "public" };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (flag === "--httpPort" || flag === "-p") {
            opts.httpPort = Number(value);
            i++;
        } else if (flag === "--mode" || flag === "-m") {
            opts.mode = value;
            i++;
        } else {
            throw new Error(`unknown argument ${JSON.stringify(flag)} (known: --httpPort N, --mode public|private)`);
        }
    }
    if (!Number.isInteger(opts.httpPort) || opts.httpPort < 0 || opts.httpPort > 65535) {
        throw new Error(`--httpPort must be a port number 0-65535, got ${JSON.stringify(argv[argv.indexOf("--httpPort") + 1])}`);
    }
    if (opts.mode !== "public" && opts.mode !== "private") {
        throw new Error(`--mode must be "public" or "private", got ${JSON.stringify(opts.mode)}`);
    }
    return opts;
}

function createSignalingServer({ mode, iceServerUrls = [], turnSecret, turnCredentialTtlSeconds = 3600, log = console.log }) {
    const ice = { iceServerUrls, turnSecret, turnCredentialTtlSeconds };
    const isPrivate = mode === "private";
    /** socket -> connectionIds it joined */
    const clients = new Map();
    /** connectionId -> [first socket, second socket | null] */
    const pairs = new Map();

    const send = (ws, msg) => {
        if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    const otherPeer = (ws, connectionId) => {
        const pair = pairs.get(connectionId);
        if (!pair) return null;
        return pair[0] === ws ? pair[1] : pair[0];
    };

    const handlers = {
        connect(ws, msg) {
            const connectionId = msg.connectionId;
            let polite = true;
            if (isPrivate) {
                const pair = pairs.get(connectionId);
                if (pair && pair[0] && pair[1]) {
                    send(ws, { type: "error", message: `${connectionId}: This connection id is already used.` });
                    return;
                }
                if (pair) {
                    pairs.set(connectionId, [pair[0], ws]);
                } else {
                    pairs.set(connectionId, [ws, null]);
                    polite = false;
                }
            }
            clients.get(ws).add(connectionId);
            send(ws, { type: "connect", connectionId, polite });
        },
        disconnect(ws, msg) {
            const connectionId = msg.connectionId;
            clients.get(ws).delete(connectionId);
            send(otherPeer(ws, connectionId), { type: "disconnect", connectionId });
            pairs.delete(connectionId);
            send(ws, { type: "disconnect", connectionId });
        },
        offer(ws, msg) {
            const data = msg.data ?? {};
            const connectionId = data.connectionId;
            const offer = { sdp: data.sdp, datetime: Date.now(), polite: false };
            if (isPrivate) {
                const other = otherPeer(ws, connectionId);
                if (other) send(other, { from: connectionId, to: "", type: "offer", data: { ...offer, polite: true } });
                return;
            }
            pairs.set(connectionId, [ws, null]);
            for (const client of clients.keys()) {
                if (client !== ws) send(client, { from: connectionId, to: "", type: "offer", data: offer });
            }
        },
        answer(ws, msg) {
            const data = msg.data ?? {};
            const connectionId = data.connectionId;
            clients.get(ws).add(connectionId);
            const other = otherPeer(ws, connectionId);
            if (!other) return;
            if (!isPrivate) pairs.set(connectionId, [other, ws]);
            send(other, { from: connectionId, to: "", type: "answer", data: { sdp: data.sdp, datetime: Date.now() } });
        },
        candidate(ws, msg) {
            const data = msg.data ?? {};
            const connectionId = data.connectionId;
            const candidate = {
                candidate: data.candidate,
                sdpMLineIndex: data.sdpMLineIndex,
                sdpMid: data.sdpMid,
                datetime: Date.now(),
            };
            const relayed = { from: connectionId, to: "", type: "candidate", data: candidate };
            // Once answered (public mode) a connection has its two peers: its candidates (the browser's
            // addresses) go to the other one only, not to every browser on the server.
            const pair = pairs.get(connectionId);
            if (isPrivate || (pair && pair[0] && pair[1])) {
                send(otherPeer(ws, connectionId), relayed);
                return;
            }
            for (const client of clients.keys()) {
                if (client !== ws) send(client, relayed);
            }
        },
    };

    const json = (res, status, body) => {
        res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify(body));
    };
    const clientEvent = (req, res) => {
        const chunks = [];
        let size = 0;
        req.on("data", (chunk) => {
            size += chunk.length;
            if (size > CLIENT_EVENT_MAX_BYTES) {
                if (res.headersSent) return;
                json(res, 413, { error: `body over ${CLIENT_EVENT_MAX_BYTES} bytes` });
                req.destroy();
            } else chunks.push(chunk);
        });
        req.on("end", () => {
            if (res.headersSent) return;
            let event;
            try {
                event = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
                json(res, 400, { error: "body must be JSON {connectionId, event, detail}" });
                return;
            }
            log(`signaling: client-event ${clean(event?.connectionId, 64)} ${clean(event?.event, 64)}: ${clean(event?.detail, 1000)}`);
            json(res, 200, { ok: true });
        });
    };

    const server = http.createServer((req, res) => {
        const pathname = (req.url ?? "/").split("?")[0];
        if (req.method === "GET" && pathname === "/health") {
            json(res, 200, { status: "ok" });
            return;
        }
        if (req.method === "GET" && pathname === "/config") {
            json(res, 200, clientConfig(ice));
            return;
        }
        if (req.method === "POST" && pathname === "/client-event") {
            clientEvent(req, res);
            return;
        }
        if (req.method === "GET" && Object.hasOwn(STATIC_FILES, pathname)) {
            const [file, type] = STATIC_FILES[pathname];
            fs.readFile(path.join(__dirname, "public", file), (err, body) => {
                if (err) {
                    json(res, 500, { error: `cannot read public/${file}` });
                    return;
                }
                res.writeHead(200, { "content-type": type, "cache-control": "no-cache" });
                res.end(body);
            });
            return;
        }
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "not found" }));
    });
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => {
        clients.set(ws, new Set());
        ws.on("message", (raw) => {
            let msg;
            try {
                msg = JSON.parse(String(raw));
            } catch {
                send(ws, { type: "error", message: "messages must be JSON objects {type, data}" });
                return;
            }
            const handler = msg && Object.hasOwn(handlers, msg.type) ? handlers[msg.type] : undefined;
            if (!handler) {
                send(ws, { type: "error", message: `unknown message type ${JSON.stringify(msg && msg.type)}` });
                return;
            }
            handler(ws, msg);
        });
        ws.on("close", () => {
            // Tell the remaining peer of each connection this socket was part of.
            for (const connectionId of clients.get(ws) ?? []) {
                send(otherPeer(ws, connectionId), { type: "disconnect", connectionId });
                pairs.delete(connectionId);
            }
            clients.delete(ws);
        });
    });
    return server;
}

module.exports = { createSignalingServer, parseArgs, turnCredentials, iceConfigFromEnv, clientConfig };

if (require.main === module) {
    const opts = { ...parseArgs(process.argv.slice(2)), ...iceConfigFromEnv(process.env) };
    const server = createSignalingServer(opts);
    server.listen(opts.httpPort, () => {
        console.log(`signaling: listening on :${server.address().port} (mode ${opts.mode}, PUBLIC_HOST=${process.env.PUBLIC_HOST ?? ""})`);
        const turn = opts.iceServerUrls.some((u) => !u.startsWith("stun:"));
        const auth = turn
            ? opts.turnSecret
                ? `TURN REST credentials valid ${opts.turnCredentialTtlSeconds} s`
                : "TURN URLs dropped: TURN_SECRET is not set"
            : "";
        console.log(`signaling: ICE servers for browsers: ${opts.iceServerUrls.join(" ") || "none"}${auth ? ` (${auth})` : ""}`);
    });
    // Exit promptly on SIGTERM: `podman rm -t N` otherwise waits N seconds and kills.
    const stop = () => {
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref(); // open WebSockets keep close() waiting
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
