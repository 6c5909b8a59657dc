// scripts/compile-cache.js, which Pulumi.yaml's nodeargs preloads into the program's node: it turns V8's
// compile cache on, in NODE_COMPILE_CACHE when that is set (as scripts/up-dev.sh sets it), else under ~/.cache.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../../..");
const preload = path.join(root, "scripts", "compile-cache.js");
const dirs: string[] = [];
afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * The compile cache directory of a node started as the language host starts the program (nodeargs from Pulumi.yaml),
 * without node's own subdirectory (per node version and V8 flags).
 */
function cacheDirOf(env: NodeJS.ProcessEnv): string {
    const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { runtime: { options: { nodeargs: string } } };
    const args = project.runtime.options.nodeargs.split(" ");
    const dir = execFileSync(process.execPath, [...args, "-e", "console.log(require('node:module').getCompileCacheDir() ?? 'off')"], {
        cwd: root,
        env,
        encoding: "utf8",
    }).trim();
    return path.dirname(dir);
}

describe("the program's compile cache (scripts/compile-cache.js)", () => {
    it("is preloaded by Pulumi.yaml and lives under ~/.cache/sparc-deploy without NODE_COMPILE_CACHE", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-cc-home-"));
        dirs.push(home);
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
        delete env.NODE_COMPILE_CACHE;
        expect(fs.existsSync(preload)).toBe(true);
        expect(cacheDirOf(env)).toBe(path.join(home, ".cache", "sparc-deploy", "node-compile-cache"));
    });

    it("uses NODE_COMPILE_CACHE when it is set", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-cc-"));
        dirs.push(dir);
        expect(cacheDirOf({ ...process.env, NODE_COMPILE_CACHE: dir })).toBe(dir);
    });
});
