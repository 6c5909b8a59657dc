// The real @pulumi/command 1.2.1 plugin with a command whose stdout is larger than one
// environment string may be (MAX_ARG_STRLEN, 128 KiB on Linux): with addPreviousOutputInEnv
// left at its default the plugin passes that stdout to the delete in PULUMI_COMMAND_STDOUT and the
// delete cannot start (pulumi-command #285); with addPreviousOutputInEnv: false, as the project's
// commands with large output set it, destroy works.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const programDir = path.join(__dirname, "programs", "command-output");
const BYTES = 300_000;

describe.skipIf(shouldSkipEngineTests())("@pulumi/command: large output and addPreviousOutputInEnv (real plugin)", () => {
    let stack: TestStack;

    beforeAll(async () => {
        stack = await TestStack.create(requireEngine(), { programDir, stackName: "command-output" });
        await stack.setConfig("bytes", String(BYTES));
    });

    afterAll(async () => {
        await stack?.dispose();
    });

    it("with the previous output in the env (the default), the delete fails: argument list too long", async () => {
        await stack.setConfig("addPreviousOutputInEnv", "true");
        expect(await stack.up()).toEqual({ create: 2 });
        expect((await stack.outputs()).stdoutLength).toBe(BYTES);
        const destroy = await stack.pulumi(
            ["destroy", "--yes", "--skip-preview", "--json", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile],
            { allowFailure: true },
        );
        expect(destroy.code).not.toBe(0);
        expect(destroy.stdout).toMatch(/argument list too long/);
    }, 300_000);

    it("with addPreviousOutputInEnv: false, destroy works", async () => {
        await stack.setConfig("addPreviousOutputInEnv", "false");
        const { summary } = await stack.upWithSteps();
        expect(summary.update).toBe(1);
        expect(await stack.destroy()).toEqual({ delete: 2 });
    }, 300_000);
});
