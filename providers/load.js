// @ts-check
// Entry point of the @sparc-deploy/slurm-provider package, also required by name by the
// shim serialized into Pulumi state (slurm/shim.ts). It runs in Pulumi's dynamic-provider
// host, a plain `node`:
// - installed from the npm tarball (no .ts sources, `dist/` built by `prepack`), it loads
//   the compiled JavaScript;
// - in this repository's checkout (a workspace package, sources beside it), it loads `dist/`
//   when `scripts/compile.js` (run by scripts/up-dev.sh, `npm run compile`) built it from exactly
//   these sources (fresh.js: a stamp of their hash), else compiles the .ts sources in memory with
//   ts-node in transpile-only mode (no type check: `npm run typecheck` does that; about 1.5 s per
//   provider process). So the code that runs is always the checked-out source, never a stale
//   build, and `npm ci --ignore-scripts` is enough.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const source = path.join(__dirname, "index.ts");
if (!fs.existsSync(source)) {
    // A computed path: dist/ exists only in a packed tarball, and the checkout's type check must not look for it.
    module.exports = require(path.join(__dirname, "dist", "index.js"));
} else {
    const compiled = require("./fresh.js").freshPackageEntry();
    if (compiled !== undefined) {
        module.exports = require(compiled);
    } else {
        if (require.extensions[".ts"] === undefined) {
            require("ts-node").register({
                transpileOnly: true,
                skipProject: true,
                // Only the package's own sources; everything else keeps plain node semantics.
                scope: true,
                scopeDir: __dirname,
                compilerOptions: { module: "commonjs", target: "ES2022", esModuleInterop: true, sourceMap: true },
            });
        }
        module.exports = require(source);
    }
}
