// providers/dynamicResource.ts: SlurmJob and RemoteCommand store, in `__provider`, exactly the text that
// pulumi.dynamic.Resource would store for their shim (so a state written before or after this change sees
// no difference), either serialized in the run or taken from the build's dist/serialized-shims.json, which
// is used only while it matches the compiled shims and the SDK version.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBuiltShims, SHIMS } from "../../../providers/dynamicResource";
import { RemoteCommand, SlurmJob } from "../../../providers";
import { remoteCommandShim } from "../../../providers/remote/shim";
import { slurmJobShim } from "../../../providers/slurm/shim";
import { mockStack, valueOf } from "../../support/mocks";

const root = path.resolve(__dirname, "../../..");
/** The SDK's own dynamic resource (abstract in its types). */
class SdkDynamic extends pulumi.dynamic.Resource {}

const connection = { host: "login.example", user: "someone", port: 22, privateKey: "not-a-key" };

describe("ShimResource's __provider, serialized in the run (the package run from its sources)", () => {
    it("is the text pulumi.dynamic.Resource records for the same shim, for both resources", async () => {
        const stack = await mockStack({ stack: "dynamic" });
        const resources = [
            new SdkDynamic(slurmJobShim, "sdk-slurm", {}, undefined, "slurm", "SlurmJob"),
            new SdkDynamic(remoteCommandShim, "sdk-remote", {}, undefined, "ssh", "RemoteCommand"),
            new SlurmJob("ours-slurm", { connection, script: "#!/bin/bash\nsleep 60\n" } as never),
            new RemoteCommand("ours-remote", { connection, create: ["true"] }),
        ];
        await Promise.all(resources.map((r) => valueOf(r.urn)));
        const providerOf = (name: string) => stack.byName(name).inputs.__provider;
        expect(providerOf("sdk-slurm")).toMatch(/^exports\.handler = /);
        expect(providerOf("ours-slurm")).toBe(providerOf("sdk-slurm"));
        expect(providerOf("ours-remote")).toBe(providerOf("sdk-remote"));
        expect(stack.byName("ours-slurm").type).toBe("pulumi-nodejs:dynamic/slurm:SlurmJob");
        expect(stack.byName("ours-remote").type).toBe("pulumi-nodejs:dynamic/ssh:RemoteCommand");
    });

    it("refuses a __provider given by the caller, as the SDK does", () => {
        expect(() => new SlurmJob("x", { connection, script: "#!/bin/bash\n", __provider: "x" } as never)).toThrow(/must not define the __provider key/);
    });
});

// The build's path, as a user's program runs it: the package compiled to JavaScript (here into a directory of
// test/.artifacts, so that it resolves this checkout's node_modules), then serialize-shims.js, then node.
describe("dist/serialized-shims.json (the build's serialization)", () => {
    let dist: string;
    beforeAll(() => {
        fs.mkdirSync(path.join(root, "test", ".artifacts"), { recursive: true });
        dist = fs.mkdtempSync(path.join(root, "test", ".artifacts", "dist-"));
        const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
        execFileSync(
            process.execPath,
            [tsc, "-p", path.join(root, "providers", "tsconfig.build.json"), "--outDir", dist, "--noCheck", "--declaration", "false"],
            { cwd: root },
        );
        execFileSync(process.execPath, [path.join(root, "providers", "serialize-shims.js"), dist], { cwd: root });
    }, 120_000);
    afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

    /** In a plain node on the compiled package, under Pulumi's mocks: each resource's __provider, the SDK's, and whether the build's text was used. */
    function runCompiled(): Record<string, string | boolean> {
        const script = `
const pulumi = require("@pulumi/pulumi");
const captured = {};
pulumi.runtime.setMocks({ newResource: (a) => { captured[a.name] = a.inputs.__provider; return { id: a.name, state: a.inputs }; }, call: () => ({}) }, "p", "s", false);
const dist = process.argv[1];
const { SlurmJob, RemoteCommand } = require(dist + "/index.js");
const built = require(dist + "/dynamicResource.js").readBuiltShims(dist);
const connection = { host: "h", user: "u", port: 22, privateKey: "k" };
const resources = [
    new pulumi.dynamic.Resource(require(dist + "/slurm/shim.js").slurmJobShim, "sdk-slurm", {}, undefined, "slurm", "SlurmJob"),
    new pulumi.dynamic.Resource(require(dist + "/remote/shim.js").remoteCommandShim, "sdk-remote", {}, undefined, "ssh", "RemoteCommand"),
    new SlurmJob("ours-slurm", { connection, script: "#!/bin/bash\\n" }),
    new RemoteCommand("ours-remote", { connection, create: ["true"] }),
];
// Printed once every resource is registered (its URN resolves after the mock saw its inputs), however slow the machine.
Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve)))).then(() =>
    console.log(JSON.stringify({ ...captured, builtSlurm: built.slurmJob ?? false, builtRemote: built.remoteCommand ?? false })),
);
`;
        return JSON.parse(execFileSync(process.execPath, ["-e", script, dist], { cwd: root, encoding: "utf8", timeout: 60_000 })) as Record<
            string,
            string | boolean
        >;
    }

    it("holds the SDK's own text of each compiled shim, and the resources store exactly that", () => {
        const out = runCompiled();
        expect(out.builtSlurm).toBe(out["sdk-slurm"]);
        expect(out.builtRemote).toBe(out["sdk-remote"]);
        expect(out["ours-slurm"]).toBe(out["sdk-slurm"]);
        expect(out["ours-remote"]).toBe(out["sdk-remote"]);
    }, 60_000);

    it("is not used once a compiled shim differs from the one it was made from, nor under another SDK version", () => {
        expect(Object.keys(readBuiltShims(dist)).sort()).toEqual(Object.keys(SHIMS).sort());
        const shimFile = path.join(dist, SHIMS.remoteCommand.file);
        const original = fs.readFileSync(shimFile, "utf8");
        fs.writeFileSync(shimFile, `${original}\n// edited after the build\n`);
        try {
            expect(readBuiltShims(dist)).toEqual({});
            // A resource then serializes the shim it runs, as the SDK would: no stale text reaches state.
            const out = runCompiled();
            expect(out.builtRemote).toBe(false);
            expect(out["ours-remote"]).toBe(out["sdk-remote"]);
        } finally {
            fs.writeFileSync(shimFile, original);
        }
        const builtFile = path.join(dist, "serialized-shims.json");
        const built = fs.readFileSync(builtFile, "utf8");
        fs.writeFileSync(builtFile, JSON.stringify({ ...JSON.parse(built), sdkVersion: "0.0.1" }));
        try {
            expect(readBuiltShims(dist)).toEqual({});
        } finally {
            fs.writeFileSync(builtFile, built);
        }
    }, 60_000);
});
