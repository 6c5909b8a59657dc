// The real Pulumi engine (CLI v3.274.1 + the 3.260 language host + @pulumi/pulumi
// from node_modules) drives a small program through its whole lifecycle, offline.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    installedPluginPath,
    PINNED_CLI_VERSION,
    PINNED_LANGHOST_SDK_VERSION,
    pinnedPluginVersions,
    pluginReportedVersion,
    requireEngine,
    resourcesOfType,
    shouldSkipEngineTests,
    TestStack,
} from "../support/engine";

const root = path.resolve(__dirname, "../..");

/** Whether a Go binary's embedded build info contains the text (Go stores it in plain bytes). */
function buildInfoHas(binary: string, text: string): boolean {
    return fs.readFileSync(binary).includes(Buffer.from(text));
}

describe.skipIf(shouldSkipEngineTests())("the engine build.sh installed matches the pins", () => {
    it("CLI, language host of the 3.260 line, and exactly package.json's docker and command plugins", async () => {
        const engine = requireEngine();
        const pins = pinnedPluginVersions();
        const env = { ...process.env, PULUMI_HOME: engine.home, PULUMI_SKIP_UPDATE_CHECK: "true" };
        expect(execFileSync(engine.pulumi, ["version"], { encoding: "utf8", env }).trim()).toBe(`v${PINNED_CLI_VERSION}`);
        const langhost = path.join(engine.binDir, "pulumi-language-nodejs");
        expect(
            buildInfoHas(langhost, `github.com/pulumi/pulumi/sdk/v3\tv${PINNED_LANGHOST_SDK_VERSION}`),
            `${langhost} is not built against sdk v${PINNED_LANGHOST_SDK_VERSION}; run scripts/pulumi-engine/build.sh`,
        ).toBe(true);

        const listed = JSON.parse(execFileSync(engine.pulumi, ["plugin", "ls", "--json"], { encoding: "utf8", env })) as {
            name: string;
            kind: string;
            version: string;
        }[];
        const resources = listed
            .filter((p) => p.kind === "resource")
            .map((p) => `${p.name} ${p.version}`)
            .sort();
        expect(resources).toEqual([`command ${pins.command}`, `docker ${pins.docker}`]);
        for (const [name, version] of Object.entries(pins)) {
            // The binary itself reports that version (not just installed under its name).
            expect(await pluginReportedVersion(installedPluginPath(engine.home, name, version)), `${name} plugin's GetPluginInfo`).toBe(version);
            // And the SDK npm ci installed is the same version, so the engine asks for exactly this plugin.
            const sdk = JSON.parse(fs.readFileSync(path.join(root, "node_modules", "@pulumi", name, "package.json"), "utf8")) as { version: string };
            expect(sdk.version).toBe(version);
        }
    });
});

const programDir = path.join(__dirname, "programs", "smoke");
const ECHO_TYPE = "pulumi-nodejs:dynamic:Resource";
const SECRET_TOKEN = "e2e-token-9f3c1a";

describe.skipIf(shouldSkipEngineTests())("pulumi engine: smoke program lifecycle", () => {
    let stack: TestStack;

    beforeAll(async () => {
        stack = await TestStack.create(requireEngine(), { programDir, stackName: "smoke" });
        await stack.setConfig("greeting", "hello");
        await stack.setConfig("token", SECRET_TOKEN, { secret: true });
    });

    afterAll(async () => {
        await stack?.dispose();
    });

    it("preview plans the stack, the component and both dynamic resources", async () => {
        expect(await stack.preview()).toEqual({ create: 4 });
    });

    it("up creates them and exports the outputs", async () => {
        expect(await stack.up()).toEqual({ create: 4 });
        const outputs = await stack.outputs({ showSecrets: true });
        expect(outputs).toEqual({
            greetingEcho: "hello",
            totalLength: "hello".length + "hello-again".length,
            tokenLength: SECRET_TOKEN.length,
            tokenEcho: SECRET_TOKEN,
        });
    });

    it("keeps secret config out of the state and the plain output listing", async () => {
        const { text } = await stack.exportState({ showSecrets: false });
        expect(text).not.toContain(SECRET_TOKEN);
        expect((await stack.outputs()).tokenEcho).toBe("[secret]");
    });

    it("a second up changes nothing", async () => {
        expect(await stack.preview()).toEqual({ same: 4 });
        expect(await stack.up()).toEqual({ same: 4 });
    });

    it("refresh reads the dynamic resources back unchanged", async () => {
        expect(await stack.refresh()).toEqual({ same: 4 });
        const { deployment } = await stack.exportState();
        const echoes = resourcesOfType(deployment, ECHO_TYPE)
            .map((r) => r.id)
            .sort();
        expect(echoes).toEqual(["echo-hello", "echo-hello-again"]);
    });

    it("destroy deletes everything", async () => {
        expect(await stack.destroy()).toEqual({ delete: 4 });
        const { deployment } = await stack.exportState();
        expect(deployment.deployment.resources ?? []).toEqual([]);
    });
});
