// scripts/pulumi-engine/build.sh upgrades an engine dir an older build.sh left (a language host
// built against another sdk, a plugin at another version) in place: CI machines may have one cached.
// Runs the real script with Go and the plugin source archives; Go's caches make it a relink.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PINNED_LANGHOST_SDK_VERSION, pinnedPluginVersions, requireEngine, shouldSkipEngineTests } from "../support/engine";

const root = path.resolve(__dirname, "../..");
const buildScript = path.join(root, "scripts/pulumi-engine/build.sh");

/** The plugin source archives, found the way build.sh finds them. */
function pluginSources(): string | undefined {
    if (process.env.PULUMI_PLUGIN_SOURCES) {
        return process.env.PULUMI_PLUGIN_SOURCES;
    }
    for (let dir = path.dirname(root); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const candidate = path.join(dir, "shared/reference/pulumi-plugins");
        if (fs.existsSync(path.join(candidate, "pulumi-command.tar.xz"))) {
            return candidate;
        }
    }
    return undefined;
}

const goUsable = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
const canBuild = goUsable && pluginSources() !== undefined;
if (!canBuild && process.env.CI === "true") {
    throw new Error("build.sh needs go on PATH and the plugin source archives (PULUMI_PLUGIN_SOURCES or ../shared/reference/pulumi-plugins)");
}

function runBuild(engineDir: string): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn("bash", [buildScript], { env: { ...process.env, PULUMI_ENGINE_DIR: engineDir }, timeout: 1_800_000 });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
        child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
        child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    });
}

describe.skipIf(shouldSkipEngineTests() || !canBuild)("build.sh upgrades an engine dir from an older build in place", () => {
    const engineDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-engine-upgrade-"));
    afterAll(() => fs.rmSync(engineDir, { recursive: true, force: true }));

    it("replaces a language host built against another sdk and a plugin at another version; a rerun does nothing", async () => {
        const engine = requireEngine();
        const pins = pinnedPluginVersions();
        const bin = path.join(engineDir, "bin");
        fs.mkdirSync(bin);
        fs.copyFileSync(engine.pulumi, path.join(bin, "pulumi"));
        // Stand-in for the old sdk-v3.68 host: any Go binary whose build info names another sdk/v3.
        fs.copyFileSync(engine.pulumi, path.join(bin, "pulumi-language-nodejs"));
        fs.chmodSync(path.join(bin, "pulumi"), 0o755);
        fs.chmodSync(path.join(bin, "pulumi-language-nodejs"), 0o755);
        const stale = path.join(engineDir, "home/plugins/resource-command-v1.0.0");
        fs.mkdirSync(stale, { recursive: true });
        fs.writeFileSync(path.join(stale, "pulumi-resource-command"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });

        const first = await runBuild(engineDir);
        console.log(`build.sh upgrade of an old engine dir (warm Go caches): ${first.seconds.toFixed(1)} s`);
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout.trim()).toBe(bin);
        expect(first.stderr).toMatch(/replacing pulumi-language-nodejs built from sdk v3\.\d+\.\d+/);
        expect(
            fs.readFileSync(path.join(bin, "pulumi-language-nodejs")).includes(Buffer.from(`github.com/pulumi/pulumi/sdk/v3\tv${PINNED_LANGHOST_SDK_VERSION}`)),
        ).toBe(true);
        const env = { ...process.env, PULUMI_HOME: path.join(engineDir, "home"), PULUMI_SKIP_UPDATE_CHECK: "true" };
        const listed = JSON.parse(spawnSync(path.join(bin, "pulumi"), ["plugin", "ls", "--json"], { encoding: "utf8", env }).stdout) as {
            name: string;
            version: string;
        }[];
        expect(listed.map((p) => `${p.name} ${p.version}`).sort()).toEqual([`command ${pins.command}`, `docker ${pins.docker}`]);

        const second = await runBuild(engineDir);
        console.log(`build.sh on a complete engine dir: ${second.seconds.toFixed(1)} s`);
        expect(second.code, second.stderr).toBe(0);
        expect(second.stderr).toContain("up to date");
        expect(second.stderr).not.toContain("building");
    }, 1_800_000);
});
