// @ts-check
// The two ahead-of-time compiles (issue 21: ts-node cost 1.2-1.7 s in every process that loaded
// the program or a provider), shared by scripts/compile.js (which runs tsc) and program.js (which
// picks the compiled program when it is fresh). The package's own target lives in providers/fresh.js.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const fresh = require("../providers/fresh.js");

const root = path.resolve(__dirname, "..");

/** The program: index.ts and what it imports (components/, providers/), compiled to dist/program/. */
const PROGRAM = {
    base: root,
    roots: [path.join(root, "index.ts"), path.join(root, "components"), path.join(root, "providers")],
    extra: [path.join(root, "tsconfig.json"), path.join(root, "tsconfig.program.json")],
    outDir: path.join(root, "dist", "program"),
    tsconfig: path.join(root, "tsconfig.program.json"),
};

/** dist/program/index.js when it was compiled from exactly today's sources; undefined otherwise. */
function freshProgramEntry() {
    const entry = path.join(PROGRAM.outDir, "index.js");
    return fs.existsSync(entry) && fresh.stampMatches(PROGRAM.outDir, fresh.sourcesHash(PROGRAM.base, PROGRAM.roots, PROGRAM.extra)) ? entry : undefined;
}

module.exports = { PROGRAM, freshProgramEntry };
