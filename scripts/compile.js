#!/usr/bin/env node
// @ts-check
// `npm run compile`: compiles the provider package (providers/dist/) and the program (dist/program/)
// ahead of time, each only when its sources changed since its last compile, so that neither
// `pulumi up` nor its provider processes compile TypeScript at start (providers/load.js,
// program.js). tsc --noCheck: emit only (`npm run typecheck` checks). A compile is stamped
// (providers/fresh.js) only if no source changed while tsc ran; an unstamped output is never used.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const fresh = require("../providers/fresh.js");
const { PROGRAM } = require("./compile-targets.js");

const root = path.resolve(__dirname, "..");
const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });

/**
 * @param {string} label
 * @param {{ base: string, roots: string[], extra: string[], outDir: string }} target
 * @param {string} tsconfig
 * @param {() => void} [after]
 */
function compile(label, target, tsconfig, after) {
    const before = fresh.sourcesHash(target.base, target.roots, target.extra);
    if (fresh.stampMatches(target.outDir, before)) {
        return;
    }
    const started = Date.now();
    fresh.removeStamp(target.outDir);
    fs.rmSync(target.outDir, { recursive: true, force: true });
    // No .d.ts: the checkout's type check resolves "../../providers" to the package's types entry
    // (dist/index.d.ts) when it exists, and must see the sources instead.
    execFileSync(process.execPath, [tsc, "-p", tsconfig, "--noCheck", "--declaration", "false"], { cwd: root, stdio: "inherit" });
    after?.();
    if (fresh.sourcesHash(target.base, target.roots, target.extra) === before) {
        fresh.writeStamp(target.outDir, before);
        console.error(`compile: ${label} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else {
        console.error(`compile: ${label}: a source changed while tsc ran; not stamped (the sources are compiled in memory until the next compile)`);
    }
}

compile("providers/dist", fresh.PACKAGE, path.join(root, "providers", "tsconfig.build.json"), () => {
    // The shims' serialization, made once here instead of in every program run (providers/dynamicResource.ts).
    execFileSync(process.execPath, [path.join(root, "providers", "serialize-shims.js"), fresh.PACKAGE.outDir], { cwd: root, stdio: "inherit" });
});
compile("dist/program", PROGRAM, PROGRAM.tsconfig, () => {
    // The compiled components require "../../providers": the package itself (its load.js, which
    // takes providers/dist when fresh), as the program from source does, never a second copy.
    const link = path.join(PROGRAM.outDir, "providers");
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(path.join("..", "..", "providers"), link);
});
