#!/usr/bin/env node
// @ts-check
"use strict";
// A STAND-IN for Riva's gRPC health service, not Riva: Riva needs an NVIDIA GPU, NGC access and a
// model repository, none of which exist on the test machines. It answers only
// grpc.health.v1.Health/Check (cleartext HTTP/2, as Riva on 50051 and grpc_health_probe speak it),
// with its own small protobuf code (not wait-ready.js's, so a shared bug cannot hide), and answers
// every other method with grpc-status 12 UNIMPLEMENTED.
//
// In a test: const s = await startGrpcHealthStandin({ status: "NOT_SERVING" }); s.setStatus("SERVING"); await s.close();
// As a container command, taking Riva's own command line (the dev stack's rivaCommand):
//   node server.js start-riva --riva-uri=0.0.0.0:50051 [--serving-after SECONDS] [other start-riva flags, ignored]
// It answers NOT_SERVING for --serving-after seconds (models loading), then SERVING; SIGUSR1 switches to
// NOT_SERVING, SIGUSR2 back to SERVING. It logs whether NGC_API_KEY is set (never its value) and what /data holds.
const http2 = require("node:http2");
const fs = require("node:fs");

/** @typedef {"UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN"} ServingStatus */
/** @type {Record<ServingStatus, number>} */
const statusNumber = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

/**
 * The service name in a HealthCheckRequest frame (field 1, string), "" when absent.
 * @param {Buffer} body
 */
function requestedService(body) {
    const message = body.subarray(5, 5 + (body.length >= 5 ? body.readUInt32BE(1) : 0));
    return message.length >= 2 && message[0] === 0x0a ? message.subarray(2, 2 + message[1]).toString("utf8") : "";
}

/**
 * @param {{ host?: string, port?: number, status?: ServingStatus }} [options]
 * @returns {Promise<{ port: number, setStatus: (s: ServingStatus) => void, requests: () => string[], close: () => Promise<void> }>}
 */
function startGrpcHealthStandin(options = {}) {
    let status = options.status ?? "SERVING";
    /** @type {string[]} */
    const seen = [];
    const server = http2.createServer();
    server.on("stream", (stream, headers) => {
        /** @type {Buffer[]} */
        const chunks = [];
        stream.on("data", (/** @type {Buffer} */ c) => chunks.push(c));
        stream.on("end", () => {
            if (headers[":path"] !== "/grpc.health.v1.Health/Check") {
                stream.respond(
                    { ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "UNIMPLEMENTED" },
                    { endStream: true },
                );
                return;
            }
            seen.push(requestedService(Buffer.concat(chunks)));
            // HealthCheckResponse { status = 1 (varint) }, framed: flag 0, length 2.
            const message = Buffer.from([0x08, statusNumber[status]]);
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end(Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]));
        });
    });
    /** @type {Set<import("node:http2").ServerHttp2Session>} */
    const sessions = new Set();
    server.on("session", (s) => {
        sessions.add(s);
        s.on("close", () => sessions.delete(s));
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
            const address = server.address();
            resolve({
                port: typeof address === "object" && address !== null ? address.port : 0,
                setStatus: (s) => (status = s),
                requests: () => [...seen],
                close: () =>
                    new Promise((done) => {
                        for (const s of sessions) s.destroy();
                        server.close(() => done());
                    }),
            });
        });
    });
}

/** @param {string[]} argv Riva's command line (start-riva and its flags) */
async function main(argv) {
    const uri = argv.find((a) => a.startsWith("--riva-uri="))?.slice("--riva-uri=".length) ?? "0.0.0.0:50051";
    const i = argv.indexOf("--serving-after");
    const servingAfter = i >= 0 ? Number(argv[i + 1]) : 0;
    const [host, port] = [uri.slice(0, uri.lastIndexOf(":")), Number(uri.slice(uri.lastIndexOf(":") + 1))];
    const s = await startGrpcHealthStandin({ host, port, status: servingAfter > 0 ? "NOT_SERVING" : "SERVING" });
    const data = fs.existsSync("/data") ? fs.readdirSync("/data").sort().join(",") || "(empty)" : "(no /data)";
    console.log(`grpc-health stand-in (NOT Riva) on ${host}:${s.port}; NGC_API_KEY ${process.env.NGC_API_KEY ? "set" : "not set"}; /data: ${data}`);
    if (servingAfter > 0) {
        setTimeout(() => {
            s.setStatus("SERVING");
            console.log("stand-in: SERVING");
        }, servingAfter * 1000);
    }
    process.on("SIGUSR1", () => s.setStatus("NOT_SERVING"));
    process.on("SIGUSR2", () => s.setStatus("SERVING"));
    process.on("SIGTERM", () => s.close().then(() => process.exit(0)));
}

module.exports = { startGrpcHealthStandin };

if (require.main === module) {
    main(process.argv.slice(2)).catch((err) => {
        console.error(`grpc-health stand-in: ${err.message}`);
        process.exit(1);
    });
}
