// Issue 23: nothing SPARC-specific inside the provider package (providers/, published as
// @sparc-deploy/slurm-provider). Its code and messages must not name SPARC, HiPerGator, UF or the hpg
// stack's config keys: a calling program passes those in (connection.messages, a GPU offer table).
// Comments may use HiPerGator as an example of a site, so they are skipped (TypeScript's printer
// drops them). providers/legacy.ts is the one module that spells 0.1.0's names.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..", "..", "providers");
/** The one module allowed to spell earlier versions' names (state, globals, env, paths). */
const LEGACY_MODULE = "legacy.ts";
/** The package's own name: the shim in every recorded state requires it, so it never changes. */
const PACKAGE_NAME = "@sparc-deploy/slurm-provider";
const FORBIDDEN = /sparc|hpg|hipergator|gatorlink|\bUF\b|ufl\.edu/i;

function packageFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
            return ["docs", "dist", "node_modules"].includes(e.name) ? [] : packageFiles(full);
        }
        return /\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [full] : [];
    });
}

/** The code of a file without its comments (TypeScript's printer drops them): what runs and what it prints. */
function codeWithoutComments(text: string): string {
    const source = ts.createSourceFile("file.ts", text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    return ts.createPrinter({ removeComments: true }).printFile(source);
}

/** Lines of code that name SPARC, HiPerGator, UF or an hpg key (the package name itself excepted). */
function offences(text: string): string[] {
    return codeWithoutComments(text)
        .split("\n")
        .filter((line) => FORBIDDEN.test(line.split(PACKAGE_NAME).join("")))
        .map((line) => line.trim());
}

describe("the provider package names no site and no calling program", () => {
    it.each<[string, string, number]>([
        ["a message naming an hpg key", 'const m = "set hpgPort 2222";', 1],
        ["a template naming HiPerGator", "const m = `on ${host} (HiPerGator)`;", 1],
        ["the rest of a template after a placeholder", "const m = `${a} then sparc-deploy`;", 1],
        ["a global under a SPARC name", "g.__sparcSlurmSsh = 1;", 1],
        ["a comment using HiPerGator as an example", "// e.g. HiPerGator asks for Duo\nconst x = 1; /* hpg.rc.ufl.edu */", 0],
        ["the package's own name", 'require("@sparc-deploy/slurm-provider");', 0],
    ])("the scan itself: %s", (_what, text, count) => {
        expect(offences(text)).toHaveLength(count);
    });

    const files = packageFiles(ROOT)
        .filter((f) => path.relative(ROOT, f) !== LEGACY_MODULE)
        .map((f) => path.relative(ROOT, f));
    it("scans the package's sources", () => {
        expect(files).toEqual(expect.arrayContaining(["index.ts", "load.js", "remote/prompts.ts", "slurm/provider.ts"]));
    });
    it.each(files)("%s", (file) => {
        expect(offences(fs.readFileSync(path.join(ROOT, file), "utf8"))).toEqual([]);
    });
});
