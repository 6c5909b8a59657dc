// Drives the SlurmJob provider through Pulumi's own dynamic-provider host process
// (@pulumi/pulumi/cmd/dynamic-provider) over gRPC, against the real cluster. The
// provider is compiled with tsc and closure-serialized by the SDK in a plain Node
// process, as `pulumi up` does, so this proves the serialized copy that state
// keeps (and that `pulumi destroy` runs) works outside the test process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { jobInputs, onCluster, requireClusterOrSkip, squeueState, USER_KEY_PATH } from "../support/cluster";
import { compileProviders, serializeProvider } from "../support/serialized-provider";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const provproto: Any = require("@pulumi/pulumi/proto/provider_pb");
const provrpc: Any = require("@pulumi/pulumi/proto/provider_grpc_pb");

const root = path.resolve(__dirname, "../..");
const available = requireClusterOrSkip();
const URN = "urn:pulumi:test::sparc-deploy::pulumi-nodejs:dynamic/slurm:SlurmJob::mas";

function call<T>(client: Any, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](request, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))));
}

describe.skipIf(!available)("SlurmJob through the real dynamic-provider host (gRPC)", () => {
    let host: ChildProcess;
    let client: Any;
    let providerText: string;
    let wholeProviderText: string;
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-grpc-"));

    beforeAll(async () => {
        compileProviders(outDir, ["providers/slurm/index.ts"]);
        // What SlurmJob stores in state: the shim (resource.ts); the whole provider only for comparison.
        providerText = serializeProvider(outDir, "providers/slurm/shim.js", "slurmJobShim");
        wholeProviderText = serializeProvider(outDir, "providers/slurm/provider.js");
        console.log(`serialized shim (in state): ${providerText.length} characters; whole provider (before): ${wholeProviderText.length} characters`);

        host = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/dynamic-provider"), "127.0.0.1:9"], {
            cwd: root,
            env: { ...process.env, PULUMI_NODEJS_PROJECT: "sparc-deploy", PULUMI_NODEJS_STACK: "test" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        host.stderr?.on("data", (d: Buffer) => process.stderr.write(`[provider host] ${d}`));
        const port = await new Promise<string>((resolve, reject) => {
            host.once("exit", (code) => reject(new Error(`provider host exited ${code}`)));
            host.stdout?.once("data", (d: Buffer) => resolve(d.toString().split("\n")[0].trim()));
        });
        host.stdout?.on("data", (d: Buffer) => process.stdout.write(`[provider host] ${d}`));
        client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        const configure = new provproto.ConfigureRequest();
        configure.setArgs(Struct.fromJavaScript({}));
        await call(client, "configure", configure);
    }, 180_000);

    afterAll(() => {
        client?.close();
        host?.kill();
        fs.rmSync(outDir, { recursive: true, force: true });
    });

    it("serializes to a small shim that requires the installed provider package by name and holds no credentials", () => {
        expect(providerText).toContain('require("@sparc-deploy/slurm-provider")');
        expect(providerText).toContain("sparc-slurm-shim/1");
        expect(providerText).not.toContain("sbatch");
        expect(providerText.length).toBeLessThan(4000);
        expect(wholeProviderText).toContain('require("ssh2")');
        expect(providerText).not.toMatch(/PRIVATE KEY-----(\\n|\n)[A-Za-z0-9+/]{20}/);
        expect(providerText).not.toContain(fs.readFileSync(USER_KEY_PATH, "utf8").split("\n")[1]);
        expect(providerText).not.toContain("__vite_ssr");
    });

    it("checks, creates, reads and deletes a job through the provider host", async () => {
        const inputs = { ...jobInputs({ command: "sleep 300", output: "/dev/null", waitFor: "running" }, "grpc"), __provider: providerText };

        const check = new provproto.CheckRequest();
        check.setUrn(URN);
        check.setOlds(Struct.fromJavaScript({}));
        check.setNews(Struct.fromJavaScript(inputs));
        const checked: Any = await call(client, "check", check);
        expect(checked.getFailuresList()).toEqual([]);
        const checkedInputs = checked.getInputs().toJavaScript();
        expect(checkedInputs.cancelGraceSeconds).toBe(30);

        const bad = new provproto.CheckRequest();
        bad.setUrn(URN);
        bad.setOlds(Struct.fromJavaScript({}));
        bad.setNews(Struct.fromJavaScript({ ...inputs, mem: "lots" }));
        const rejected: Any = await call(client, "check", bad);
        expect(rejected.getFailuresList().map((f: Any) => f.getProperty())).toEqual(["mem"]);

        const create = new provproto.CreateRequest();
        create.setUrn(URN);
        create.setProperties(Struct.fromJavaScript(checkedInputs));
        const created: Any = await call(client, "create", create);
        const jobId: string = created.getId();
        const outs = created.getProperties().toJavaScript();
        try {
            expect(jobId).toMatch(/^[0-9]+$/);
            expect(outs.state).toBe("RUNNING");
            expect(outs.__provider).toBe(providerText);
            expect(squeueState(jobId)).toBe("RUNNING");

            onCluster(`scancel ${Number(jobId)}`);
            const read = new provproto.ReadRequest();
            read.setId(jobId);
            read.setUrn(URN);
            read.setProperties(Struct.fromJavaScript(outs));
            let state = "";
            for (let i = 0; i < 30 && state !== "CANCELLED"; i++) {
                const r: Any = await call(client, "read", read);
                state = r.getProperties().toJavaScript().state;
                if (state !== "CANCELLED") {
                    await new Promise((res) => setTimeout(res, 500));
                }
            }
            expect(state).toBe("CANCELLED");

            const diff = new provproto.DiffRequest();
            diff.setId(jobId);
            diff.setUrn(URN);
            diff.setOlds(Struct.fromJavaScript({ ...outs, state: "CANCELLED" }));
            diff.setNews(Struct.fromJavaScript(checkedInputs));
            const diffed: Any = await call(client, "diff", diff);
            expect(diffed.getReplacesList()).toEqual(["state"]);
            expect(diffed.getDeletebeforereplace()).toBe(true);
        } finally {
            const del = new provproto.DeleteRequest();
            del.setId(jobId);
            del.setUrn(URN);
            del.setProperties(Struct.fromJavaScript(outs));
            await call(client, "delete", del);
        }
        expect(["CANCELLED", ""]).toContain(squeueState(jobId));
    }, 120_000);
});
