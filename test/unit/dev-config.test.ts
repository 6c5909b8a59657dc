import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { builtUnityImageName, devConfigDefaults, loadDevConfig } from "../../components/dev/config";

const root = path.resolve(__dirname, "..", "..");

/** Load with exactly these stack values (keys without the project prefix). */
function load(values: Partial<Record<string, string>>) {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`sparc-deploy:${k}`, v ?? ""])));
    return loadDevConfig(new pulumi.Config("sparc-deploy"), root);
}

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
            values: { masPort: "18000", gpuDeviceArgs: "[]", unityArgs: '["-nographics"]', rivaEnabled: "true", webrtcPortRange: "40000-40000" },
            expected: { masPort: 18000, gpuDeviceArgs: [], unityArgs: ["-nographics"], rivaEnabled: true, webrtcPortRange: { first: 40000, last: 40000 } },
        },
    ])("$label", ({ values, expected }) => {
        expect(load(values)).toMatchObject(expected);
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
    ])("rejects: $label", ({ values, message }) => {
        expect(() => load(values)).toThrow(message);
    });

    it("reports every problem at once", () => {
        expect(() => load({ masContext: "x", signalingContext: "y", turnPort: "49152", imageSource: "pull" })).toThrow(/4 problem\(s\)/);
    });
});
