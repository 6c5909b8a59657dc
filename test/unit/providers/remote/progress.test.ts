// Progress lines (providers/remote/progress.ts, providers/slurm/polling.ts): their wording, their
// rate, that they name no secret, and that they reach an Engine service (the SDK's own gRPC
// stubs, served in-process) under the resource's URN, or stdout with the resource's label.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
    engineAddress,
    formatBytes,
    logUrnOf,
    newTailLines,
    progressFlushed,
    progressLine,
    secondFactorNotice,
    uploadReporter,
    useProgressEngine,
    withProgressScope,
} from "../../../../providers/remote/progress";
import { pendingLine } from "../../../../providers/slurm/polling";

describe("engineAddress", () => {
    it.each<[string, string[], string | undefined]>([
        ["the dynamic-provider process", ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "127.0.0.1:40123"], "127.0.0.1:40123"],
        ["its directory as the script", ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider", "localhost:7"], "localhost:7"],
        ["vitest", ["node", "/p/node_modules/vitest/vitest.mjs", "run"], undefined],
        ["a script with no address", ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js"], undefined],
        ["an argument that is no address", ["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "--help"], undefined],
    ])("%s", (_what, argv, expected) => {
        expect(engineAddress(argv)).toBe(expected);
    });
});

describe("logUrnOf", () => {
    const stackRoot = { __pulumiType: "pulumi:pulumi:Stack" };
    const hpg = { __pulumiType: "sparc:hpg:HpgStack", __parentResource: stackRoot };
    it.each<[string, unknown, string]>([
        ["under the stack", stackRoot, "urn:pulumi:hpg::sparc-deploy::pulumi-nodejs:dynamic/slurm:SlurmJob::job"],
        ["no parent given", undefined, "urn:pulumi:hpg::sparc-deploy::pulumi-nodejs:dynamic/slurm:SlurmJob::job"],
        ["in a component", hpg, "urn:pulumi:hpg::sparc-deploy::sparc:hpg:HpgStack$pulumi-nodejs:dynamic/slurm:SlurmJob::job"],
        [
            "two components deep",
            { __pulumiType: "sparc:images:SparcImages", __parentResource: hpg },
            "urn:pulumi:hpg::sparc-deploy::sparc:hpg:HpgStack$sparc:images:SparcImages$pulumi-nodejs:dynamic/slurm:SlurmJob::job",
        ],
        ["a parent without the SDK's fields", { urn: "x" }, ""],
    ])("%s", (_what, parent, urn) => {
        expect(logUrnOf("job", "pulumi-nodejs:dynamic/slurm:SlurmJob", parent, "sparc-deploy", "hpg")).toBe(urn);
    });
});

describe("formatBytes", () => {
    it.each<[number, string]>([
        [0, "0 B"],
        [1023, "1023 B"],
        [1536, "1.5 KiB"],
        [5 * 1024 * 1024, "5.0 MiB"],
        [3.25 * 1024 ** 3, "3.3 GiB"],
    ])("%d", (bytes, text) => {
        expect(formatBytes(bytes)).toBe(text);
    });
});

describe("uploadReporter", () => {
    it("reports every 10 % and at the end, not each chunk", () => {
        const lines: string[] = [];
        let t = 0;
        const report = uploadReporter("uploading a.tar to u@h:22", 1000, (l) => lines.push(l), { now: () => t });
        for (let sent = 10; sent <= 1000; sent += 10) {
            t += 10; // 10 ms a chunk: the time bound never fires
            report(sent);
        }
        report(1000);
        expect(lines).toHaveLength(10);
        expect(lines[0]).toBe("uploading a.tar to u@h:22: 100 B of 1000 B sent (10%), 1000 B/s");
        expect(lines[9]).toBe("uploading a.tar to u@h:22: 1000 B of 1000 B sent (100%), 1000 B/s");
    });

    it("reports a slow upload every 15 s between the 10 % marks", () => {
        const lines: string[] = [];
        let t = 0;
        const report = uploadReporter("up", 10 * 1024 ** 3, (l) => lines.push(l), { now: () => t });
        for (let s = 1; s <= 60; s++) {
            t = s * 1000;
            report(s * 1024 ** 2); // 1 MiB/s: 60 MiB is far below the first 10 %
        }
        expect(lines).toEqual([
            "up: 15.0 MiB of 10.0 GiB sent (0%), 1.0 MiB/s",
            "up: 30.0 MiB of 10.0 GiB sent (0%), 1.0 MiB/s",
            "up: 45.0 MiB of 10.0 GiB sent (0%), 1.0 MiB/s",
            "up: 60.0 MiB of 10.0 GiB sent (0%), 1.0 MiB/s",
        ]);
    });

    it("a jump past several marks gives one line", () => {
        const lines: string[] = [];
        const report = uploadReporter("up", 100, (l) => lines.push(l), { now: () => 0 });
        report(55);
        report(58);
        report(61);
        expect(lines).toEqual(["up: 55 B of 100 B sent (55%)", "up: 61 B of 100 B sent (61%)"]);
    });
});

describe("newTailLines", () => {
    it.each<[string, string[], string[], string[]]>([
        ["first read", [], ["a", "b"], ["a", "b"]],
        ["nothing new", ["a", "b", "c"], ["a", "b", "c"], []],
        ["two new lines", ["a", "b", "c"], ["c", "d", "e"], ["d", "e"]],
        ["grown by more than the tail", ["a", "b"], ["x", "y"], ["x", "y"]],
        ["one new line after a full overlap", ["a", "b", "c"], ["b", "c", "d"], ["d"]],
    ])("%s", (_what, previous, current, fresh) => {
        expect(newTailLines(previous, current)).toEqual(fresh);
    });
});

describe("pendingLine", () => {
    it("names the reason, Slurm's estimate and the wait", () => {
        expect(pendingLine("42", "Priority", "2026-12-04T10:12:00", 65.4, 534.6)).toBe(
            "job 42 PENDING (Priority); Slurm's start estimate 2026-12-04T10:12:00; waited 65 s, at most 535 s more (waitTimeoutSeconds)",
        );
    });
    it("says when Slurm has no estimate or reason", () => {
        expect(pendingLine("42", "", "", 1, -3)).toBe(
            "job 42 PENDING (no reason given); no start estimate yet; waited 1 s, at most 0 s more (waitTimeoutSeconds)",
        );
    });
});

describe("secondFactorNotice", () => {
    const conn = { host: "hpg.rc.ufl.edu", port: 2222, user: "albert", privateKey: "PRIVATE-KEY-TEXT", passphrase: "key-pass" };
    it("is there only when a second-factor answer is configured", () => {
        expect(secondFactorNotice(conn, {})).toBeUndefined();
        const notice = secondFactorNotice({ ...conn, keyboardInteractiveAnswers: ["123456"] }, {});
        expect(notice).toMatch(/^logging in to albert@hpg\.rc\.ufl\.edu:2222, which may ask for a second factor.*approve it on your phone now/);
        expect(secondFactorNotice(conn, { SPARC_HPG_MFA_ANSWERS: "push" })).toBe(notice);
    });
    it("names no answer, key or passphrase", () => {
        const notice = secondFactorNotice({ ...conn, keyboardInteractiveAnswers: ["123456"] }, { SPARC_HPG_MFA_ANSWERS: "654321" }) ?? "";
        for (const secret of ["123456", "654321", "PRIVATE-KEY-TEXT", "key-pass"]) {
            expect(notice).not.toContain(secret);
        }
    });
});

describe("progressLine", () => {
    const received: { urn: string; message: string; severity: number; ephemeral: boolean }[] = [];
    let server: import("@grpc/grpc-js").Server;
    let address = "";

    beforeAll(async () => {
        const stubs = require.resolve("@pulumi/pulumi/proto/engine_grpc_pb");
        const grpc = require(require.resolve("@grpc/grpc-js", { paths: [stubs] })) as typeof import("@grpc/grpc-js");
        const { EngineService } = require(stubs) as { EngineService: import("@grpc/grpc-js").ServiceDefinition };
        const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };
        server = new grpc.Server();
        server.addService(EngineService, {
            log: (
                call: { request: { getUrn(): string; getMessage(): string; getSeverity(): number; getEphemeral(): boolean } },
                cb: (e: null, r: unknown) => void,
            ) => {
                received.push({
                    urn: call.request.getUrn(),
                    message: call.request.getMessage(),
                    severity: call.request.getSeverity(),
                    ephemeral: call.request.getEphemeral(),
                });
                cb(null, new Empty());
            },
        });
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
        );
        address = `127.0.0.1:${port}`;
    });
    afterAll(() => {
        useProgressEngine(undefined);
        server.forceShutdown();
    });
    afterEach(() => {
        received.length = 0;
        vi.restoreAllMocks();
    });

    const URN = "urn:pulumi:hpg::sparc-deploy::sparc:hpg:HpgStack$pulumi-nodejs:dynamic/slurm:SlurmJob::sparc-service";

    it("goes to the engine under the scope's URN, in order", async () => {
        useProgressEngine(address);
        const stdout = vi.spyOn(console, "log").mockImplementation(() => undefined);
        await withProgressScope({ logUrn: URN }, "[SlurmJob t]", async () => {
            progressLine("[SlurmJob t]", "one");
            await new Promise((r) => setTimeout(r, 5));
            progressLine(undefined, "two (a login, said under whichever resource started it)");
            progressLine("[SlurmJob t]", "three");
        });
        await progressFlushed();
        expect(received).toEqual([
            { urn: URN, message: "one", severity: 1, ephemeral: false },
            { urn: URN, message: "two (a login, said under whichever resource started it)", severity: 1, ephemeral: false },
            { urn: URN, message: "three", severity: 1, ephemeral: false },
        ]);
        expect(stdout).not.toHaveBeenCalled();
    });

    it("goes to stdout with the label without a URN (older state), outside any scope, or about another resource", async () => {
        useProgressEngine(address);
        const stdout = vi.spyOn(console, "log").mockImplementation(() => undefined);
        await withProgressScope({}, "[SlurmJob old]", async () => progressLine("[SlurmJob old]", "a"));
        progressLine("[SlurmJob none]", "b");
        await withProgressScope({ logUrn: URN }, "[SlurmJob t]", async () => progressLine("[SlurmJob other]", "c"));
        await progressFlushed();
        expect(received).toEqual([]);
        expect(stdout.mock.calls.map((c) => c[0])).toEqual(["[SlurmJob old] a", "[SlurmJob none] b", "[SlurmJob other] c"]);
    });

    it("goes to stdout when no engine answers", async () => {
        useProgressEngine("127.0.0.1:1");
        const stdout = vi.spyOn(console, "log").mockImplementation(() => undefined);
        await withProgressScope({ logUrn: URN }, "[RemoteCommand copy]", async () => progressLine(undefined, "uploading"));
        await progressFlushed();
        expect(stdout.mock.calls.map((c) => c[0])).toEqual(["[RemoteCommand copy] uploading"]);
    });
});
