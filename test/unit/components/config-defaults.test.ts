// Pulumi.yaml is the one source of every config key's default. The loaders' defaults objects (used
// when a key is read outside the engine, e.g. by unit tests) and the configuration table (docs/configuration.md)
// must agree with it: this test parses Pulumi.yaml and compares, key by key.
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { imagesConfigDefaults } from "../../../components/imagesConfig";
import { devConfigDefaults } from "../../../components/podConfig";
import { hpgConfigDefaults } from "../../../components/hpg/config";
import { pubappsConfigDefaults } from "../../../components/pubapps/config";

const root = path.resolve(__dirname, "..", "..", "..");
const projectText = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
const project = load(projectText) as { name: string; config: Record<string, { type: string; default?: unknown }> };
const prefix = `${project.name}:`;
/** Every declared key (without the project prefix) and its declaration. */
const declared = Object.fromEntries(Object.entries(project.config).map(([key, decl]) => [key.slice(prefix.length), decl]));

/** The keys between a section's marker comments in Pulumi.yaml ("# --- images ..." to "# --- end images ---"). */
function sectionKeys(section: string): string[] {
    const start = projectText.indexOf(`  # --- ${section} (`);
    const end = projectText.indexOf(`  # --- end ${section} ---`);
    expect(start, `Pulumi.yaml has the ${section} markers`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    return [...projectText.slice(start, end).matchAll(new RegExp(`^  ${prefix}(\\w+):`, "gm"))].map((m) => m[1]);
}

const podDefaults = Object.fromEntries(Object.entries(devConfigDefaults).filter(([key]) => !(key in imagesConfigDefaults)));
const sections: [string, string, Readonly<Record<string, unknown>>][] = [
    ["images", "components/imagesConfig.ts imagesConfigDefaults", imagesConfigDefaults],
    ["dev stack", "components/podConfig.ts devConfigDefaults", podDefaults],
    ["hpg stack", "components/hpg/config.ts hpgConfigDefaults", hpgConfigDefaults],
    ["pubapps stack", "components/pubapps/config.ts pubappsConfigDefaults", pubappsConfigDefaults],
];

describe("Pulumi.yaml is the source of the defaults", () => {
    it("declares every key with a type, a description and a default", () => {
        for (const [key, decl] of Object.entries(project.config)) {
            expect(key.startsWith(prefix), key).toBe(true);
            expect(decl, key).toMatchObject({ type: expect.any(String), description: expect.any(String) });
            expect("default" in decl, `${key} has a default (a key without one is required on every stack)`).toBe(true);
        }
    });

    it.each(sections)("%s: the keys of its section are exactly those of %s, with the same defaults", (section, _owner, defaults) => {
        expect(Object.keys(defaults).sort()).toEqual(sectionKeys(section).sort());
        for (const [key, value] of Object.entries(defaults)) {
            expect(value, `${key}: the loader's default vs Pulumi.yaml's`).toEqual(declared[key]?.default);
        }
    });

    it("every declared key belongs to one loader (or is the target switch)", () => {
        const owned = ["target", ...sections.flatMap(([, , defaults]) => Object.keys(defaults))];
        expect(owned.sort()).toEqual(Object.keys(declared).sort());
    });
});

/**
 * The configuration table (docs/configuration.md): rows of `key`[, `key` ...] | default[, default ...] | meaning.
 * A default cell is the YAML default written for people: `x` (or x), `""`, a number, `false`, a
 * JSON list, "required" (the default "" or 0 means unset and the loader asks for it), with an
 * optional note in parentheses. A few keys default to "" and the table shows the value computed
 * from other keys instead (the loader's fallback): those are listed here.
 */
const computedDefaults: Record<string, string> = {
    hpgContainerDir: "/blue/<group>/<user>/sparc/containers",
    hpgWorkDir: "its parent",
    hpgLocalArchiveDir: "~/.cache/sparc-deploy/archives",
    hpgAccount: "= group",
    pubappsArchiveDir: "/podman/<user>/sparc-archives",
    pubappsLocalArchiveDir: "~/.cache/sparc-deploy/pubapps-archives",
};

function readmeRows(): { keys: string[]; defaults: string[] }[] {
    const section = fs.readFileSync(path.join(root, "docs", "configuration.md"), "utf8");
    return section
        .split("\n")
        .filter((line) => line.startsWith("| `"))
        .map((line) => {
            const cells = line
                .replace(/\\\|/g, "\u0000")
                .split("|")
                .map((c) => c.trim().replace(/\u0000/g, "|"));
            const keys = [...cells[1].matchAll(/`(\w+)`/g)].map((m) => m[1]);
            return { keys, defaults: splitDefaults(cells[2]) };
        });
}

/** Split a default cell on ", " outside backticks and parentheses (JSON lists are written without spaces). */
function splitDefaults(cell: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let quoted = false;
    let current = "";
    for (let i = 0; i < cell.length; i++) {
        const c = cell[i];
        if (c === "`") quoted = !quoted;
        if (!quoted && c === "(") depth++;
        if (!quoted && c === ")") depth--;
        if (!quoted && depth === 0 && cell.startsWith(", ", i)) {
            parts.push(current);
            current = "";
            i++;
            continue;
        }
        current += c;
    }
    return [...parts, current];
}

function readmeValue(cell: string): unknown {
    const text = cell.replace(/\s*\(.*\)$/, "").trim();
    if (text === "required") {
        return "required";
    }
    const code = /^`(.*)`$/.exec(text);
    if (code === null) {
        // Bare: a number, else text.
        return /^-?\d+$/.test(text) ? Number(text) : text;
    }
    // In backticks: a JSON literal (`""`, `"0"`, `false`, `["mas"]`), else the text itself (`4` is the string "4").
    return /^(true|false|\[.*\]|".*")$/.test(code[1]) ? JSON.parse(code[1]) : code[1];
}

describe("docs/configuration.md's table agrees with Pulumi.yaml", () => {
    const rows = readmeRows();

    it("names every declared key exactly once, and no other", () => {
        const named = rows.flatMap((r) => r.keys);
        expect([...named].sort()).toEqual(Object.keys(declared).sort());
    });

    it.each(rows.map((r) => [r.keys.join(", "), r] as const))("%s: the defaults shown are Pulumi.yaml's", (_label, row) => {
        // One default for several keys means it applies to each.
        const defaults = row.defaults.length === 1 ? row.keys.map(() => row.defaults[0]) : row.defaults;
        expect(defaults.length, `one default per key in the row ${row.keys.join(", ")}`).toBe(row.keys.length);
        row.keys.forEach((key, i) => {
            const yamlDefault = declared[key]?.default;
            const shown = defaults[i];
            if (key in computedDefaults) {
                expect(yamlDefault, `${key}: "" in Pulumi.yaml, computed by the loader`).toBe("");
                expect(shown, key).toContain(computedDefaults[key]);
                return;
            }
            const value = readmeValue(shown);
            if (value === "required") {
                expect(["", 0], `${key} is shown as required`).toContainEqual(yamlDefault);
            } else {
                expect(value, `${key}: docs/configuration.md shows ${shown}`).toEqual(yamlDefault);
            }
        });
    });
});
