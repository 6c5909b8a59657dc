// Pure parts of the e2e engine helper: where the engine lives and how update summaries are read.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { changeSummaryOfUpdate, engineBinDir, locateEngine, pinnedPluginVersions, stepsOfUpdate } from "../../support/engine";

describe("engineBinDir", () => {
    const cases: { name: string; env: NodeJS.ProcessEnv; want: string }[] = [
        { name: "default cache", env: {}, want: path.join(os.homedir(), ".cache/sparc-deploy/pulumi-3.274.1/bin") },
        { name: "XDG_CACHE_HOME", env: { XDG_CACHE_HOME: "/c" }, want: "/c/sparc-deploy/pulumi-3.274.1/bin" },
        { name: "other CLI version, leading v", env: { XDG_CACHE_HOME: "/c", PULUMI_CLI_VERSION: "v3.260.0" }, want: "/c/sparc-deploy/pulumi-3.260.0/bin" },
        { name: "PULUMI_ENGINE_DIR wins", env: { XDG_CACHE_HOME: "/c", PULUMI_ENGINE_DIR: "/e" }, want: "/e/bin" },
    ];
    it.each(cases)("$name", ({ env, want }) => {
        expect(engineBinDir(env)).toBe(want);
    });

    it("locateEngine names every missing binary and plugin, at package.json's versions", () => {
        const { docker, command } = pinnedPluginVersions();
        expect(locateEngine({ PULUMI_ENGINE_DIR: "/nonexistent" })).toBe(
            "Pulumi engine incomplete: /nonexistent/bin/pulumi, /nonexistent/bin/pulumi-language-nodejs, /nonexistent/bin/pulumi-resource-pulumi-nodejs, " +
                `plugin docker v${docker} (/nonexistent/home/plugins/resource-docker-v${docker}/pulumi-resource-docker), ` +
                `plugin command v${command} (/nonexistent/home/plugins/resource-command-v${command}/pulumi-resource-command) missing; ` +
                "run scripts/pulumi-engine/build.sh",
        );
    });
});

describe("pinnedPluginVersions", () => {
    const write = (deps: Record<string, string>): string => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sparc-pins-")), "package.json");
        fs.writeFileSync(file, JSON.stringify({ dependencies: deps }));
        return file;
    };
    it("reads the exact @pulumi/docker and @pulumi/command versions", () => {
        expect(pinnedPluginVersions(write({ "@pulumi/docker": "5.2.0", "@pulumi/command": "1.2.1" }))).toEqual({ docker: "5.2.0", command: "1.2.1" });
    });
    it.each<{ name: string; deps: Record<string, string>; error: RegExp }>([
        { name: "a range", deps: { "@pulumi/docker": "^5.2.0", "@pulumi/command": "1.2.1" }, error: /"@pulumi\/docker" is "\^5\.2\.0"; pin an exact version/ },
        { name: "a missing dependency", deps: { "@pulumi/docker": "5.2.0" }, error: /"@pulumi\/command" is ""; pin an exact version/ },
    ])("refuses $name", ({ deps, error }) => {
        expect(() => pinnedPluginVersions(write(deps))).toThrow(error);
    });
});

describe("changeSummaryOfUpdate", () => {
    const event = (body: object) => JSON.stringify({ sequence: 1, timestamp: 0, ...body });
    const summary = (fields: object) => event({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1, PolicyPacks: {}, ...fields } });
    const ok: { name: string; stdout: string; want: object }[] = [
        {
            name: "creates after other events",
            stdout: [
                event({ preludeEvent: { config: {} } }),
                summary({ resourceChanges: { create: 4 }, isPreview: false, result: "succeeded" }),
                event({ cancelEvent: {} }),
            ].join("\n"),
            want: { create: 4 },
        },
        { name: "no changes", stdout: summary({ resourceChanges: { same: 2 }, isPreview: false, result: "succeeded" }), want: { same: 2 } },
    ];
    it.each(ok)("$name", ({ stdout, want }) => {
        expect(changeSummaryOfUpdate(stdout, "up --json")).toEqual(want);
    });

    const bad: { name: string; stdout: string; error: RegExp }[] = [
        { name: "no summary event", stdout: event({ cancelEvent: {} }), error: /printed no summaryEvent/ },
        { name: "failed update", stdout: summary({ resourceChanges: { create: 1 }, isPreview: false, result: "failed" }), error: /"result":"failed"/ },
        { name: "a preview summary", stdout: summary({ resourceChanges: { create: 1 }, isPreview: true }), error: /"isPreview":true/ },
        { name: "garbled line", stdout: '{"summaryEvent": {', error: /cannot parse the JSON/ },
    ];
    it.each(bad)("rejects $name", ({ stdout, error }) => {
        expect(() => changeSummaryOfUpdate(stdout, "up --json")).toThrow(error);
    });
});

describe("stepsOfUpdate", () => {
    const pre = (op: string, name: string) =>
        JSON.stringify({
            resourcePreEvent: { metadata: { op, urn: `urn:pulumi:s::p::sparc:dev:DevStack$command:local:Command::${name}`, type: "command:local:Command" } },
        });
    it("groups the ops by resource name, in order", () => {
        const stdout = [
            pre("same", "sparc-pod"),
            pre("create-replacement", "sparc-ready"),
            pre("replace", "sparc-ready"),
            '{"summaryEvent":{}}',
            pre("delete-replaced", "sparc-ready"),
        ].join("\n");
        expect(stepsOfUpdate(stdout)).toEqual({ "sparc-pod": ["same"], "sparc-ready": ["create-replacement", "replace", "delete-replaced"] });
    });
});
