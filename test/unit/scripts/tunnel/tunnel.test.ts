// The tunnel helper's pure parts (scripts/tunnel): the endpoint line it follows and its arguments.
// Its behaviour across a real renewal: test/cluster/slurm-chain.test.ts.
import { describe, expect, it } from "vitest";
import { parseEndpointLine } from "../../../../scripts/tunnel/tunnel";
import { parseTunnelArgs } from "../../../../scripts/tunnel/main";
import { forwardArgv } from "../../../../providers/remote";

describe("tunnel helper", () => {
    it("reads the endpoint file's one line, and nothing else", () => {
        expect(parseEndpointLine("c0900a-s23 8123 4242\n")).toEqual({ node: "c0900a-s23", port: 8123, jobId: "4242" });
        expect(parseEndpointLine("")).toBeUndefined();
        expect(parseEndpointLine("c1 $(x) 12")).toBeUndefined();
    });

    it("takes --stack, --port and --check-seconds, and says what is wrong", () => {
        expect(parseTunnelArgs(["--stack", "hpg", "--port", "9000", "--check-seconds", "10"])).toMatchObject({ stack: "hpg", port: 9000, checkSeconds: 10 });
        expect(parseTunnelArgs(["--stack", "hpg"])).toMatchObject({ checkSeconds: 30 });
        expect(() => parseTunnelArgs([])).toThrow(/--stack is required/);
        expect(() => parseTunnelArgs(["--stack", "hpg", "--check-seconds", "0"])).toThrow(/--check-seconds "0": give a whole number of seconds, 1 or more/);
    });

    it("forwards through the master only (no login of its own)", () => {
        const argv = forwardArgv(
            { host: "hpg", user: "u", hostKey: "", insecureIgnoreHostKey: true, identityFile: "", controlPath: "/tmp/cm", knownHostsFile: "/tmp/kh" },
            "c1",
            8123,
        );
        expect(argv).toEqual(expect.arrayContaining(["ControlMaster=no", "BatchMode=yes", "-W", "c1:8123", "ControlPath=/tmp/cm"]));
    });
});
