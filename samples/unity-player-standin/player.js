// @ts-check
"use strict";
// STAND-IN for the SPARC Unity Render Streaming player (a Linux player build of com.unity.renderstreaming 3.1).
// It is a real WebRTC peer (@roamhq/wrtc) that speaks Unity's signaling WebSocket protocol as a player in
// public mode (the "Broadcast" role): every browser that sends an offer gets an answer and a synthetic
// test-pattern video track, so the browser -> signaling -> TURN -> player path can be tested without Unity or
// a GPU. It takes the real player's command-line arguments so the pod runs it with the same flags.

const fs = require("node:fs");

const LOG_PREFIX = "unity-player STAND-IN:";
const WIDTH = 320;
const HEIGHT = 240;
const FPS = 30;
// Unity 3.1 manual, "Command line arguments" / "Known issues".
const HEADLESS_WARNING = 'the real player would not stream with this flag: "-batchmode and -nographics options don\'t work with Unity Render Streaming."';

/**
 * @typedef {{ urls: string[], username?: string, credential?: string, credentialType?: "password" | "oauth" }} IceServer
 * @typedef {{ signalingType: "websocket" | "http", signalingUrl: string, iceServers: IceServer[], pollingInterval: number | undefined, warnings: string[] }} PlayerOptions
 */

/** Flags the real player evaluates (SignalingManager); each takes one value. */
const VALUE_FLAGS = new Set([
    "-signalingType",
    "-signalingUrl",
    "-iceServerUrl",
    "-iceServerUsername",
    "-iceServerCredential",
    "-iceServerCredentialType",
    "-pollingInterval",
    "-importJson",
]);

/**
 * Parses the Unity player's command line. Explicit flags override -importJson; -iceServerUrl (repeatable),
 * -iceServerUsername/-Credential/-CredentialType set the first ICE server, like Unity's SignalingManager.
 * Other Unity player flags (-logFile X, -force-vulkan, ...) are accepted and ignored. Errors never quote a
 * credential.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} [env]
 * @param {(file: string) => string} [readFile]
 * @returns {PlayerOptions}
 */
function parseArgs(argv, env = {}, readFile = (file) => fs.readFileSync(file, "utf8")) {
    /** @type {Record<string, string>} */
    const flags = {};
    /** @type {string[]} */
    const iceUrls = [];
    /** @type {string[]} */
    const warnings = [];
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (VALUE_FLAGS.has(flag)) {
            const value = argv[i + 1];
            if (value === undefined) throw new Error(`${flag} needs a value`);
            i++;
            if (flag === "-iceServerUrl") iceUrls.push(value);
            else flags[flag] = value;
        } else if (flag === "-batchmode" || flag === "-nographics") {
            warnings.push(`${flag}: ${HEADLESS_WARNING}`);
        } else if (flag.startsWith("-")) {
            // Another Unity player flag: skip it and its value, if it has one (Unity's own convention).
            if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) i++;
        } else {
            throw new Error(`unexpected argument ${JSON.stringify(flag)}: Unity player flags start with "-"`);
        }
    }

    /** @type {{ signalingType?: unknown, signalingUrl?: unknown, iceServers?: unknown }} */
    let json = {};
    if (flags["-importJson"] !== undefined) {
        const file = flags["-importJson"];
        let text;
        try {
            text = readFile(file);
        } catch (e) {
            throw new Error(`-importJson ${file}: cannot read it (${/** @type {NodeJS.ErrnoException} */ (e).code ?? e})`);
        }
        try {
            json = JSON.parse(text);
        } catch {
            throw new Error(`-importJson ${file}: not valid JSON`);
        }
        if (!json || typeof json !== "object" || Array.isArray(json)) throw new Error(`-importJson ${file}: must be a JSON object`);
    }

    const signalingType = flags["-signalingType"] ?? json.signalingType ?? "websocket";
    if (signalingType !== "websocket" && signalingType !== "http") {
        throw new Error(`signalingType must be "websocket" or "http", got ${JSON.stringify(signalingType)}`);
    }
    const signalingUrl = flags["-signalingUrl"] ?? json.signalingUrl ?? env.SIGNALING_URL;
    if (typeof signalingUrl !== "string" || signalingUrl === "") {
        throw new Error("no signaling URL: give -signalingUrl ws://HOST:PORT, signalingUrl in -importJson, or env SIGNALING_URL");
    }
    if (signalingType === "websocket" && !/^wss?:\/\//.test(signalingUrl)) {
        throw new Error(`signalingUrl must start with ws:// or wss:// for websocket signaling, got ${JSON.stringify(signalingUrl)}`);
    }

    const iceServers = parseJsonIceServers(json.iceServers);
    if (iceUrls.length > 0 || ["-iceServerUsername", "-iceServerCredential", "-iceServerCredentialType"].some((f) => flags[f] !== undefined)) {
        const first = iceServers[0] ?? { urls: [] };
        if (iceUrls.length > 0) first.urls = iceUrls;
        if (flags["-iceServerUsername"] !== undefined) first.username = flags["-iceServerUsername"];
        if (flags["-iceServerCredential"] !== undefined) first.credential = flags["-iceServerCredential"];
        if (flags["-iceServerCredentialType"] !== undefined) first.credentialType = credentialType(flags["-iceServerCredentialType"]);
        if (first.urls.length === 0) throw new Error("-iceServerUsername/-iceServerCredential given but no -iceServerUrl");
        iceServers[0] = first;
    }
    for (const server of iceServers) {
        for (const url of server.urls) {
            if (!/^(stun|turns?):/.test(url)) throw new Error(`ICE server URL must start with stun:, turn: or turns:, got ${JSON.stringify(url)}`);
        }
    }

    let pollingInterval;
    if (flags["-pollingInterval"] !== undefined) {
        pollingInterval = Number(flags["-pollingInterval"]);
        if (!Number.isInteger(pollingInterval) || pollingInterval <= 0) {
            throw new Error(`-pollingInterval must be a positive number of milliseconds, got ${JSON.stringify(flags["-pollingInterval"])}`);
        }
    }
    return { signalingType, signalingUrl, iceServers, pollingInterval, warnings };
}

/**
 * @param {string} value
 * @returns {"password" | "oauth"}
 */
function credentialType(value) {
    if (value !== "password" && value !== "oauth") throw new Error(`credentialType must be "password" or "oauth", got ${JSON.stringify(value)}`);
    return value;
}

/**
 * @param {unknown} value the iceServers array of -importJson
 * @returns {IceServer[]}
 */
function parseJsonIceServers(value) {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new Error("-importJson: iceServers must be an array");
    return value.map((s, i) => {
        if (!s || typeof s !== "object") throw new Error(`-importJson: iceServers[${i}] must be an object`);
        const urls = typeof s.urls === "string" ? [s.urls] : s.urls;
        if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string")) {
            throw new Error(`-importJson: iceServers[${i}].urls must be a URL or a list of URLs`);
        }
        /** @type {IceServer} */
        const server = { urls: [...urls] };
        if (typeof s.username === "string" && s.username !== "") server.username = s.username;
        if (typeof s.credential === "string" && s.credential !== "") server.credential = s.credential;
        if (s.credentialType !== undefined) server.credentialType = credentialType(s.credentialType);
        return server;
    });
}

/**
 * ICE servers for a log line: URLs, and for a TURN REST username ("<unix expiry>:<name>") its expiry. Never the
 * username's name part nor the credential.
 * @param {IceServer[]} iceServers
 */
function describeIceServers(iceServers) {
    if (iceServers.length === 0) return "none (host candidates only)";
    return iceServers
        .map((s) => {
            const expiry = /^(\d+):/.exec(s.username ?? "");
            const auth = expiry ? `, credential expires ${new Date(Number(expiry[1]) * 1000).toISOString()}` : s.credential ? ", static credential" : "";
            return `${s.urls.join(" ")}${auth}`;
        })
        .join("; ");
}

/** @param {string} message */
function log(message) {
    console.log(`${new Date().toISOString()} ${LOG_PREFIX} ${message}`);
}

/**
 * A moving test pattern in I420: a hue that cycles every 6 s and a white bar that sweeps across, so a
 * receiver sees the picture change. Frames are pushed only while a peer exists (2-core machines).
 * @param {any} source a nonstandard.RTCVideoSource
 */
function startTestPattern(source) {
    const ySize = WIDTH * HEIGHT;
    const cSize = ySize / 4;
    const data = new Uint8ClampedArray(ySize + 2 * cSize);
    let n = 0;
    const timer = setInterval(() => {
        const t = n++ / FPS;
        const angle = (t / 6) * 2 * Math.PI;
        data.fill(110, 0, ySize);
        const barX = Math.floor(((t * 80) % (WIDTH + 40)) - 40);
        for (let y = 0; y < HEIGHT; y++) {
            const row = y * WIDTH;
            for (let x = Math.max(0, barX); x < Math.min(WIDTH, barX + 40); x++) data[row + x] = 235;
        }
        data.fill(128 + 100 * Math.cos(angle), ySize, ySize + cSize);
        data.fill(128 + 100 * Math.sin(angle), ySize + cSize);
        source.onFrame({ width: WIDTH, height: HEIGHT, data });
    }, 1000 / FPS);
    return () => clearInterval(timer);
}

/**
 * Runs the stand-in until stop() (SIGTERM/SIGINT).
 * @param {PlayerOptions} opts
 */
function run(opts) {
    const { RTCPeerConnection, nonstandard } = require("@roamhq/wrtc");
    const WebSocket = require("ws");

    log(`signaling ${opts.signalingUrl} (${opts.signalingType}), ICE servers: ${describeIceServers(opts.iceServers)}`);
    for (const warning of opts.warnings) log(`warning: ${warning}`);
    if (opts.iceServers.some((s) => s.credentialType === "oauth"))
        log("warning: credentialType oauth is passed to libwebrtc as is; coturn's REST credentials are password type");

    const source = new nonstandard.RTCVideoSource();
    /** @type {(() => void) | null} */
    let stopPattern = null;
    /** @type {Map<string, { pc: any, remoteSet: boolean, pending: any[] }>} */
    const peers = new Map();
    /** @type {import("ws") | null} */
    let socket = null;
    let stopping = false;
    let backoffMs = 500;
    /** @type {NodeJS.Timeout | undefined} */
    let reconnectTimer;

    /** @param {unknown} msg */
    const send = (msg) => {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
    };

    /**
     * @param {string} id
     * @param {string} why
     */
    const closePeer = (id, why) => {
        const peer = peers.get(id);
        if (!peer) return;
        peers.delete(id);
        peer.pc.close();
        log(`peer ${id} closed (${why}); ${peers.size} peer(s) left`);
        if (peers.size === 0 && stopPattern) {
            stopPattern();
            stopPattern = null;
        }
    };

    /** @param {any} pc */
    const selectedPair = async (pc) => {
        /** @type {Map<string, any>} */
        const stats = new Map();
        (await pc.getStats()).forEach((/** @type {any} */ s) => stats.set(s.id, s));
        let pair = [...stats.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId);
        pair = pair
            ? stats.get(pair.selectedCandidatePairId)
            : [...stats.values()].find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
        if (!pair) return "pair unknown";
        const local = stats.get(pair.localCandidateId);
        const remote = stats.get(pair.remoteCandidateId);
        return `local ${local?.candidateType ?? "?"}/${local?.protocol ?? "?"}, remote ${remote?.candidateType ?? "?"}/${remote?.protocol ?? "?"}`;
    };

    /**
     * @param {string} id
     * @param {string} sdp
     */
    const onOffer = async (id, sdp) => {
        if (peers.has(id)) closePeer(id, "new offer for the same connectionId");
        const pc = new RTCPeerConnection({ iceServers: opts.iceServers });
        const peer = { pc, remoteSet: false, pending: /** @type {any[]} */ ([]) };
        peers.set(id, peer);
        pc.onicecandidate = (/** @type {any} */ e) => {
            if (!e.candidate) return;
            send({
                type: "candidate",
                data: { connectionId: id, candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex, sdpMid: e.candidate.sdpMid },
            });
        };
        pc.onconnectionstatechange = () => {
            if (peers.get(id)?.pc !== pc) return;
            const state = pc.connectionState;
            if (state === "connected") {
                selectedPair(pc).then(
                    (pair) => log(`peer ${id} connected (${pair})`),
                    () => log(`peer ${id} connected`),
                );
            } else if (state === "failed" || state === "closed") {
                closePeer(id, `connection ${state}`);
            }
        };
        if (!stopPattern) stopPattern = startTestPattern(source);
        const track = source.createTrack();
        pc.addTrack(track);
        try {
            await pc.setRemoteDescription({ type: "offer", sdp });
            peer.remoteSet = true;
            for (const c of peer.pending.splice(0)) await pc.addIceCandidate(c).catch(() => undefined);
            const answer = await pc.createAnswer();
            await pc.setLocalDescription(answer);
            send({ type: "answer", data: { connectionId: id, sdp: pc.localDescription.sdp } });
            log(`peer ${id}: answered its offer`);
        } catch (e) {
            log(`peer ${id}: cannot answer its offer: ${e instanceof Error ? e.message : e}`);
            closePeer(id, "offer failed");
        }
    };

    /** @param {any} msg */
    const onMessage = (msg) => {
        if (!msg || typeof msg !== "object") return;
        const from = typeof msg.from === "string" ? msg.from : undefined;
        switch (msg.type) {
            case "offer":
                if (from && typeof msg.data?.sdp === "string") void onOffer(from, msg.data.sdp);
                break;
            case "candidate": {
                // Public mode relays every browser's candidates to every client: only ours matter.
                const peer = from ? peers.get(from) : undefined;
                if (!peer || typeof msg.data?.candidate !== "string") return;
                const c = { candidate: msg.data.candidate, sdpMLineIndex: msg.data.sdpMLineIndex, sdpMid: msg.data.sdpMid };
                if (peer.remoteSet)
                    peer.pc.addIceCandidate(c).catch((/** @type {unknown} */ e) => log(`peer ${from}: bad candidate (${e instanceof Error ? e.message : e})`));
                else peer.pending.push(c);
                break;
            }
            case "disconnect":
                if (typeof msg.connectionId === "string") closePeer(msg.connectionId, "browser disconnected");
                break;
            case "error":
                log(`signaling error: ${String(msg.message).slice(0, 200)}`);
                break;
            default:
                break;
        }
    };

    const connect = () => {
        const ws = new WebSocket(opts.signalingUrl);
        socket = ws;
        let opened = false;
        let lastError = "";
        ws.on("open", () => {
            opened = true;
            backoffMs = 500;
            log(`connected to signaling ${opts.signalingUrl}`);
        });
        ws.on("message", (raw) => {
            try {
                onMessage(JSON.parse(String(raw)));
            } catch {
                log("signaling sent a message that is not JSON; ignored");
            }
        });
        ws.on("error", (e) => (lastError = e.message)); // logged with the close that follows
        ws.on("close", () => {
            if (socket !== ws) return;
            socket = null;
            // The server tells the browsers "disconnect" when our socket goes; their peers would linger here.
            for (const id of [...peers.keys()]) closePeer(id, "signaling connection lost");
            if (stopping) return;
            log(
                `signaling ${opts.signalingUrl} ${opened ? "connection lost" : "not reachable"}${lastError ? ` (${lastError})` : ""}; reconnecting in ${backoffMs} ms`,
            );
            reconnectTimer = setTimeout(connect, backoffMs);
            backoffMs = Math.min(backoffMs * 2, 10_000);
        });
    };
    connect();

    const stop = () => {
        if (stopping) return;
        stopping = true;
        clearTimeout(reconnectTimer);
        for (const id of [...peers.keys()]) closePeer(id, "stand-in stopping");
        socket?.close();
        log("stopped");
        // Exit explicitly, soon: libwebrtc's threads can keep the process alive (`podman rm -t N` would wait N
        // seconds), and a natural exit with a live RTCVideoSource segfaults in its teardown (exit code 139).
        setTimeout(() => process.exit(0), 100);
    };
    return stop;
}

module.exports = { parseArgs, describeIceServers };

if (require.main === module) {
    let opts;
    try {
        opts = parseArgs(process.argv.slice(2), process.env);
    } catch (e) {
        console.error(`${LOG_PREFIX} ${e instanceof Error ? e.message : e}`);
        process.exit(2);
    }
    if (opts.signalingType === "http") {
        console.error(
            `${LOG_PREFIX} -signalingType http is not implemented by this stand-in (the pod's signaling server is WebSocket-only); use -signalingType websocket`,
        );
        process.exit(2);
    }
    const stop = run(opts);
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
