#!/usr/bin/env node
// @ts-check
"use strict";
// wait-ready.js - wait until the dev pod answers: HTTP 200 from each --http URL, a
// WebSocket handshake (101 + correct Sec-WebSocket-Accept) on each --websocket URL, JSON
// with an iceServers list from each --ice-config URL (the signaling server's GET /config),
// a STUN Binding success response from each --stun HOST:PORT (the TURN relay, over UDP) and
// SERVING from the standard gRPC health service (grpc.health.v1.Health/Check, the service
// Riva serves and NVIDIA's riva_start.sh polls with grpc_health_probe) on each
// --grpc-health HOST:PORT, bounded by --timeout seconds. On timeout it prints what failed and the last log lines
// of each --logs container (podman logs --tail N), then exits 1, so the Pulumi command
// error shows why. Node builtins only: runs under any node >= 18.
//
// usage: node wait-ready.js --timeout 120 --http http://127.0.0.1:8000/health \
//          --websocket ws://127.0.0.1:8080/ [--ice-config http://127.0.0.1:8080/config] [--stun 127.0.0.1:3478]
//          --logs mas-server --logs signaling-server [--log-lines 30]
//        node wait-ready.js --timeout 600 --grpc-health 127.0.0.1:50051 --logs riva-server
const http = require("node:http");
const http2 = require("node:http2");
const crypto = require("node:crypto");
const dgram = require("node:dgram");
const { spawnSync } = require("node:child_process");

/**
 * @param {string[]} argv
 * @returns {{ http: string[], websocket: string[], iceConfig: string[], stun: string[], grpcHealth: string[], running: string[], logs: string[], timeout: number, logLines: number, podman: string }}
 */
function parseArgs(argv) {
    /** @type {ReturnType<typeof parseArgs>} */
    const opts = { http: [], websocket: [], iceConfig: [], stun: [], grpcHealth: [], running: [], logs: [], timeout: 120, logLines: 30, podman: "podman" };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) throw new Error(`${flag} needs a value`);
        switch (flag) {
            case "--http":
                opts.http.push(value);
                break;
            case "--websocket":
                opts.websocket.push(value);
                break;
            case "--ice-config":
                opts.iceConfig.push(value);
                break;
            case "--stun":
                if (!/^[^:]+:\d+$/.test(value)) throw new Error(`--stun wants HOST:PORT, got ${JSON.stringify(value)}`);
                opts.stun.push(value);
                break;
            case "--grpc-health":
                if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value))
                    throw new Error(`--grpc-health wants HOST:PORT, got ${JSON.stringify(value)}`);
                opts.grpcHealth.push(value);
                break;
            case "--logs":
                opts.logs.push(value);
                break;
            case "--running":
                opts.running.push(value);
                break;
            case "--timeout":
                opts.timeout = Number(value);
                break;
            case "--log-lines":
                opts.logLines = Number(value);
                break;
            case "--podman":
                opts.podman = value;
                break;
            default:
                throw new Error(`unknown argument ${JSON.stringify(flag)}`);
        }
    }
    if (!(opts.timeout > 0)) throw new Error(`--timeout must be a positive number of seconds`);
    return opts;
}

/**
 * @param {string} url
 * @returns {Promise<string>} what answered; rejects with why not
 */
function checkHttp(url) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 3000 }, (res) => {
            res.resume();
            if (res.statusCode === 200) resolve(`HTTP 200`);
            else reject(new Error(`HTTP ${res.statusCode}`));
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 3 s")));
        req.on("error", reject);
    });
}

/**
 * @param {string} url
 * @returns {Promise<string>} what answered; rejects with why not
 */
function checkWebSocket(url) {
    const u = new URL(url);
    const key = crypto.randomBytes(16).toString("base64");
    const expected = crypto
        .createHash("sha1")
        .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        .digest("base64");
    return new Promise((resolve, reject) => {
        const req = http.request({
            host: u.hostname,
            port: u.port || 80,
            path: u.pathname + u.search,
            timeout: 3000,
            headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key },
        });
        req.on("upgrade", (res, socket) => {
            socket.destroy();
            if (res.headers["sec-websocket-accept"] === expected) resolve("WebSocket 101");
            else reject(new Error(`bad Sec-WebSocket-Accept ${JSON.stringify(res.headers["sec-websocket-accept"])}`));
        });
        req.on("response", (res) => {
            res.resume();
            reject(new Error(`HTTP ${res.statusCode} instead of 101 Switching Protocols`));
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 3 s")));
        req.on("error", reject);
        req.end();
    });
}

/**
 * @param {string} url
 * @returns {Promise<string>} what answered; rejects with why not
 */
function checkIceConfig(url) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 3000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => {
                body += d;
            });
            res.on("end", () => {
                if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
                try {
                    const servers = JSON.parse(body).iceServers;
                    if (!Array.isArray(servers)) return reject(new Error(`no iceServers list in ${JSON.stringify(body.slice(0, 120))}`));
                    // The URLs only: the answer holds a credential.
                    resolve(`iceServers ${JSON.stringify(servers.map((/** @type {{ urls?: unknown }} */ x) => x.urls))}`);
                } catch {
                    reject(new Error(`not JSON: ${JSON.stringify(body.slice(0, 120))}`));
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 3 s")));
        req.on("error", reject);
    });
}

const STUN_MAGIC_COOKIE = 0x2112a442;

/**
 * A STUN Binding Request (RFC 5389): type 0x0001, no attributes, the magic cookie, a 96-bit transaction id.
 * @param {Buffer} transactionId 12 bytes
 */
function stunBindingRequest(transactionId) {
    if (transactionId.length !== 12) throw new Error("a STUN transaction id has 12 bytes");
    const msg = Buffer.alloc(20);
    msg.writeUInt16BE(0x0001, 0);
    msg.writeUInt16BE(0, 2);
    msg.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
    transactionId.copy(msg, 8);
    return msg;
}

/**
 * Whether `msg` is a Binding success response (0x0101) to the request with `transactionId`.
 * @param {Buffer} msg
 * @param {Buffer} transactionId
 * @returns {string} "" when it is, else what it is
 */
function stunResponseProblem(msg, transactionId) {
    if (msg.length < 20) return `${msg.length} bytes, not a STUN message`;
    if (msg.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return "no STUN magic cookie";
    if (!msg.subarray(8, 20).equals(transactionId)) return "another transaction id";
    const type = msg.readUInt16BE(0);
    return type === 0x0101 ? "" : `message type 0x${type.toString(16).padStart(4, "0")} instead of 0x0101 (Binding success)`;
}

/**
 * @param {string} hostPort
 * @returns {Promise<string>} what answered; rejects with why not
 */
function checkStun(hostPort) {
    const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(":")), Number(hostPort.slice(hostPort.lastIndexOf(":") + 1))];
    const id = crypto.randomBytes(12);
    return new Promise((resolve, reject) => {
        const sock = dgram.createSocket("udp4");
        const done = (/** @type {Error | null} */ err, /** @type {string} */ what = "") => {
            clearTimeout(timer);
            sock.close();
            if (err) reject(err);
            else resolve(what);
        };
        const timer = setTimeout(() => done(new Error("no STUN answer within 2 s")), 2000);
        sock.on("message", (msg) => {
            const problem = stunResponseProblem(msg, id);
            done(problem === "" ? null : new Error(problem), "STUN Binding success");
        });
        sock.on("error", (err) => done(err));
        sock.send(stunBindingRequest(id), port, host);
    });
}

// --- gRPC health (grpc.health.v1, github.com/grpc/grpc/blob/master/doc/health-checking.md) over node:http2 ---
// A gRPC message on the wire (doc/PROTOCOL-HTTP2.md): 1 byte compressed flag (0), 4 bytes big-endian
// length, then the protobuf message. HealthCheckRequest { string service = 1; } and
// HealthCheckResponse { ServingStatus status = 1; } with UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3.

const servingStatus = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/**
 * @param {Buffer} message
 * @returns {Buffer} the length-prefixed gRPC frame
 */
function grpcFrame(message) {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(message.length, 1);
    return Buffer.concat([header, message]);
}

/**
 * @param {Buffer} body the whole response body
 * @returns {Buffer} the one message in it; throws on a short, compressed or multi-message body
 */
function grpcUnframe(body) {
    if (body.length < 5) throw new Error(`gRPC body of ${body.length} bytes, shorter than a frame header`);
    if (body[0] !== 0) throw new Error(`compressed gRPC message (flag ${body[0]}), not asked for`);
    const length = body.readUInt32BE(1);
    if (body.length !== 5 + length) throw new Error(`gRPC frame says ${length} bytes, body has ${body.length - 5}`);
    return body.subarray(5);
}

/**
 * @param {string} service "" = the server as a whole
 * @returns {Buffer} HealthCheckRequest (empty for "": proto3 leaves default fields out)
 */
function encodeHealthCheckRequest(service) {
    const bytes = Buffer.from(service, "utf8");
    if (bytes.length === 0) return Buffer.alloc(0);
    if (bytes.length > 127) throw new Error("service name longer than 127 bytes");
    return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/**
 * @param {Buffer} message HealthCheckResponse
 * @returns {string} the status name (absent field = UNKNOWN, the proto3 default); unknown fields are skipped
 */
function decodeHealthCheckResponse(message) {
    let status = 0;
    let i = 0;
    /** @returns {number} */
    const varint = () => {
        let value = 0;
        for (let shift = 0; ; shift += 7) {
            if (i >= message.length || shift > 35) throw new Error("truncated or oversized varint in HealthCheckResponse");
            const b = message[i++];
            value += (b & 0x7f) * 2 ** shift;
            if ((b & 0x80) === 0) return value;
        }
    };
    while (i < message.length) {
        const tag = varint();
        const [field, wire] = [Math.floor(tag / 8), tag & 7];
        if (wire === 0) {
            const v = varint();
            if (field === 1) status = v;
        } else if (wire === 2) {
            const length = varint();
            i += length;
        } else if (wire === 1) i += 8;
        else if (wire === 5) i += 4;
        else throw new Error(`unsupported protobuf wire type ${wire} in HealthCheckResponse`);
    }
    if (i > message.length) throw new Error("truncated HealthCheckResponse");
    return servingStatus[status] ?? `status ${status}`;
}

/**
 * One grpc.health.v1.Health/Check call over cleartext HTTP/2 (h2c), as grpc_health_probe makes it.
 * @param {string} target HOST:PORT
 * @param {string} [service]
 * @param {number} [timeoutMs]
 * @returns {Promise<string>} "gRPC health SERVING"; rejects with the status, the grpc-status or the connection error
 */
function checkGrpcHealth(target, service = "", timeoutMs = 3000) {
    return new Promise((resolve, reject) => {
        const session = http2.connect(`http://${target}`);
        /** @param {Error | undefined} err @param {string} [ok] */
        const finish = (err, ok) => {
            clearTimeout(timer);
            session.destroy();
            if (err) reject(err);
            else resolve(/** @type {string} */ (ok));
        };
        const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        // node reports a refused connection on the stream as "pending stream has been canceled"; show the cause.
        /** @param {Error & { cause?: unknown }} err */
        const failed = (err) => finish(err.cause instanceof Error ? err.cause : err);
        session.on("error", failed);
        const req = session.request({
            ":method": "POST",
            ":path": "/grpc.health.v1.Health/Check",
            "content-type": "application/grpc",
            te: "trailers",
        });
        /** @type {Buffer[]} */
        const chunks = [];
        /** @type {Record<string, unknown>} */
        let headers = {};
        /** @type {Record<string, unknown>} */
        let trailers = {};
        req.on("response", (h) => (headers = h));
        req.on("trailers", (t) => (trailers = t));
        req.on("data", (chunk) => chunks.push(chunk));
        req.on("error", failed);
        req.on("end", () => {
            const httpStatus = headers[":status"];
            // A "Trailers-Only" answer (an error) carries grpc-status in the headers.
            const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
            if (httpStatus !== 200) return finish(new Error(`HTTP/2 status ${httpStatus} (not a gRPC server?)`));
            if (String(grpcStatus) !== "0") {
                const why = trailers["grpc-message"] ?? headers["grpc-message"];
                return finish(new Error(`grpc-status ${grpcStatus ?? "missing"}${why ? ` (${decodeURIComponent(String(why))})` : ""}`));
            }
            try {
                const status = decodeHealthCheckResponse(grpcUnframe(Buffer.concat(chunks)));
                if (status === "SERVING") finish(undefined, "gRPC health SERVING");
                else finish(new Error(`gRPC health ${status}${service ? ` for service ${JSON.stringify(service)}` : ""}`));
            } catch (err) {
                finish(/** @type {Error} */ (err));
            }
        });
        req.end(grpcFrame(encodeHealthCheckRequest(service)));
    });
}

/** A looked-at container: its state, restart count and StartedAt (ms since the epoch, 0 when podman does not say). */
/** @typedef {{ status: string, restarts: string, startedAt: number }} ContainerState */

/**
 * One `podman inspect` for every container of a round of checks (instead of one process per container): the
 * checks of one round share its answer, and `newRound` makes the next look ask again. A container podman does
 * not know is missing from the answer (podman then exits 125 and says which).
 * @param {string} podman
 * @param {string[]} names
 * @returns {{ get: (name: string) => ContainerState, newRound: () => void }} get throws what podman said when it did not answer for `name`
 */
function containerInspector(podman, names) {
    /** @type {{ states: Map<string, ContainerState>, stderr: string } | undefined} */
    let answer;
    return {
        newRound: () => {
            answer = undefined;
        },
        get: (name) => {
            if (answer === undefined) {
                const res = spawnSync(
                    podman,
                    ["inspect", "--format", "{{.Name}} {{.State.Status}} {{.RestartCount}} {{.State.StartedAt.UnixMilli}}", ...names],
                    {
                        encoding: "utf8",
                        timeout: 30_000,
                    },
                );
                /** @type {Map<string, ContainerState>} */
                const states = new Map();
                for (const line of (res.stdout ?? "").split("\n")) {
                    const [n, status, restarts, startedAt] = line.trim().split(" ");
                    if (n && status) states.set(n, { status, restarts: restarts ?? "", startedAt: Number(startedAt) || 0 });
                }
                answer = { states, stderr: `${res.stderr ?? ""}`.trim() || (res.error ? String(res.error) : "podman inspect failed") };
            }
            const state = answer.states.get(name);
            if (state === undefined) throw new Error(answer.stderr);
            return state;
        },
    };
}

/** An error that says when looking again can first change the answer. */
class LookAgain extends Error {
    /** @param {string} message @param {number} inMs */
    constructor(message, inMs) {
        super(message);
        this.inMs = inMs;
    }
}

/**
 * A container that stays up: "running" and up for at least 1 s since its last (re)start (a container that
 * exits at start restarts under --restart on-failure and must not pass on one look). Its StartedAt answers
 * that on the first look once the container has been up 1 s (before that, the error says when: LookAgain);
 * without it (an older podman), the same restart count on two looks at least 1 s apart.
 * @param {string} podman
 * @param {string} name
 * @param {ReturnType<typeof containerInspector>} [inspector] shared by the checks of one wait, a new round each
 *   round; without it, each look asks podman
 * @returns {() => Promise<string>}
 */
function runningCheck(podman, name, inspector) {
    const ownRounds = inspector === undefined;
    const inspect = inspector ?? containerInspector(podman, [name]);
    /** @type {{ restarts: string, at: number } | undefined} */
    let seen;
    return async () => {
        /** @type {ContainerState} */
        let state;
        try {
            if (ownRounds) inspect.newRound();
            state = inspect.get(name);
        } catch (err) {
            seen = undefined;
            throw err;
        }
        const { status, restarts, startedAt } = state;
        if (status !== "running") {
            seen = undefined;
            throw new Error(`container ${status}`);
        }
        if (startedAt > 0) {
            const upMs = Date.now() - startedAt;
            if (upMs >= 1000) return `running (restarts ${restarts})`;
            throw new LookAgain(`running for ${Math.max(0, upMs)} ms, looking again`, 1000 - upMs);
        }
        if (seen === undefined || seen.restarts !== restarts) {
            seen = { restarts, at: Date.now() };
            throw new Error(`running (restarts ${restarts}), looking again`);
        }
        if (Date.now() - seen.at < 1000) throw new Error("running, looking again");
        return `running (restarts ${restarts})`;
    };
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const inspector = containerInspector(opts.podman, opts.running);
    const checks = [
        ...opts.http.map((url) => ({ what: `GET ${url}`, run: () => checkHttp(url) })),
        ...opts.websocket.map((url) => ({ what: `WebSocket ${url}`, run: () => checkWebSocket(url) })),
        ...opts.iceConfig.map((url) => ({ what: `GET ${url} (ICE servers)`, run: () => checkIceConfig(url) })),
        ...opts.stun.map((hostPort) => ({ what: `STUN ${hostPort}/udp`, run: () => checkStun(hostPort) })),
        ...opts.grpcHealth.map((target) => ({ what: `gRPC health ${target}`, run: () => checkGrpcHealth(target) })),
        ...opts.running.map((name) => ({ what: `container ${name}`, run: runningCheck(opts.podman, name, inspector) })),
    ];
    const started = Date.now();
    const deadline = started + opts.timeout * 1000;
    /** @type {Map<(typeof checks)[number], string>} */
    const lastError = new Map();
    const pending = new Set(checks);
    while (pending.size > 0 && Date.now() < deadline) {
        // Every 250 ms: a service that answers is seen within a quarter second (each round is a few local
        // requests and one podman inspect); sooner when a container's first second is up before that.
        let pause = 250;
        inspector.newRound();
        for (const check of [...pending]) {
            try {
                const result = await check.run();
                console.log(`ready: ${check.what} -> ${result} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
                pending.delete(check);
            } catch (err) {
                lastError.set(check, /** @type {Error} */ (err).message);
                if (err instanceof LookAgain) pause = Math.min(pause, Math.max(0, err.inMs));
            }
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, pause));
    }
    if (pending.size === 0) {
        console.log(`pod ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return 0;
    }
    const lines = [`not ready after ${opts.timeout} s:`];
    for (const check of pending) lines.push(`  ${check.what}: ${lastError.get(check) ?? "not tried"}`);
    for (const name of opts.logs) {
        const res = spawnSync(opts.podman, ["logs", "--tail", String(opts.logLines), name], { encoding: "utf8" });
        const out = `${res.stdout ?? ""}${res.stderr ?? ""}`.trimEnd() || (res.error ? String(res.error) : "(no output)");
        lines.push(`--- podman logs --tail ${opts.logLines} ${name} ---`, out);
    }
    console.error(lines.join("\n"));
    return 1;
}

module.exports = {
    parseArgs,
    stunBindingRequest,
    stunResponseProblem,
    checkStun,
    checkIceConfig,
    grpcFrame,
    grpcUnframe,
    encodeHealthCheckRequest,
    decodeHealthCheckResponse,
    checkGrpcHealth,
    runningCheck,
    containerInspector,
};

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (err) => {
            console.error(`wait-ready: ${err.message}`);
            process.exit(2);
        },
    );
}
