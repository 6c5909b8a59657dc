import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { builtUnityImageName, devConfigDefaults, loadDevConfig } from "../../components/dev/config";

const root = path.resolve(__dirname, "..", "..");

/** Load with exactly these stack values (keys without the project prefix); `secrets` = keys the engine passes as secrets. */
function load(values: Partial<Record<string, string>>, secrets: string[] = [], target: "podman" | "pubapps" = "podman") {
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(values).map(([k, v]) => [`sparc-deploy:${k}`, v ?? ""])),
        secrets.map((k) => `sparc-deploy:${k}`),
    );
    return loadDevConfig(new pulumi.Config("sparc-deploy"), root, target);
}

/** A model repository as riva_init.sh leaves it (models/ inside), one without models/, and a plain file. */
const rivaDirs = (() => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-riva-config-"));
    const repo = path.join(base, "riva-model-repo");
    fs.mkdirSync(path.join(repo, "models"), { recursive: true });
    fs.mkdirSync(path.join(base, "empty"));
    fs.writeFileSync(path.join(base, "file"), "");
    return { repo, empty: path.join(base, "empty"), file: path.join(base, "file") };
})();

describe("loadDevConfig", () => {
    it("defaults are Pulumi.yaml's (devConfigDefaults, checked by config-defaults.test.ts), contexts resolved against the program dir", () => {
        const d = devConfigDefaults;
        const [first, last] = d.webrtcPortRange.split("-").map(Number);
        expect(load({})).toEqual({
            ...d,
            masContext: path.join(root, d.masContext),
            signalingContext: path.join(root, d.signalingContext),
            // unityBuildDir "" = no Unity; a build names the image all the same.
            unityEnabled: false,
            unityImage: builtUnityImageName,
            webrtcPortRange: { first, last },
            gpuDeviceArgs: [...d.gpuDeviceArgs],
            unityArgs: [...d.unityArgs],
            rivaCommand: [...d.rivaCommand],
            rivaRunArgs: [...d.rivaRunArgs],
            // Riva off: its repository and key are not read.
            rivaNgcApiKey: undefined,
        });
        // The reference pod's values, as the README documents them.
        expect(load({})).toMatchObject({
            podName: "sparc-avatar",
            masPort: 8000,
            signalingPort: 8080,
            turnPort: 3478,
            webrtcPortRange: { first: 49152, last: 49200 },
        });
    });

    it.each([
        {
            label: "stand-in Unity build turns Unity on",
            values: { unityBuildDir: "samples/unity-build-standin" },
            expected: { unityEnabled: true, unityBuildDir: path.join(root, "samples/unity-build-standin") },
        },
        {
            label: "prebuilt with unityImage set turns Unity on",
            values: { imageSource: "prebuilt", unityImage: "reg/u:1" },
            expected: { unityEnabled: true, unityImage: "reg/u:1" },
        },
        { label: "prebuilt without unityImage leaves it off", values: { imageSource: "prebuilt" }, expected: { unityEnabled: false, unityImage: "" } },
        {
            label: 'prebuilt with the Pulumi.yaml default "" leaves it off',
            values: { imageSource: "prebuilt", unityImage: "" },
            expected: { unityEnabled: false },
        },
        {
            label: 'build names the Unity image when unityImage is ""',
            values: { unityImage: "", unityBuildDir: "samples/unity-build-standin" },
            expected: { unityEnabled: true, unityImage: "sparc/unity-server:latest" },
        },
        {
            label: "prebuilt does not need source contexts",
            values: { imageSource: "prebuilt", masContext: "nowhere" },
            expected: { masContext: path.join(root, "nowhere") },
        },
        {
            label: "numbers, lists and booleans",
            values: {
                masPort: "18000",
                gpuDeviceArgs: "[]",
                unityArgs: '["-nographics"]',
                rivaEnabled: "true",
                rivaModelRepository: rivaDirs.repo,
                webrtcPortRange: "40000-40000",
            },
            expected: { masPort: 18000, gpuDeviceArgs: [], unityArgs: ["-nographics"], rivaEnabled: true, webrtcPortRange: { first: 40000, last: 40000 } },
        },
        {
            label: "Riva: the repository resolved to an absolute path, NVIDIA's start command, no key",
            values: { rivaEnabled: "true", rivaModelRepository: path.relative(root, rivaDirs.repo) },
            expected: {
                rivaModelRepository: rivaDirs.repo,
                rivaNgcApiKey: undefined,
                rivaCommand: ["start-riva", "--riva-uri=0.0.0.0:50051", "--asr_service=true", "--tts_service=true", "--nlp_service=false"],
                rivaPort: 50051,
                rivaReadinessTimeoutSeconds: 600,
            },
        },
        {
            label: "Riva: a command with its own --model-repo needs no models/ under /data",
            values: { rivaEnabled: "true", rivaModelRepository: rivaDirs.empty, rivaCommand: '["start-riva","--model-repo=/data/other"]', rivaPort: "15051" },
            expected: { rivaModelRepository: rivaDirs.empty, rivaCommand: ["start-riva", "--model-repo=/data/other"], rivaPort: 15051 },
        },
        {
            label: "pubapps reuses the pod keys: no local repository is asked for",
            values: { rivaEnabled: "true" },
            target: "pubapps" as const,
            expected: { rivaEnabled: true, rivaModelRepository: "", rivaNgcApiKey: undefined },
        },
    ])("$label", ({ values, expected, target }: { values: Partial<Record<string, string>>; expected: object; target?: "podman" | "pubapps" }) => {
        expect(load(values, [], target)).toMatchObject(expected);
    });

    it("Riva: the NGC key is read as a secret Output", async () => {
        const cfg = load({ rivaEnabled: "true", rivaModelRepository: rivaDirs.repo, rivaNgcApiKey: "nvapi-test-value" }, ["rivaNgcApiKey"]);
        expect(cfg.rivaNgcApiKey).toBeDefined();
        expect(await pulumi.isSecret(cfg.rivaNgcApiKey as pulumi.Output<string>)).toBe(true);
    });

    it.each([
        {
            label: "unknown image source",
            values: { imageSource: "pull" },
            message: /sparc-deploy:imageSource = "pull": is not a legal enum value .*\. Fix: pulumi config set imageSource build/,
        },
        {
            label: "missing context directory",
            values: { masContext: "no/such/dir" },
            message: /sparc-deploy:masContext = ".*no\/such\/dir": directory does not exist\. Fix: point masContext/,
        },
        {
            label: "context without the expected files",
            values: { signalingContext: "samples/mas" },
            message: /signalingContext = .*missing package\.json, package-lock\.json, server\.js/,
        },
        {
            label: "Unity dir without the player",
            values: { unityBuildDir: "samples" },
            message: /unityBuildDir = .*missing Build\/LinuxServer\/SPARC-P\.x86_64\. Fix: .*or set it to "" to skip/,
        },
        {
            label: "port out of range",
            values: { masPort: "70000" },
            message: /sparc-deploy:masPort = 70000: is outside of the legal range .*\. Fix: pulumi config set masPort <1-65535>/,
        },
        {
            label: "same host port twice",
            values: { signalingPort: "8000" },
            message: /sparc-deploy:signalingPort = 8000: is the same host port as masPort\. Fix: /,
        },
        { label: "TURN inside the WebRTC range", values: { turnPort: "49160" }, message: /turnPort = 49160: lies inside webrtcPortRange 49152-49200/ },
        { label: "reversed range", values: { webrtcPortRange: "50000-49000" }, message: /webrtcPortRange = "50000-49000": needs FIRST-LAST/ },
        {
            label: "list of non-strings",
            values: { gpuDeviceArgs: "[1, 2]" },
            message: /sparc-deploy:gpuDeviceArgs = \[1,2\]: must be a list of strings\. Fix: /,
        },
        {
            label: "pod name podman refuses",
            values: { podName: "bad name" },
            message: /sparc-deploy:podName = "bad name": does not match .*\. Fix: use letters/,
        },
        {
            label: "not a boolean",
            values: { rivaEnabled: "yes" },
            message: /sparc-deploy:rivaEnabled = "yes": is not a valid boolean\. Fix: pulumi config set rivaEnabled true\|false/,
        },
        {
            label: "Riva on without a model repository",
            values: { rivaEnabled: "true" },
            message: /sparc-deploy:rivaModelRepository is not set\. Fix: pulumi config set rivaModelRepository <the directory NVIDIA's riva_init\.sh filled/,
        },
        {
            label: "Riva model repository missing",
            values: { rivaEnabled: "true", rivaModelRepository: "no/such/repo" },
            message: /sparc-deploy:rivaModelRepository = "no\/such\/repo": no such directory \(.*no\/such\/repo\)\. Fix: /,
        },
        {
            label: "Riva model repository is a file",
            values: { rivaEnabled: "true", rivaModelRepository: rivaDirs.file },
            message: /sparc-deploy:rivaModelRepository = ".*file": is not a directory .*\. Fix: /,
        },
        {
            label: "Riva model repository not prepared",
            values: { rivaEnabled: "true", rivaModelRepository: rivaDirs.empty },
            message: /rivaModelRepository = ".*empty": has no models\/ directory .*\. Fix: run NVIDIA's riva_init\.sh with riva_model_loc=/,
        },
        {
            label: "empty Riva command",
            values: { rivaEnabled: "true", rivaModelRepository: rivaDirs.repo, rivaCommand: "[]" },
            message: /sparc-deploy:rivaCommand = \[\]: is empty\. Fix: /,
        },
        {
            label: "Riva's host port taken by MAS",
            values: { rivaEnabled: "true", rivaModelRepository: rivaDirs.repo, rivaPort: "8000" },
            message: /sparc-deploy:rivaPort = 8000: is the same host TCP port as masPort or signalingPort\. Fix: /,
        },
        {
            label: "Riva readiness bound out of range",
            values: { rivaReadinessTimeoutSeconds: "0" },
            message: /sparc-deploy:rivaReadinessTimeoutSeconds = 0: is outside of the legal range .*\. Fix: /,
        },
    ])("rejects: $label", ({ values, message }) => {
        expect(() => load(values)).toThrow(message);
    });

    it("refuses an NGC key stored in plaintext, without showing it", () => {
        const run = () => load({ rivaEnabled: "true", rivaModelRepository: rivaDirs.repo, rivaNgcApiKey: "nvapi-plain-value" });
        expect(run).toThrow(/sparc-deploy:rivaNgcApiKey is stored in plaintext in the stack's config\. Fix: pulumi config set --secret rivaNgcApiKey/);
        expect(run).not.toThrow(/nvapi-plain-value/);
    });

    it("reports every problem at once", () => {
        expect(() => load({ masContext: "x", signalingContext: "y", turnPort: "49152", imageSource: "pull" })).toThrow(/4 problem\(s\)/);
    });
});
