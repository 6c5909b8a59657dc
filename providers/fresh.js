// @ts-check
// Whether a compiled copy (an outDir of `tsc`) was made from exactly the .ts sources that are
// here now: a stamp file in the outDir holds a SHA-256 of the sources' paths and contents, written
// by scripts/compile.js (and the package's `npm run build`) after tsc, only if no source changed
// while it ran. load.js and the program's entry (program.js) use the compiled JavaScript only
// when the stamp matches, else compile in memory as before: an edit never runs stale code.
// Hashing the ~60 sources reads about 0.4 MB: a few ms, against ts-node's 1.5 s per process.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const STAMP = ".sources.sha256";
/** Directories never holding sources of a compile. */
const SKIP = new Set(["node_modules", "dist", "example", "docs", ".git"]);

/**
 * The .ts sources (not .d.ts) under each root (a directory, searched recursively, or a file), as absolute paths, sorted.
 * @param {readonly string[]} roots
 * @returns {string[]}
 */
function sourceFiles(roots) {
    /** @type {string[]} */
    const files = [];
    /** @param {string} dir */
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                if (!SKIP.has(entry.name)) {
                    walk(full);
                }
            } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
                files.push(full);
            }
        }
    };
    for (const root of roots) {
        if (fs.statSync(root).isDirectory()) {
            walk(root);
        } else {
            files.push(root);
        }
    }
    return [...new Set(files)].sort();
}

/**
 * SHA-256 over the sources under `roots` and the `extra` files (tsconfigs), by path relative to `base` and content.
 * @param {string} base
 * @param {readonly string[]} roots
 * @param {readonly string[]} [extra]
 * @returns {string}
 */
function sourcesHash(base, roots, extra = []) {
    const hash = crypto.createHash("sha256");
    for (const file of [...sourceFiles(roots), ...extra]) {
        hash.update(path.relative(base, file)).update("\0").update(fs.readFileSync(file)).update("\0");
    }
    return hash.digest("hex");
}

/**
 * True when `outDir` holds a stamp equal to `hash`.
 * @param {string} outDir
 * @param {string} hash
 */
function stampMatches(outDir, hash) {
    try {
        return fs.readFileSync(path.join(outDir, STAMP), "utf8").trim() === hash;
    } catch {
        return false;
    }
}

/**
 * @param {string} outDir
 * @param {string} hash
 */
function writeStamp(outDir, hash) {
    fs.writeFileSync(path.join(outDir, STAMP), `${hash}\n`);
}

/** @param {string} outDir */
function removeStamp(outDir) {
    fs.rmSync(path.join(outDir, STAMP), { force: true });
}

/** What the package's own compile covers (tsconfig.build.json: index.ts and what it imports). */
const PACKAGE = {
    base: __dirname,
    roots: [__dirname],
    // serialize-shims.js: its output (dist/serialized-shims.json) is part of the compile.
    extra: [path.join(__dirname, "tsconfig.build.json"), path.join(__dirname, "..", "tsconfig.json"), path.join(__dirname, "serialize-shims.js")].filter((f) =>
        fs.existsSync(f),
    ),
    outDir: path.join(__dirname, "dist"),
};

/** The package's compiled copy, when it matches the sources here; undefined otherwise. */
function freshPackageEntry() {
    const entry = path.join(PACKAGE.outDir, "index.js");
    return fs.existsSync(entry) && stampMatches(PACKAGE.outDir, sourcesHash(PACKAGE.base, PACKAGE.roots, PACKAGE.extra)) ? entry : undefined;
}

module.exports = { STAMP, PACKAGE, sourceFiles, sourcesHash, stampMatches, writeStamp, removeStamp, freshPackageEntry };
