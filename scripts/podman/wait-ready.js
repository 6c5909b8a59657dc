#!/usr/bin/env node
// @ts-check
"use strict";
// wait-ready.js - wait until the dev pod answers: HTTP 200 from each --http URL and a
// WebSocket handshake (101 + correct Sec-WebSocket-Accept) on each --websocket URL,
// bounded by --timeout seconds. On timeout it prints what failed and the last log lines
// of each --logs container (podman logs --tail N), then exits 1, so the Pulumi command
// error shows why. Node builtins only: runs under any node >= 18.
//
// usage: node wait-ready.js --timeout 120 --http http://127.0.0.1:8000/health \
//          --websocket ws://127.0.0.1:8080/ --logs mas-server --logs signaling-server [--log-lines 30]
const http = require("node:http");
const crypto = require("node:crypto");
const { spawnSync } = require("node:child_process");

/**
 * @param {string[]} argv
 * @returns {{ http: string[], websocket: string[], logs: string[], timeout: number, logLines: number, podman: string }}
 */
function parseArgs(argv) {
    /** @type {ReturnType<typeof parseArgs>} */
    const opts = { http: [], websocket: [], logs: [], timeout: 120, logLines: 30, podman: "podman" };
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
            case "--logs":
                opts.logs.push(value);
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

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const checks = [
        ...opts.http.map((url) => ({ what: `GET ${url}`, run: () => checkHttp(url) })),
        ...opts.websocket.map((url) => ({ what: `WebSocket ${url}`, run: () => checkWebSocket(url) })),
    ];
    const started = Date.now();
    const deadline = started + opts.timeout * 1000;
    /** @type {Map<(typeof checks)[number], string>} */
    const lastError = new Map();
    const pending = new Set(checks);
    while (pending.size > 0 && Date.now() < deadline) {
        for (const check of [...pending]) {
            try {
                const result = await check.run();
                console.log(`ready: ${check.what} -> ${result} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
                pending.delete(check);
            } catch (err) {
                lastError.set(check, /** @type {Error} */ (err).message);
            }
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
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

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`wait-ready: ${err.message}`);
        process.exit(2);
    },
);
