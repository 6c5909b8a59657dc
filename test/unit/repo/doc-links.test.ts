// Every relative link and #anchor in the user docs resolves: README.md, CONTRIBUTING.md, docs/*.md and the
// package's providers/README.md. Anchors are GitHub's heading slugs. README stays a first screen and keeps
// documenting the test command .ci/run runs.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../../..");
const docs = [
    "README.md",
    "CONTRIBUTING.md",
    "providers/README.md",
    ...fs
        .readdirSync(path.join(root, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code spans, where a link means a link. */
function prose(markdown: string): string {
    return markdown
        .replace(/^```[\s\S]*?^```/gm, "")
        .split("\n")
        .map((line) => line.replace(/`[^`]*`/g, "``"))
        .join("\n");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (not - or _), each blank a hyphen; repeats get -1, -2. */
function headingAnchors(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const match of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        const text = match[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
        const slug = text
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/\s/g, "-");
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return anchors;
}

/** Problems with the relative links of one file (its path relative to the repository root). */
function linkProblems(file: string, markdown: string, read: (file: string) => string | undefined): string[] {
    const problems: string[] = [];
    for (const match of prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
            continue; // https:, mailto:
        }
        const [pathPart, anchor] = target.split("#", 2);
        const resolved = pathPart === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
        const text = read(resolved);
        if (text === undefined) {
            problems.push(`${file}: ${target}: ${resolved} does not exist`);
            continue;
        }
        if (anchor !== undefined && !headingAnchors(text).has(anchor)) {
            problems.push(`${file}: ${target}: ${resolved} has no heading #${anchor}`);
        }
    }
    return problems;
}

/** providers/example/ exists only in the packed package: prepack copies examples/slurm-http-server there. */
const PACKED_ONLY: [string, string][] = [["providers/example/", "examples/slurm-http-server/"]];

function readRepo(file: string): string | undefined {
    const packed = PACKED_ONLY.find(([prefix]) => file.startsWith(prefix));
    const full = path.join(root, packed === undefined ? file : packed[1] + file.slice(packed[0].length));
    if (!fs.existsSync(full)) {
        return undefined;
    }
    return fs.statSync(full).isDirectory() ? "" : fs.readFileSync(full, "utf8");
}

describe("links in the docs", () => {
    it("covers README, CONTRIBUTING, the package README and docs/", () => {
        expect(docs).toEqual(expect.arrayContaining(["README.md", "CONTRIBUTING.md", "providers/README.md", "docs/hpg.md", "docs/configuration.md"]));
    });

    it.each(docs)("%s: every relative link and #anchor resolves", (file) => {
        expect(linkProblems(file, fs.readFileSync(path.join(root, file), "utf8"), readRepo)).toEqual([]);
    });

    it("the check finds a missing file, a missing anchor, and takes GitHub's slugs", () => {
        const files: Record<string, string> = {
            "docs/a.md": "# What `pulumi up --stack hpg` does\n## 0. Install (once)\n## Same\n## Same\n```\n# not a heading\n```\n",
        };
        const read = (f: string): string | undefined => files[f];
        expect(headingAnchors(files["docs/a.md"])).toEqual(new Set(["what-pulumi-up---stack-hpg-does", "0-install-once", "same", "same-1"]));
        const text = "[ok](a.md#0-install-once) [ok](#same-1) [gone](b.md) [bad](a.md#nope) `[code](x.md)` [web](https://x.org/y)";
        expect(linkProblems("docs/a.md", `${files["docs/a.md"]}${text}`, read)).toEqual([
            "docs/a.md: b.md: docs/b.md does not exist",
            "docs/a.md: a.md#nope: docs/a.md has no heading #nope",
        ]);
    });
});

describe("README.md", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

    it("stays a first screen: the stacks and where to read on, in about 150 lines", () => {
        expect(readme.split("\n").length).toBeLessThanOrEqual(170);
    });

    it("documents the test command that .ci/run runs", () => {
        const ci = fs.readFileSync(path.join(root, ".ci/run"), "utf8");
        expect(ci).toMatch(/^npm test /m);
        expect(readme).toContain("**`npm test`**");
    });
});
