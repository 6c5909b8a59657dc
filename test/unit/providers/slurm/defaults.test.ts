// The SlurmJob lifecycle defaults have one home (providers/slurm/defaults.ts); the doc comments of
// SlurmJobArgs (what users read in their editor), of SlurmJobInputs and the package README's inputs table
// repeat them for readers. This reads those texts and fails when one names another value.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { SLURM_JOB_DEFAULTS, SLURM_JOB_OPTIONAL_DEFAULTS } from "../../../../providers/slurm/defaults";

const root = path.resolve(__dirname, "../../../..");
const ALL_DEFAULTS: Record<string, string | number> = { ...SLURM_JOB_DEFAULTS, ...SLURM_JOB_OPTIONAL_DEFAULTS };

/** The JSDoc text of each property of an interface in a source file. */
function propertyDocs(file: string, interfaceName: string): Map<string, string> {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.ES2022, true);
    const docs = new Map<string, string>();
    const visit = (node: ts.Node): void => {
        if (ts.isInterfaceDeclaration(node) && node.name.text === interfaceName) {
            for (const member of node.members) {
                if (ts.isPropertySignature(member) && ts.isIdentifier(member.name)) {
                    const jsDoc = (member as unknown as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
                    docs.set(member.name.text, jsDoc.map((d) => (typeof d.comment === "string" ? d.comment : "")).join("\n"));
                }
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return docs;
}

/** How a doc comment writes a default: `default "TERM"`, `default 600`. */
function written(value: string | number): string {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Every `default X` a doc comment states. */
function statedDefaults(doc: string): string[] {
    return [...doc.matchAll(/default ("[^"]*"|\d+)/g)].map((m) => m[1]);
}

describe("SlurmJob lifecycle defaults: one source, the docs agree", () => {
    const argsDocs = propertyDocs("providers/slurm/resource.ts", "SlurmJobArgs");
    const inputDocs = propertyDocs("providers/slurm/types.ts", "SlurmJobInputs");

    it.each(Object.entries(ALL_DEFAULTS))("SlurmJobArgs.%s states its default, %s, and no other", (key, value) => {
        const doc = argsDocs.get(key);
        expect(doc, `SlurmJobArgs.${key} has no doc comment`).toBeDefined();
        expect(statedDefaults(doc ?? "")).toEqual([written(value)]);
    });

    it.each(Object.entries(ALL_DEFAULTS))("SlurmJobInputs.%s states no other default than %s", (key, value) => {
        for (const stated of statedDefaults(inputDocs.get(key) ?? "")) {
            expect(stated).toBe(written(value));
        }
    });

    it("no doc comment of SlurmJobArgs states a default for a setting without one", () => {
        const stray = [...argsDocs].filter(([key, doc]) => !(key in ALL_DEFAULTS) && statedDefaults(doc).length > 0).map(([key]) => key);
        expect(stray).toEqual([]);
    });

    it.each(Object.entries(ALL_DEFAULTS))("the package README's SlurmJob inputs row for %s names %s", (key, value) => {
        const readme = fs.readFileSync(path.join(root, "providers", "README.md"), "utf8");
        const inputs = readme.slice(readme.indexOf("\n## SlurmJob inputs\n"), readme.indexOf("\n## SlurmJob outputs\n"));
        const row = inputs.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
        expect(row, `no row of providers/README.md's SlurmJob inputs names ${key}`).toBeDefined();
        // The default column: `TERM`, `submitted`, 600, 0 (off).
        const cell = row?.split("|")[2].trim();
        expect(cell).toMatch(new RegExp(typeof value === "string" ? `^\`${value}\`$` : `^${value}( \\(|$)`));
    });

    it("check() fills in exactly the lifecycle defaults; the optional ones stay out of state", () => {
        expect(Object.keys(SLURM_JOB_DEFAULTS).sort()).toEqual([
            "cancelGraceSeconds",
            "cancelSignal",
            "clusterChecks",
            "deleteTimeoutSeconds",
            "waitFor",
            "waitPollSeconds",
            "waitTimeoutSeconds",
        ]);
        expect(Object.keys(SLURM_JOB_OPTIONAL_DEFAULTS).filter((k) => k in SLURM_JOB_DEFAULTS)).toEqual([]);
    });
});
