// components/configCheck.ts: every config problem in one form, `project:key = value: what. Fix: how`,
// including the SDK's own refusals (allowedValues, min/max, pattern, type), thrown once as a RunError.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigProblems } from "../../../components/configCheck";

function problemsWith(values: Record<string, string>): ConfigProblems {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`sparc-deploy:${k}`, v])));
    return new ConfigProblems(new pulumi.Config("sparc-deploy"));
}

function thrownBy(problems: ConfigProblems): Error {
    try {
        problems.throwIfAny("test stack");
    } catch (err) {
        expect(pulumi.RunError.isInstance(err)).toBe(true);
        return err as Error;
    }
    throw new Error("nothing thrown");
}

describe("ConfigProblems", () => {
    it.each<[string, string, (p: ConfigProblems) => unknown, string]>([
        [
            "oneOf (the SDK's allowedValues)",
            "gpu",
            (p) => p.oneOf("k", ["login", "slurm"], "slurm"),
            'sparc-deploy:k = "gpu": is not a legal enum value (["login","slurm"]). Fix: pulumi config set k login|slurm',
        ],
        [
            "count below min (the SDK's range)",
            "0",
            (p) => p.count("k", 1, 1),
            "sparc-deploy:k = 0: is outside of the legal range (min 1, inclusive). Fix: pulumi config set k <whole number >= 1>",
        ],
        [
            "count not a number (the SDK's type)",
            "many",
            (p) => p.count("k", 1, 1),
            'sparc-deploy:k = "many": is not a valid number. Fix: pulumi config set k <whole number >= 1>',
        ],
        ["count not whole", "1.5", (p) => p.count("k", 1, 1), "sparc-deploy:k = 1.5: is not a whole number. Fix: pulumi config set k <whole number >= 1>"],
        ["port 0 where 0 means nothing", "0", (p) => p.port("k", 0), "sparc-deploy:k = 0: not a port. Fix: pulumi config set k <1-65535>"],
        [
            "port out of range (the SDK's range)",
            "70000",
            (p) => p.port("k", 22, { zeroMeans: "the Port of ~/.ssh/config" }),
            "sparc-deploy:k = 70000: is outside of the legal range (max 65535, inclusive). Fix: pulumi config set k <1-65535, or 0 for the Port of ~/.ssh/config>",
        ],
        ["port not whole", "22.5", (p) => p.port("k", 22, { fix: "use 22" }), "sparc-deploy:k = 22.5: not a port. Fix: use 22"],
        [
            "seconds below min",
            "0",
            (p) => p.seconds("k", 5, { min: 1, max: 60 }),
            "sparc-deploy:k = 0: is outside of the legal range (min 1, inclusive). Fix: pulumi config set k <1-60>",
        ],
        [
            "seconds not whole",
            "1.5",
            (p) => p.seconds("k", 0, { min: 0, max: 60, zeroMeans: "off" }),
            "sparc-deploy:k = 1.5: must be a whole number of seconds. Fix: pulumi config set k <0-60; 0 = off>",
        ],
        [
            "host key that is no key",
            "ssh-ed25519 not-a-key",
            (p) => p.hostKey("k", { insecure: false, keyscan: "ssh-keyscan h", unsetFix: "scan it" }),
            'sparc-deploy:k = "ssh-ed25519 not-a-key": is not an OpenSSH public key. Fix: give a line of `ssh-keyscan h` without the host name, e.g. "ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA..." or "ssh-rsa AAAA..."',
        ],
        [
            "host key unset",
            "",
            (p) => p.hostKey("k", { insecure: false, keyscan: "ssh-keyscan h", unsetFix: "scan it" }),
            "sparc-deploy:k is not set. Fix: scan it",
        ],
        [
            "identity file that does not exist",
            "/nonexistent/key",
            (p) => p.identityFile("k"),
            'sparc-deploy:k = "/nonexistent/key": no such file. Fix: give the path of your private key, or "" to use ssh-agent',
        ],
        ["boolean", "yes", (p) => p.boolean("k", false), 'sparc-deploy:k = "yes": is not a valid boolean. Fix: pulumi config set k true|false'],
        [
            "read with a pattern",
            "a b",
            (p) => p.read("k", "use one word", "x", () => p.config.get("k", { pattern: /^\w+$/ })),
            'sparc-deploy:k = "a b": does not match the regular expression /^\\w+$/. Fix: use one word',
        ],
        [
            "stringList given a string",
            '"mas"',
            (p) => p.stringList("k", ["mas"]),
            'sparc-deploy:k = "mas": must be a list of strings. Fix: pulumi config set --path \'k[0]\' <value> (or edit the stack YAML), e.g. ["mas"]',
        ],
        [
            "stringList given numbers",
            "[1,2]",
            (p) => p.stringList("k", []),
            "sparc-deploy:k = [1,2]: must be a list of strings. Fix: pulumi config set --path 'k[0]' <value> (or edit the stack YAML), e.g. []",
        ],
    ])("%s", (_label, value, read, message) => {
        const problems = problemsWith({ k: value });
        read(problems);
        expect(thrownBy(problems).message).toBe(`test stack configuration has 1 problem(s):\n  - ${message}`);
    });

    it("returns the fallback for a refused value and the value for a good one; nothing to throw when all are good", () => {
        const problems = problemsWith({ a: "slurm", b: "3", c: '["x"]', d: "" });
        expect(problems.oneOf("a", ["login", "slurm"], "login")).toBe("slurm");
        expect(problems.count("b", 1, 1)).toBe(3);
        expect(problems.stringList("c", [])).toEqual(["x"]);
        expect(problems.text("d")).toBeUndefined();
        expect(() => problems.throwIfAny("test stack")).not.toThrow();
        const refused = problemsWith({ a: "gpu" });
        expect(refused.oneOf("a", ["login", "slurm"], "login")).toBe("login");
    });

    it("collects every problem, unset keys included, and cuts long values", () => {
        const problems = problemsWith({});
        problems.unset("user", "pulumi config set user <name>");
        problems.bad("name", "n".repeat(100), "is too long", "shorten it");
        expect(problems.has("user")).toBe(true);
        expect(thrownBy(problems).message).toBe(
            [
                "test stack configuration has 2 problem(s):",
                "  - sparc-deploy:user is not set. Fix: pulumi config set user <name>",
                `  - sparc-deploy:name = "${"n".repeat(76)}...: is too long. Fix: shorten it`,
            ].join("\n"),
        );
    });

    it("reads good ports, seconds, host keys and identity files as given (0 only where it means something)", () => {
        const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "config-check-")), "id");
        fs.writeFileSync(key, "k");
        const problems = problemsWith({ a: "2222", b: "0", c: "30", d: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg", e: key, f: "" });
        expect(problems.port("a", 22)).toBe(2222);
        expect(problems.port("b", 22, { zeroMeans: "the default" })).toBe(0);
        expect(problems.seconds("c", 1, { min: 1 })).toBe(30);
        expect(problems.hostKey("d", { insecure: false, keyscan: "", unsetFix: "" })).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg");
        expect(problems.hostKey("f", { insecure: true, keyscan: "", unsetFix: "" })).toBe("");
        expect(problems.identityFile("e")).toBe(key);
        expect(problems.identityFile("f")).toBe("");
        expect(() => problems.throwIfAny("test stack")).not.toThrow();
    });

    // One rule for every stack (hpg, pubapps): the environment's answers win over the config key's, as at each login in the provider.
    it.each<[string, Record<string, string>, Record<string, string>, string[] | undefined]>([
        ["neither", {}, {}, undefined],
        ["config only", { k: '["push"]' }, {}, ["push"]],
        ["environment only", {}, { SLURM_PROVIDER_MFA_ANSWERS: "123456" }, ["123456"]],
        ["both: the environment wins", { k: '["push"]' }, { SLURM_PROVIDER_MFA_ANSWERS: "123456" }, ["123456"]],
        ["both, 0.1.0's variable: the environment wins", { k: '["push"]' }, { SPARC_HPG_MFA_ANSWERS: "1" }, ["1"]],
        ["an empty config list and no environment", { k: "[]" }, {}, []],
    ])("second-factor answers: %s", async (_label, values, env, expected) => {
        const answers = problemsWith(values).secondFactorAnswers("k", env);
        if (expected === undefined) {
            expect(answers).toBeUndefined();
            return;
        }
        expect(answers).toBeDefined();
        const out = answers as pulumi.Output<string[]>;
        expect(await pulumi.isSecret(out)).toBe(true);
        expect(await new Promise((resolve) => out.apply(resolve))).toEqual(expected);
    });
});
