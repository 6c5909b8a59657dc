// wait-ready.js --grpc-health: the gRPC frame and grpc.health.v1 message code, and the whole check
// against the gRPC health STAND-IN (test/standins/grpc-health/server.js; Riva itself needs a GPU and NGC).
import * as net from "node:net";
import { createRequire } from "node:module";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../../support/ports";
import { run } from "../../../support/spawn";

const root = path.resolve(__dirname, "..", "..", "..", "..");
const waitReady = path.join(root, "scripts/podman/wait-ready.js");
const load = createRequire(__filename);

interface Codec {
    grpcFrame(message: Buffer): Buffer;
    grpcUnframe(body: Buffer): Buffer;
    encodeHealthCheckRequest(service: string): Buffer;
    decodeHealthCheckResponse(message: Buffer): string;
    checkGrpcHealth(target: string, service?: string, timeoutMs?: number): Promise<string>;
}
type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
interface Standin {
    port: number;
    setStatus(s: ServingStatus): void;
    requests(): string[];
    close(): Promise<void>;
}
const codec = load(waitReady) as Codec;
const { startGrpcHealthStandin } = load(path.join(root, "test/standins/grpc-health/server.js")) as {
    startGrpcHealthStandin(o?: { status?: ServingStatus }): Promise<Standin>;
};

const hex = (b: Buffer) => b.toString("hex");

describe("gRPC frame and grpc.health.v1 messages", () => {
    it.each([
        { label: "empty request (the whole server, as grpc_health_probe asks)", service: "", request: "", frame: "0000000000" },
        { label: "request for a service: field 1, length, UTF-8", service: "riva", request: "0a0472697661", frame: "00000000060a0472697661" },
    ])("encode: $label", ({ service, request, frame }) => {
        expect(hex(codec.encodeHealthCheckRequest(service))).toBe(request);
        expect(hex(codec.grpcFrame(codec.encodeHealthCheckRequest(service)))).toBe(frame);
    });

    it.each([
        { message: "0801", status: "SERVING" },
        { message: "0802", status: "NOT_SERVING" },
        { message: "0803", status: "SERVICE_UNKNOWN" },
        { message: "", status: "UNKNOWN" }, // proto3: a default value is left out
        { message: "0800", status: "UNKNOWN" },
        { message: "1203616263" + "0801", status: "SERVING" }, // an unknown length-delimited field first is skipped
        { message: "2001" + "0802", status: "NOT_SERVING" }, // an unknown varint field is skipped
        { message: "0809", status: "status 9" },
    ])("decode $message -> $status", ({ message, status }) => {
        expect(codec.decodeHealthCheckResponse(Buffer.from(message, "hex"))).toBe(status);
    });

    it.each([
        { body: "000000", error: /shorter than a frame header/ },
        { body: "01000000020801", error: /compressed gRPC message/ },
        { body: "000000000308", error: /frame says 3 bytes, body has 1/ },
    ])("unframe refuses $body", ({ body, error }) => {
        expect(() => codec.grpcUnframe(Buffer.from(body, "hex"))).toThrow(error);
    });

    it("decode refuses a truncated varint", () => {
        expect(() => codec.decodeHealthCheckResponse(Buffer.from("08", "hex"))).toThrow(/truncated/);
    });
});

/** Run wait-ready.js; its exit code, output (stdout, then stderr) and how long it took. */
async function runWaitReady(args: string[]): Promise<{ code: number | null; out: string; seconds: number }> {
    const started = Date.now();
    const r = await run(process.execPath, [waitReady, ...args]);
    return { code: r.status, out: r.stdout + r.stderr, seconds: (Date.now() - started) / 1000 };
}

describe("wait-ready --grpc-health against the gRPC health stand-in", () => {
    let standin: Standin | undefined;
    afterEach(async () => {
        await standin?.close();
        standin = undefined;
    });

    it("SERVING: ready at once", async () => {
        standin = await startGrpcHealthStandin();
        const r = await runWaitReady(["--timeout", "10", "--grpc-health", `127.0.0.1:${standin.port}`]);
        expect(r.out).toMatch(new RegExp(`ready: gRPC health 127\\.0\\.0\\.1:${standin.port} -> gRPC health SERVING after`));
        expect(r.code).toBe(0);
        expect(standin.requests()[0]).toBe("");
    });

    it("NOT_SERVING until the switch: waits, then ready", async () => {
        standin = await startGrpcHealthStandin({ status: "NOT_SERVING" });
        const s = standin;
        setTimeout(() => s.setStatus("SERVING"), 1500);
        const r = await runWaitReady(["--timeout", "20", "--grpc-health", `127.0.0.1:${s.port}`]);
        expect(r.code).toBe(0);
        expect(s.requests().length).toBeGreaterThan(1);
    });

    it("NOT_SERVING: fails after the timeout, saying so", async () => {
        standin = await startGrpcHealthStandin({ status: "NOT_SERVING" });
        const r = await runWaitReady(["--timeout", "2", "--grpc-health", `127.0.0.1:${standin.port}`, "--logs", "no-such-container", "--podman", "false"]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(`not ready after 2 s:\n  gRPC health 127.0.0.1:${standin.port}: gRPC health NOT_SERVING`);
        expect(r.out).toContain("--- podman logs --tail 30 no-such-container ---");
    });

    it("nothing listening: fails within the bound, naming the refused connection", async () => {
        const port = await freePort();
        const r = await runWaitReady(["--timeout", "2", "--grpc-health", `127.0.0.1:${port}`]);
        expect(r.code).toBe(1);
        expect(r.out).toContain(`gRPC health 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
        // The bound plus at most one attempt (3 s) begun just before it.
        expect(r.seconds).toBeLessThan(2 + 3 + 2);
    });

    it.each([
        {
            label: "a gRPC error (Trailers-Only): grpc-status and grpc-message shown",
            answer: (stream: import("node:http2").ServerHttp2Stream) =>
                stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "no%20health" }, { endStream: true }),
            error: /^grpc-status 12 \(no health\)$/,
        },
        {
            label: "not gRPC: the HTTP/2 status shown",
            answer: (stream: import("node:http2").ServerHttp2Stream) => stream.respond({ ":status": 404 }, { endStream: true }),
            error: /^HTTP\/2 status 404 \(not a gRPC server\?\)$/,
        },
    ])("$label", async ({ answer, error }) => {
        const http2 = await import("node:http2");
        const server = http2.createServer();
        server.on("stream", (stream) => stream.on("end", () => answer(stream)).resume());
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as net.AddressInfo).port;
        try {
            await expect(codec.checkGrpcHealth(`127.0.0.1:${port}`, "", 2000)).rejects.toThrow(error);
        } finally {
            server.close();
        }
    });

    it("refuses a malformed target", async () => {
        const r = await runWaitReady(["--grpc-health", "http://x:1"]);
        expect(r.code).toBe(2);
        expect(r.out).toContain("--grpc-health wants HOST:PORT");
    });
});
