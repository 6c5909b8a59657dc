// The package's README (providers/README.md) states every SlurmJob input with its default and what a
// change does; both must be the code's: FIELD_POLICY (the one field-policy table) and the defaults.
// Its example must use only the public entry.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FIELD_POLICY, SLURM_JOB_DEFAULTS } from "../../../providers";
import { SLURM_JOB_OPTIONAL_DEFAULTS } from "../../../providers/slurm/defaults";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "..", "providers", "README.md"), "utf8");

/** The rows of the markdown table under a "## " heading: first cell (without backticks) -> cells. */
function tableUnder(heading: string): Map<string, string[]> {
    const start = readme.indexOf(`\n## ${heading}\n`);
    expect(start, `heading "## ${heading}" in providers/README.md`).toBeGreaterThan(0);
    const end = readme.indexOf("\n## ", start + 1);
    const rows = new Map<string, string[]>();
    for (const line of readme.slice(start, end).split("\n")) {
        const cells = line
            .split("|")
            .slice(1, -1)
            .map((c) => c.trim());
        if (cells.length >= 3 && /^`\w+`$/.test(cells[0])) {
            rows.set(cells[0].slice(1, -1), cells.slice(1));
        }
    }
    return rows;
}

const WORDS: Record<string, string> = { replace: "replace", scontrol: "in place", state: "state" };

describe("providers/README.md, SlurmJob inputs", () => {
    const rows = tableUnder("SlurmJob inputs");
    // ownerTag (the resource class) and ownerNonce (check, once per resource) are set for the program, not given by it.
    const inputs = Object.keys(FIELD_POLICY).filter((k) => k !== "ownerTag" && k !== "ownerNonce");

    it("lists every input once, and nothing else", () => {
        expect([...rows.keys()].sort()).toEqual([...inputs].sort());
    });

    it.each(inputs)("%s: the on-change column is FIELD_POLICY's", (input) => {
        const policy = FIELD_POLICY[input as keyof typeof FIELD_POLICY];
        expect(rows.get(input)?.[1]).toBe(WORDS[policy]);
    });

    it.each(Object.entries({ ...SLURM_JOB_DEFAULTS, ...SLURM_JOB_OPTIONAL_DEFAULTS }))("%s: the default column shows %s", (input, value) => {
        expect(rows.get(input)?.[0]).toMatch(new RegExp(`^\`?${String(value)}\`?( |$)`));
    });
});

describe("providers/README.md, example", () => {
    it("imports from the package name only, and is at most 20 lines", () => {
        const example = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
        const imports = [...example.matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
        expect(imports).toEqual(["@pulumi/pulumi", "@sparc-deploy/slurm-provider"]);
        expect(example.trim().split("\n").length).toBeLessThanOrEqual(20);
    });
});
