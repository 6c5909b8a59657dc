// components/configCheck.ts: every config problem in one form, `project:key = value: what. Fix: how`,
// including the SDK's own refusals (allowedValues, min/max, pattern, type), thrown once as a RunError.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ConfigProblems } from "../../components/configCheck";

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
});
