"use strict";
// Minimal signaling server for Unity Render Streaming (sample for the SPARC dev stack).
// It speaks the WebSocket protocol of Unity's "WebApp" signaling server: clients send
// JSON {type, data} messages - connect / disconnect carry {connectionId} at the top
// level, offer / answer / candidate carry it in data - and the server relays
// {from, to, type, data} to the other peer(s) of that connectionId.
// Modes: "public" (default, like Unity's WebApp: an offer goes to every other client)
// and "private" (exactly two peers per connectionId).
// Replace with the real signaling sources via config key signalingContext.

const http = require("node:http");
const { WebSocketServer } = require("ws");

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

function createSignalingServer({ mode }) {
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
            if (isPrivate) {
                send(otherPeer(ws, connectionId), relayed);
                return;
            }
            for (const client of clients.keys()) {
                if (client !== ws) send(client, relayed);
            }
        },
    };

    const server = http.createServer((req, res) => {
        if (req.method === "GET" && req.url === "/health") {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ status: "ok" }));
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

module.exports = { createSignalingServer, parseArgs };

if (require.main === module) {
    const opts = parseArgs(process.argv.slice(2));
    const server = createSignalingServer(opts);
    server.listen(opts.httpPort, () => {
        console.log(`signaling: listening on :${server.address().port} (mode ${opts.mode}, PUBLIC_HOST=${process.env.PUBLIC_HOST ?? ""})`);
    });
    // Exit promptly on SIGTERM: `podman rm -t N` otherwise waits N seconds and kills.
    const stop = () => {
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref(); // open WebSockets keep close() waiting
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
