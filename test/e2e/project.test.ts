// The repository's own program (Pulumi.yaml, index.ts, the config loaders) under the real
// engine: bad or missing configuration fails `pulumi preview` with errors that name the key,
// show the value and say the fix, before any resource or plugin is needed. (A full preview
// of the stacks needs the @pulumi/command and @pulumi/docker plugins, which cannot be built
// here: see README, "Testing".)
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireEngine, shouldSkipEngineTests, TestStack } from "./lib/engine";

const root = path.resolve(__dirname, "../..");

describe.skipIf(shouldSkipEngineTests())("the project's own program under the real engine", () => {
    let stack: TestStack | undefined;
    afterEach(async () => {
        await stack?.dispose();
        stack = undefined;
    });

    async function previewFailure(stackName: string, config: Record<string, string>): Promise<string> {
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName });
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
        const result = await stack.pulumi(["preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], { allowFailure: true });
        expect(result.code).not.toBe(0);
        return result.stdout + result.stderr;
    }

    it("hpg: preview names every value a user must set and how", async () => {
        const out = await previewFailure("e2e-hpg", { target: "hpg" });
        expect(out).toContain("invalid hpg stack configuration:");
        expect(out).toContain("hpgUser is not set: set your GatorLink user with `pulumi config set hpgUser <gatorlink>`");
        expect(out).toContain("hpgGroup is not set:");
        expect(out).toContain("hpgHostKey is not set: run `ssh-keyscan -t ed25519 hpg.rc.ufl.edu`");
    }, 120_000);

    it("hpg: preview shows a bad time limit with its value and the fix", async () => {
        const out = await previewFailure("e2e-hpg2", {
            target: "hpg", hpgUser: "albert", hpgGroup: "g", hpgHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg", hpgTime: "15 days",
        });
        expect(out).toContain('hpgTime = "15 days" is not a Slurm time; use e.g. "14-00:00:00"');
    }, 120_000);

    it("dev: preview refuses an unknown image source", async () => {
        const out = await previewFailure("e2e-dev", { imageSource: "download" });
        expect(out).toMatch(/imageSource/);
        expect(out).toMatch(/build|prebuilt/);
    }, 120_000);
});
