// The API reference check (scripts/check-api-docs.sh, part of `npm run check`) fails when an exported
// type of @sparc-deploy/slurm-provider changes without providers/docs: run on a copy of the package
// whose SshConnection gained a field, it exits 1, shows the new field in its diff and names the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../support/spawn";

const repoRoot = path.resolve(__dirname, "..", "..", "..");

describe("scripts/check-api-docs.sh", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "api-docs-"));
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    it("fails, showing the change and the fix, when an exported type changes without the reference", async () => {
        // The package as checked in (sources, typedoc.json, docs/), beside the root tsconfig it extends.
        const copy = path.join(work, "providers");
        fs.cpSync(path.join(repoRoot, "providers"), copy, { recursive: true, filter: (src) => !/[/\\](dist|node_modules)$/.test(src) });
        fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(work, "tsconfig.json"));
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(work, "node_modules"));
        const connection = path.join(copy, "remote", "connection.ts");
        const source = fs.readFileSync(connection, "utf8");
        const edited = source.replace(
            "export interface SshConnection {\n",
            "export interface SshConnection {\n    /** A field added without regenerating the reference. */\n    addedField?: string;\n",
        );
        expect(edited).not.toBe(source);
        fs.writeFileSync(connection, edited);

        const r = await run("bash", [path.join(repoRoot, "scripts", "check-api-docs.sh"), copy], { timeoutMs: 120_000 });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("addedField");
        expect(r.stderr).toContain("run `npm run docs:api` and commit providers/docs");
    }, 150_000);
});
