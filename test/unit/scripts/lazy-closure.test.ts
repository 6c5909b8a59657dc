// scripts/lazy-closure.js (preloaded into the program's node and the dynamic-provider host): @pulumi/pulumi's
// runtime/index.js gets stand-ins for its closure serializer and code-paths modules, which load the real ones at
// the first call. Each case runs in a node of its own (the hook would otherwise stay in this test process).
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../../..");
const preload = path.join(root, "scripts", "lazy-closure.js");
const launcher = path.join(root, "scripts", "dynamic-provider", "pulumi-resource-pulumi-nodejs");

/** Runs `code` in a node of its own (with the preload when asked) and returns what it printed as JSON. */
function inNode(code: string, withPreload: boolean): unknown {
    const r = spawnSync(process.execPath, [...(withPreload ? ["--require", preload] : []), "-e", code], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.status, `${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
}

const loaded = `Object.keys(require.cache).filter((f) => /node_modules\\/(typescript|@npmcli\\/arborist)\\//.test(f)).length`;

describe("scripts/lazy-closure.js", () => {
    it("is checked against the installed @pulumi/pulumi (an SDK upgrade: compare the exports below, then add its version)", () => {
        const { checkedVersions } = inNode(`console.log(JSON.stringify({ checkedVersions: require(${JSON.stringify(preload)}).checkedVersions }))`, false) as {
            checkedVersions: string[];
        };
        const installed = inNode(`console.log(JSON.stringify(require("@pulumi/pulumi/package.json").version))`, false) as string;
        expect(checkedVersions).toContain(installed);
    });

    it("forwards exactly the exports of the modules it stands in for", () => {
        const real = inNode(
            `const l = require(${JSON.stringify(preload)}).lazyModules;` +
                `console.log(JSON.stringify(Object.fromEntries(Object.keys(l).map((m) => [m, Object.keys(require(require.resolve("@pulumi/pulumi/runtime/" + m.slice(2))))]))))`,
            false,
        );
        const standIns = inNode(`console.log(JSON.stringify(require(${JSON.stringify(preload)}).lazyModules))`, false);
        expect(standIns).toEqual(real);
    });

    it("without it, loading @pulumi/pulumi loads the TypeScript compiler and @npmcli/arborist (what it saves)", () => {
        expect(inNode(`require("@pulumi/pulumi"); console.log(${loaded})`, false)).toBeGreaterThan(0);
    });

    it("with it, @pulumi/pulumi loads neither, and its closure functions still work (loaded at the first call)", () => {
        const r = inNode(
            `const pulumi = require("@pulumi/pulumi");` +
                `const before = ${loaded};` +
                `pulumi.runtime.serializeFunction(() => 6 * 7).then((f) => console.log(JSON.stringify({ installed: require(${JSON.stringify(preload)}).installed, before, after: ${loaded}, text: f.text, codePaths: typeof pulumi.runtime.computeCodePaths })));`,
            true,
        ) as { installed: boolean; before: number; after: number; text: string; codePaths: string };
        expect(r.installed).toBe(true);
        expect(r.before).toBe(0);
        expect(r.after).toBeGreaterThan(0);
        expect(r.text).toContain("6 * 7");
        expect(r.codePaths).toBe("function");
    });

    it("leaves other requires of the real modules alone (the SDK's dynamic/index.js takes the serializer itself)", () => {
        const r = inNode(
            `require("@pulumi/pulumi");` +
                `const direct = require("@pulumi/pulumi/runtime/closure/serializeClosure");` +
                `console.log(JSON.stringify({ standIn: require("@pulumi/pulumi/runtime").serializeFunction === direct.serializeFunction, loadedNow: ${loaded} > 0 }))`,
            true,
        );
        expect(r).toEqual({ standIn: false, loadedNow: true });
    });
});

describe("scripts/dynamic-provider/pulumi-resource-pulumi-nodejs (Pulumi.yaml plugins.providers)", () => {
    it("starts the SDK's dynamic-provider host, which announces its port as the engine expects", async () => {
        const child = spawn(launcher, ["127.0.0.1:1"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
        try {
            const first = await new Promise<string>((resolve, reject) => {
                let out = "";
                let err = "";
                const timer = setTimeout(() => reject(new Error(`no port within 30 s; stderr: ${err}`)), 30_000);
                child.stdout.on("data", (d: Buffer) => {
                    out += d.toString();
                    if (out.includes("\n")) {
                        clearTimeout(timer);
                        resolve(out.split("\n")[0]);
                    }
                });
                child.stderr.on("data", (d: Buffer) => (err += d.toString()));
                child.on("exit", (code) => reject(new Error(`exited ${code} before printing a port; stderr: ${err}`)));
            });
            expect(first).toMatch(/^\d+$/);
        } finally {
            child.kill();
        }
    });
});
