// The @pulumi/command provider STAND-IN (test/standins/command-provider): its semantics as
// pure functions and real processes, then a local.Command program through the real engine.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    checkInputs,
    commandEnvironment,
    commandOutputs,
    diffInputs,
    failureMessage,
    runCommand,
    trimOneNewline,
} from "../standins/command-provider/local-command";
import { COMMAND_STANDIN_DIR } from "../standins/command-provider/location";
import { requireEngine, resourcesOfType, shouldSkipEngineTests, TestStack } from "./lib/engine";

const secret = (value: unknown): Record<string, unknown> => ({ [specialSigKey]: specialSecretSig, value });

describe("command stand-in: check", () => {
    it.each([
        { name: "passes inputs through, secrets still wrapped", news: { create: "true", environment: { A: secret("x") } }, failures: [] },
        { name: "drops nulls", news: { create: "true", dir: null }, inputs: { create: "true" }, failures: [] },
        { name: "unknowns (preview) are not type-checked", news: { create: unknownValue, triggers: [unknownValue] }, failures: [] },
        { name: "refuses a bad logging mode", news: { logging: "loud" }, failures: ["logging"] },
        { name: "refuses a non-string environment value", news: { environment: { A: 1 } }, failures: ["environment"] },
        { name: "refuses a string interpreter", news: { interpreter: "/bin/sh" }, failures: ["interpreter"] },
        { name: "refuses what it does not implement", news: { assetPaths: ["*.txt"] }, failures: ["assetPaths"] },
        { name: "refuses unknown keys", news: { creat: "true" }, failures: ["creat"] },
    ])("$name", ({ news, inputs, failures }) => {
        const result = checkInputs(news);
        expect(result.inputs).toEqual(inputs ?? news);
        expect(result.failures.map((f) => f.property)).toEqual(failures);
    });
});

describe("command stand-in: diff", () => {
    const state = { create: "echo a", triggers: ["one"], environment: { A: "1" }, stdout: "a", stderr: "" };
    it.each([
        { name: "same inputs: no change (outputs ignored)", news: { create: "echo a", triggers: ["one"], environment: { A: "1" } }, changes: false, replaces: [] },
        { name: "same value made secret: no change", news: { create: secret("echo a"), triggers: ["one"], environment: { A: "1" } }, changes: false, replaces: [] },
        { name: "create changed: update", news: { create: "echo b", triggers: ["one"], environment: { A: "1" } }, changes: true, replaces: [] },
        { name: "environment changed: update", news: { create: "echo a", triggers: ["one"], environment: { A: "2" } }, changes: true, replaces: [] },
        { name: "input added: update", news: { create: "echo a", triggers: ["one"], environment: { A: "1" }, dir: "/tmp" }, changes: true, replaces: [] },
        { name: "triggers changed: replace", news: { create: "echo a", triggers: ["two"], environment: { A: "1" } }, changes: true, replaces: ["triggers"] },
        { name: "unknown create (preview): update", news: { create: unknownValue, triggers: ["one"], environment: { A: "1" } }, changes: true, replaces: [] },
    ])("$name", ({ news, changes, replaces }) => {
        expect(diffInputs(state, news)).toEqual({ changes, replaces });
    });
});

describe("command stand-in: outputs, env, messages", () => {
    it.each([
        ["out\n", "out"],
        ["out\n\n", "out\n"],
        ["out", "out"],
        ["", ""],
    ])("trims one trailing newline: %j -> %j", (text, trimmed) => {
        expect(trimOneNewline(text)).toBe(trimmed);
    });

    it("outputs are the inputs plus stdout/stderr, secret when any input is", () => {
        expect(commandOutputs({ create: "x" }, { stdout: "o", stderr: "e" })).toEqual({ create: "x", stdout: "o", stderr: "e" });
        expect(commandOutputs({ environment: { T: secret("t") } }, { stdout: "o", stderr: "" })).toEqual({
            environment: { T: secret("t") },
            stdout: secret("o"),
            stderr: secret(""),
        });
    });

    it.each([
        { name: "previous output by default", add: undefined, env: { PULUMI_COMMAND_STDOUT: "prev-out", PULUMI_COMMAND_STDERR: "prev-err" } },
        { name: "no previous output when disabled", add: false, env: {} },
    ])("environment: $name", ({ add, env }) => {
        const result = commandEnvironment({ BASE: "b", X: "base" }, { environment: { X: "mine" }, addPreviousOutputInEnv: add }, { stdout: "prev-out", stderr: "prev-err" });
        expect(result).toEqual({ BASE: "b", X: "mine", ...env });
    });

    it.each([
        [{ code: 7, signal: null }, 'exit status 7: running "false":\nout\nerr\n'],
        [{ code: null, signal: "SIGKILL" }, 'signal: killed: running "false":\nout\nerr\n'],
    ])("failure message %j", (exit, message) => {
        expect(failureMessage("false", exit, "out\nerr\n")).toBe(message);
    });
});

describe("command stand-in: runs real processes", () => {
    it("interpreter, dir, environment, stdin; one newline trimmed", async () => {
        const dir = fs.realpathSync(os.tmpdir());
        const result = await runCommand('pwd -P; echo "$WHO"; cat; echo err >&2', { dir, environment: { WHO: "me" }, stdin: "in\n" }, {});
        expect(result).toEqual({ stdout: `${dir}\nme\nin`, stderr: "err" });
        const bash = await runCommand("echo ${BASH_VERSION:+bash}", { interpreter: ["/bin/bash", "-c"] }, {});
        expect(bash.stdout).toBe("bash");
    });

    it("previous stdout reaches the command", async () => {
        expect((await runCommand('echo "[$PULUMI_COMMAND_STDOUT]"', {}, { stdout: "before" })).stdout).toBe("[before]");
    });

    it("a non-zero exit rejects with the exit status and the output", async () => {
        await expect(runCommand("echo partial; echo 'it broke' >&2; exit 3", {}, {})).rejects.toThrow(
            /^exit status 3: running "echo partial; echo 'it broke' >&2; exit 3":\npartial\nit broke\n$/,
        );
    });

    it("a missing dir rejects naming the dir", async () => {
        await expect(runCommand("true", { dir: "/nonexistent/sparc" }, {})).rejects.toThrow("chdir /nonexistent/sparc: no such file or directory");
    });
});

const programDir = path.join(__dirname, "programs", "command");
const COMMAND_TYPE = "command:local:Command";
const TOKEN = "cmd-token-5be2";

describe.skipIf(shouldSkipEngineTests())("command stand-in under the real engine", () => {
    let stack: TestStack;
    let markerDir: string;
    const marker = (file: string): string => path.join(markerDir, file);
    const lines = (file: string): string[] => fs.readFileSync(marker(file), "utf8").split("\n").filter(Boolean);

    beforeAll(async () => {
        markerDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "sparc-cmd-markers-")));
        stack = await TestStack.create(requireEngine(), { programDir, stackName: "command", extraPath: [COMMAND_STANDIN_DIR] });
        await stack.setConfig("markerDir", markerDir);
        await stack.setConfig("trigger", "one");
        await stack.setConfig("greeting", "hello");
        await stack.setConfig("token", TOKEN, { secret: true });
    });

    afterAll(async () => {
        await stack?.dispose();
        if (markerDir !== undefined) {
            fs.rmSync(markerDir, { recursive: true, force: true });
        }
    });

    it("preview plans the stack and three commands and runs none of them", async () => {
        expect(await stack.preview()).toEqual({ create: 4 });
        expect(fs.readdirSync(markerDir)).toEqual([]);
    });

    it("up runs the create commands and exports their stdout and stderr", async () => {
        expect(await stack.up()).toEqual({ create: 4 });
        expect(lines("triggered.runs")).toEqual(["run"]);
        expect(fs.existsSync(marker("marker"))).toBe(true);
        expect(await stack.outputs({ showSecrets: true })).toEqual({
            triggeredStdout: "triggered by one",
            markerStdout: "marker-created",
            greeterStdout: `hello\nfrom ${markerDir} as e2e, token of ${TOKEN.length} chars`,
            greeterStderr: "previous: [none]",
        });
        const { deployment } = await stack.exportState();
        const commands = resourcesOfType(deployment, COMMAND_TYPE);
        expect(commands.map((r) => r.urn.split("::").pop()).sort()).toEqual(["greeter", "marker", "triggered"]);
        expect(commands.find((r) => r.urn.endsWith("::marker"))?.id).toMatch(/^marker[0-9a-f]{8}$/);
    });

    it("a secret input makes the outputs secret and stays out of the state", async () => {
        const { text } = await stack.exportState({ showSecrets: false });
        expect(text).not.toContain(TOKEN);
        expect((await stack.outputs()).greeterStdout).toBe("[secret]");
    });

    it("a second up changes and runs nothing", async () => {
        expect(await stack.preview()).toEqual({ same: 4 });
        expect(await stack.up()).toEqual({ same: 4 });
        expect(lines("triggered.runs")).toEqual(["run"]);
    });

    it("a changed trigger replaces: create runs again, the old one's delete sees its stdout", async () => {
        await stack.setConfig("trigger", "two");
        expect(await stack.preview()).toEqual({ replace: 1, same: 3 });
        expect(lines("triggered.runs")).toEqual(["run"]);
        expect(await stack.up()).toEqual({ replace: 1, same: 3 });
        expect(lines("triggered.runs")).toEqual(["run", "run"]);
        expect(lines("triggered.deletes")).toEqual(["deleted: triggered by one"]);
        expect((await stack.outputs()).triggeredStdout).toBe("triggered by two");
    });

    it("a changed create updates in place with the previous stdout in the env", async () => {
        await stack.setConfig("greeting", "bonjour");
        expect(await stack.preview()).toEqual({ update: 1, same: 3 });
        expect(await stack.up()).toEqual({ update: 1, same: 3 });
        const outputs = await stack.outputs({ showSecrets: true });
        expect(outputs.greeterStdout).toBe(`bonjour\nfrom ${markerDir} as e2e, token of ${TOKEN.length} chars`);
        expect(outputs.greeterStderr).toBe(`previous: [hello\nfrom ${markerDir} as e2e, token of ${TOKEN.length} chars]`);
        expect(lines("triggered.runs")).toEqual(["run", "run"]);
    });

    it("a failing command fails up with its exit status and stderr, and is not recorded", async () => {
        await stack.setConfig("fail", "true");
        const args = ["--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile];
        const result = await stack.pulumi(["up", "--yes", "--skip-preview", ...args], { allowFailure: true });
        expect(result.code).not.toBe(0);
        const printed = result.stdout + result.stderr;
        expect(printed).toContain("exit status 7");
        expect(printed).toContain("boom: disk on fire");
        const { deployment } = await stack.exportState();
        const names = resourcesOfType(deployment, COMMAND_TYPE).map((r) => r.urn.split("::").pop());
        expect(names.sort()).toEqual(["greeter", "marker", "triggered"]);
        await stack.setConfig("fail", "false");
        expect(await stack.preview()).toEqual({ same: 4 });
    });

    it("destroy runs the delete commands with the last stdout", async () => {
        expect(await stack.destroy()).toEqual({ delete: 4 });
        expect(fs.existsSync(marker("marker"))).toBe(false);
        expect(lines("marker.deleted")).toEqual(["marker-created"]);
        expect(lines("triggered.deletes")).toEqual(["deleted: triggered by one", "deleted: triggered by two"]);
        const { deployment } = await stack.exportState();
        expect(deployment.deployment.resources ?? []).toEqual([]);
    });
});
