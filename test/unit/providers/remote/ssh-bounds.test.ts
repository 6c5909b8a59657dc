// Pure rules of the SSH layer: which bound a command gets, and how long a ControlPath may be.
import { describe, expect, it } from "vitest";
import { commandBoundSeconds, type RunOptions, type SshConnection } from "../../../../providers/remote/connection";
import { maxControlPathBytes } from "../../../../providers/remote/openssh";

const conn = (commandTimeoutSeconds?: number): SshConnection => ({
    host: "h",
    user: "u",
    ...(commandTimeoutSeconds !== undefined ? { commandTimeoutSeconds } : {}),
});

describe("commandBoundSeconds: explicit per-call bound, then connection.commandTimeoutSeconds, then the caller's default, then 120 s", () => {
    it.each<[string, number | undefined, RunOptions, number]>([
        ["nothing set", undefined, {}, 120],
        ["the caller's default", undefined, { defaultTimeoutSeconds: 60 }, 60],
        ["the connection's bound replaces the caller's default", 300, { defaultTimeoutSeconds: 60 }, 300],
        ["a shorter connection bound replaces it too", 10, { defaultTimeoutSeconds: 120 }, 10],
        ["an explicit bound wins over a shorter connection bound (an upload)", 60, { timeoutSeconds: 3600 }, 3600],
        ["an explicit bound wins over a longer connection bound", 600, { timeoutSeconds: 30 }, 30],
        ["an explicit bound wins over the default", undefined, { timeoutSeconds: 5, defaultTimeoutSeconds: 60 }, 5],
    ])("%s", (_what, connectionBound, options, expected) => {
        expect(commandBoundSeconds(conn(connectionBound), options)).toBe(expected);
    });
});

describe("maxControlPathBytes: sun_path less its NUL and OpenSSH's 17-character temporary suffix", () => {
    it.each([
        ["linux", 90],
        ["darwin", 86],
        ["freebsd", 86],
    ])("%s: %i bytes", (platform, bytes) => {
        expect(maxControlPathBytes(platform)).toBe(bytes);
    });
});
