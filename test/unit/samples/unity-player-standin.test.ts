// The Unity player stand-in's command line: the real player's flags (Unity Render Streaming 3.1,
// "Command line arguments"), -importJson with explicit flags on top, and the flags it ignores.
import * as path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

type IceServer = { urls: string[]; username?: string; credential?: string; credentialType?: string };
type Options = { signalingType: string; signalingUrl: string; iceServers: IceServer[]; pollingInterval: number | undefined; warnings: string[] };
const { parseArgs, describeIceServers } = createRequire(__filename)(path.resolve(__dirname, "../../../samples/unity-player-standin/player.js")) as {
    parseArgs: (argv: string[], env?: Record<string, string>, readFile?: (file: string) => string) => Options;
    describeIceServers: (s: IceServer[]) => string;
};

const files: Record<string, string> = {
    "/cfg.json": JSON.stringify({
        signalingType: "websocket",
        signalingUrl: "ws://json-host:80",
        iceServers: [{ urls: ["turn:json-turn:3478"], username: "1700000000:unity", credential: "json-pass", credentialType: "password" }],
    }),
    "/urls-string.json": JSON.stringify({ signalingUrl: "wss://h", iceServers: [{ urls: "stun:s:3478" }] }),
    "/bad.json": "{not json",
    "/array.json": "[]",
    "/http.json": JSON.stringify({ signalingType: "http", signalingUrl: "http://h:80" }),
};
const readFile = (file: string) => {
    if (!(file in files)) throw Object.assign(new Error("nope"), { code: "ENOENT" });
    return files[file];
};
const parse = (argv: string[], env: Record<string, string> = {}) => parseArgs(argv, env, readFile);

describe("unity player stand-in: parseArgs", () => {
    it.each([
        {
            name: "signaling URL only",
            argv: ["-signalingUrl", "ws://127.0.0.1:8080"],
            want: { signalingType: "websocket", signalingUrl: "ws://127.0.0.1:8080", iceServers: [], pollingInterval: undefined, warnings: [] },
        },
        {
            name: "the pod's Unity flags are accepted and ignored",
            argv: ["-logFile", "/dev/stdout", "-force-vulkan", "-screen-width", "1280", "-signalingUrl", "ws://s:8080", "-screen-height", "720"],
            want: { signalingUrl: "ws://s:8080", iceServers: [] },
        },
        {
            name: "repeated -iceServerUrl with credentials make one ICE server",
            argv: [
                "-signalingUrl",
                "wss://s/",
                "-iceServerUrl",
                "turn:t:3478?transport=udp",
                "-iceServerUrl",
                "turn:t:3478?transport=tcp",
                "-iceServerUsername",
                "u",
                "-iceServerCredential",
                "p",
                "-iceServerCredentialType",
                "password",
            ],
            want: {
                iceServers: [{ urls: ["turn:t:3478?transport=udp", "turn:t:3478?transport=tcp"], username: "u", credential: "p", credentialType: "password" }],
            },
        },
        {
            name: "SIGNALING_URL is the fallback",
            argv: [],
            env: { SIGNALING_URL: "ws://env:8080" },
            want: { signalingUrl: "ws://env:8080" },
        },
        {
            name: "an explicit -signalingUrl beats SIGNALING_URL",
            argv: ["-signalingUrl", "ws://flag:1"],
            env: { SIGNALING_URL: "ws://env:8080" },
            want: { signalingUrl: "ws://flag:1" },
        },
        {
            name: "-importJson alone",
            argv: ["-importJson", "/cfg.json"],
            want: {
                signalingUrl: "ws://json-host:80",
                iceServers: [{ urls: ["turn:json-turn:3478"], username: "1700000000:unity", credential: "json-pass", credentialType: "password" }],
            },
        },
        {
            name: "explicit flags override -importJson, whatever their order",
            argv: ["-signalingUrl", "ws://flag:2", "-iceServerCredential", "flag-pass", "-importJson", "/cfg.json", "-iceServerUrl", "turn:flag-turn:13478"],
            want: {
                signalingUrl: "ws://flag:2",
                iceServers: [{ urls: ["turn:flag-turn:13478"], username: "1700000000:unity", credential: "flag-pass", credentialType: "password" }],
            },
        },
        {
            name: "-importJson urls may be one string",
            argv: ["-importJson", "/urls-string.json"],
            want: { signalingUrl: "wss://h", iceServers: [{ urls: ["stun:s:3478"] }] },
        },
        {
            name: "-batchmode and -nographics warn with Unity's words",
            argv: ["-batchmode", "-nographics", "-signalingUrl", "ws://s:1"],
            want: {
                warnings: [
                    expect.stringMatching(/^-batchmode: .*"-batchmode and -nographics options don't work with Unity Render Streaming\."/),
                    expect.stringMatching(/^-nographics: /),
                ],
            },
        },
        { name: "-pollingInterval", argv: ["-signalingUrl", "ws://s:1", "-pollingInterval", "5000"], want: { pollingInterval: 5000 } },
        {
            name: "-signalingType http parses (run() refuses it)",
            argv: ["-importJson", "/http.json"],
            want: { signalingType: "http", signalingUrl: "http://h:80" },
        },
    ])("$name", ({ argv, env, want }) => {
        expect(parse(argv, env)).toMatchObject(want);
    });

    it.each([
        { name: "no URL anywhere", argv: ["-logFile", "-"], error: /no signaling URL: give -signalingUrl/ },
        { name: "a flag without its value", argv: ["-signalingUrl"], error: /-signalingUrl needs a value/ },
        {
            name: "bad signalingType",
            argv: ["-signalingType", "udp", "-signalingUrl", "ws://s"],
            error: /signalingType must be "websocket" or "http", got "udp"/,
        },
        { name: "http URL with websocket signaling", argv: ["-signalingUrl", "http://s:80"], error: /must start with ws:\/\/ or wss:\/\// },
        {
            name: "bad credential type",
            argv: ["-signalingUrl", "ws://s", "-iceServerUrl", "turn:t", "-iceServerCredentialType", "token"],
            error: /credentialType must be/,
        },
        { name: "credential without URL", argv: ["-signalingUrl", "ws://s", "-iceServerCredential", "hunter2"], error: /but no -iceServerUrl/ },
        { name: "not an ICE URL", argv: ["-signalingUrl", "ws://s", "-iceServerUrl", "http://t"], error: /must start with stun:, turn: or turns:/ },
        { name: "bad polling interval", argv: ["-signalingUrl", "ws://s", "-pollingInterval", "soon"], error: /-pollingInterval must be a positive number/ },
        { name: "missing JSON file", argv: ["-importJson", "/missing.json"], error: /-importJson \/missing.json: cannot read it \(ENOENT\)/ },
        { name: "broken JSON", argv: ["-importJson", "/bad.json"], error: /not valid JSON/ },
        { name: "JSON not an object", argv: ["-importJson", "/array.json"], error: /must be a JSON object/ },
        { name: "a bare word", argv: ["ws://s:1"], error: /unexpected argument "ws:\/\/s:1"/ },
    ])("refuses $name", ({ argv, error }) => {
        expect(() => parse(argv)).toThrow(error);
    });

    it("never puts a credential in an error or in the ICE summary", () => {
        expect(() => parse(["-signalingUrl", "ws://s", "-iceServerCredential", "hunter2"])).toThrow(
            expect.objectContaining({ message: expect.not.stringContaining("hunter2") }),
        );
        const summary = describeIceServers([{ urls: ["turn:t:1"], username: "1700000000:receiver-x", credential: "hunter2" }]);
        expect(summary).toBe("turn:t:1, credential expires 2023-11-14T22:13:20.000Z");
        expect(describeIceServers([{ urls: ["turn:t:1"], username: "static-user", credential: "hunter2" }])).toBe("turn:t:1, static credential");
        expect(describeIceServers([])).toBe("none (host candidates only)");
    });
});
