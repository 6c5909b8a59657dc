// The real Pulumi engine (CLI v3.274.1 + language host from sdk v3.68.0 + @pulumi/pulumi
// from node_modules) drives a small program through its whole lifecycle, offline.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEngine, resourcesOfType, shouldSkipEngineTests, TestStack } from "./lib/engine";

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
        const echoes = resourcesOfType(deployment, ECHO_TYPE).map((r) => r.id).sort();
        expect(echoes).toEqual(["echo-hello", "echo-hello-again"]);
    });

    it("destroy deletes everything", async () => {
        expect(await stack.destroy()).toEqual({ delete: 4 });
        const { deployment } = await stack.exportState();
        expect(deployment.deployment.resources ?? []).toEqual([]);
    });
});
