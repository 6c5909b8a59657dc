import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { shJoin, shQuote } from "../../../../providers/remote/quote";

// Side-effect payloads write into this directory if quoting ever lets the shell interpret them.
const trapDir = mkdtempSync(join(tmpdir(), "shquote-"));
const pwned = join(trapDir, "pwned");

afterAll(() => {
    rmSync(trapDir, { recursive: true, force: true });
});

const cases: { input: string; quoted: string }[] = [
    { input: "plain", quoted: "plain" },
    { input: "a/b.c:d,e=f+g@h%i_j-k", quoted: "a/b.c:d,e=f+g@h%i_j-k" },
    { input: "", quoted: "''" },
    { input: "two words", quoted: "'two words'" },
    { input: "it's", quoted: "'it'\\''s'" },
    { input: "''", quoted: "''\\'''\\'''" },
    { input: '"double"', quoted: "'\"double\"'" },
    { input: `$(touch ${pwned})`, quoted: `'$(touch ${pwned})'` },
    { input: `\`touch ${pwned}\``, quoted: `'\`touch ${pwned}\`'` },
    { input: `x; touch ${pwned}`, quoted: `'x; touch ${pwned}'` },
    { input: `true && touch ${pwned}`, quoted: `'true && touch ${pwned}'` },
    { input: `a | touch ${pwned}`, quoted: `'a | touch ${pwned}'` },
    { input: `> ${pwned}`, quoted: `'> ${pwned}'` },
    { input: "$HOME ${PATH} $1", quoted: "'$HOME ${PATH} $1'" },
    { input: "line1\nline2", quoted: "'line1\nline2'" },
    { input: "tab\there", quoted: "'tab\there'" },
    { input: "*", quoted: "'*'" },
    { input: "/*", quoted: "'/*'" },
    { input: "~", quoted: "'~'" },
    { input: "~root", quoted: "'~root'" },
    { input: "é", quoted: "'é'" },
    { input: "日本", quoted: "'日本'" },
    { input: "🚀", quoted: "'🚀'" },
    { input: "-n", quoted: "-n" },
    { input: "--flag=value", quoted: "--flag=value" },
    { input: "-e \\n", quoted: "'-e \\n'" },
    { input: "back\\slash", quoted: "'back\\slash'" },
    { input: "!event", quoted: "'!event'" },
    { input: "a#b", quoted: "'a#b'" },
    { input: "{a,b}", quoted: "'{a,b}'" },
    { input: "trailing\r", quoted: "'trailing\r'" },
];

describe("shQuote", () => {
    it.each(cases)("quotes $input as $quoted", ({ input, quoted }) => {
        expect(shQuote(input)).toBe(quoted);
    });

    it("rejects a NUL byte with a TypeError that names it", () => {
        expect(() => shQuote("a\0b")).toThrow(TypeError);
        expect(() => shQuote("a\0b")).toThrow(/NUL/);
    });
});

describe("shJoin", () => {
    it("quotes each argument and joins with spaces", () => {
        expect(shJoin(["sbatch", "--parsable", "--job-name=my job", ""])).toBe("sbatch --parsable '--job-name=my job' ''");
        expect(shJoin([])).toBe("");
    });
});

describe("round trip through a real /bin/sh", () => {
    it.each(cases)("$input comes back byte for byte, with no side effect", ({ input }) => {
        const result = spawnSync("/bin/sh", ["-c", "printf '%s\\0' " + shJoin([input])], { cwd: trapDir });
        expect(result.status).toBe(0);
        expect(result.stdout.equals(Buffer.from(input + "\0", "utf8"))).toBe(true);
        expect(existsSync(pwned)).toBe(false);
    });

    it("all cases at once keep their argument boundaries", () => {
        const inputs = cases.map((c) => c.input);
        const result = spawnSync("/bin/sh", ["-c", "printf '%s\\0' " + shJoin(inputs)], { cwd: trapDir });
        expect(result.status).toBe(0);
        expect(result.stdout.toString("utf8").split("\0").slice(0, -1)).toEqual(inputs);
        expect(readdirSync(trapDir)).toEqual([]);
    });
});
