// The turn-server container's entrypoint (dockerfiles/turn/entrypoint.sh) in --print-config mode: the
// turnserver.conf it writes at start, from the environment (run with bash here, no container).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const script = path.resolve(__dirname, "..", "..", "..", "dockerfiles", "turn", "entrypoint.sh");

function printConfig(env: Record<string, string | undefined>) {
    const res = spawnSync("bash", [script, "--print-config"], {
        encoding: "utf8",
        env: Object.fromEntries(Object.entries({ PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }).filter(([, v]) => v !== undefined)),
    });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
const lines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
const base = { TURN_SECRET: "s3cret-value-for-tests", TURN_HOST: "203.0.113.7", TURN_POD_IPS: "10.88.0.5 fd00::5" };

describe("turn-server entrypoint --print-config", () => {
    it("writes the hardened config: ports, realm, external-ip, REST secret, no open relay, stdout logging", () => {
        const res = printConfig({ ...base, TURN_PORT: "3478", TURN_MIN_PORT: "42000", TURN_MAX_PORT: "42050" });
        expect(res.status).toBe(0);
        const conf = lines(res.stdout);
        expect(conf.slice(0, 8)).toEqual([
            "listening-port=3478",
            "min-port=42000",
            "max-port=42050",
            "realm=203.0.113.7",
            "external-ip=203.0.113.7",
            "use-auth-secret",
            "static-auth-secret=(from TURN_SECRET, 22 characters)",
            "fingerprint",
        ]);
        expect(conf).toEqual(
            expect.arrayContaining([
                "no-cli",
                "no-tls",
                "no-dtls",
                "no-multicast-peers",
                "log-file=stdout",
                "simple-log",
                "denied-peer-ip=10.0.0.0-10.255.255.255",
                "denied-peer-ip=100.64.0.0-100.127.255.255",
                "denied-peer-ip=127.0.0.0-127.255.255.255",
                "denied-peer-ip=169.254.0.0-169.254.255.255",
                "denied-peer-ip=172.16.0.0-172.31.255.255",
                "denied-peer-ip=192.168.0.0-192.168.255.255",
                "denied-peer-ip=::1",
                "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "allowed-peer-ip=10.88.0.5",
                "allowed-peer-ip=fd00::5",
                "allowed-peer-ip=203.0.113.7",
            ]),
        );
        // coturn 4.6.1 reads the range ::-::1 as holding every IPv4 address: never written.
        expect(conf).not.toContain("denied-peer-ip=::-::1");
        // The secret itself is never printed; no option opens the relay.
        expect(res.stdout).not.toContain(base.TURN_SECRET);
        expect(conf.filter((l) => /^(allow-loopback-peers|no-auth|cli-password|lt-cred-mech)/.test(l))).toEqual([]);
    });

    it.each([
        { label: "defaults: port 3478, relay 49152-49200", env: {}, has: ["listening-port=3478", "min-port=49152", "max-port=49200"] },
        { label: "a loopback TURN_HOST announces no external-ip (browsers on this machine)", env: { TURN_HOST: "127.0.0.1" }, lacks: "external-ip=" },
        {
            label: "localhost resolves to loopback: no external-ip, realm localhost",
            env: { TURN_HOST: "localhost" },
            has: ["realm=localhost"],
            lacks: "external-ip=",
        },
        {
            label: "explicit TURN_EXTERNAL_IP and TURN_REALM win",
            env: { TURN_HOST: "turn.example.org", TURN_EXTERNAL_IP: "198.51.100.9", TURN_REALM: "sparc" },
            has: ["external-ip=198.51.100.9", "realm=sparc"],
        },
        { label: "a bracketed IPv6 host", env: { TURN_HOST: "[2001:db8::7]" }, has: ["external-ip=2001:db8::7", "realm=2001:db8::7"] },
        {
            label: "loopback pod addresses are not allowed as peers",
            env: { TURN_POD_IPS: "127.0.0.1 ::1 10.88.0.9" },
            has: ["allowed-peer-ip=10.88.0.9"],
            lacks: "allowed-peer-ip=127.0.0.1",
        },
    ])("$label", ({ env, has, lacks }) => {
        const res = printConfig({ ...base, ...env });
        expect(res.status, res.stderr).toBe(0);
        expect(lines(res.stdout)).toEqual(expect.arrayContaining(has ?? []));
        if (lacks !== undefined) {
            expect(res.stdout).not.toContain(lacks);
        }
    });

    it("reads the secret from TURN_SECRET_FILE (a podman secret mounted as a file)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "turn-entrypoint-"));
        try {
            fs.writeFileSync(path.join(dir, "s"), "file-secret-0123456789");
            const res = printConfig({ ...base, TURN_SECRET: undefined, TURN_SECRET_FILE: path.join(dir, "s") });
            expect(res.status, res.stderr).toBe(0);
            expect(res.stdout).toContain("static-auth-secret=(from TURN_SECRET, 22 characters)");
            const missing = printConfig({ ...base, TURN_SECRET: undefined, TURN_SECRET_FILE: path.join(dir, "nope") });
            expect(missing.status).toBe(1);
            expect(missing.stderr).toContain("is not a readable file");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it.each([
        {
            label: "no secret: refuses to run an unauthenticated relay",
            env: { TURN_SECRET: "" },
            error: "TURN_SECRET is empty: refusing to start an unauthenticated relay",
        },
        { label: "no host", env: { TURN_HOST: "" }, error: "TURN_HOST is empty" },
        { label: "a bad port", env: { TURN_MIN_PORT: "70000" }, error: "not a port: '70000'" },
        { label: "an inverted range", env: { TURN_MIN_PORT: "50000", TURN_MAX_PORT: "40000" }, error: "TURN_MIN_PORT 50000 > TURN_MAX_PORT 40000" },
        { label: "a name that does not resolve", env: { TURN_HOST: "no-such-host.invalid" }, error: "does not resolve to an IPv4 address here" },
    ])("$label", ({ env, error }) => {
        const res = printConfig({ ...base, ...env });
        expect(res.status).toBe(1);
        expect(res.stderr).toContain(error);
        expect(res.stdout).toBe("");
    });
});
