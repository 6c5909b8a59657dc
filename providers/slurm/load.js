// @ts-check
// Entry point of the @sparc-deploy/slurm-provider workspace package, required by name by
// the shim serialized into Pulumi state (shim.ts). It runs in Pulumi's dynamic-provider
// host, a plain `node` without TypeScript support, so it compiles the providers' .ts
// sources in memory with ts-node in transpile-only mode (no type check: `npm run
// typecheck` does that). No build step, so `npm ci --ignore-scripts` is enough and the
// code that runs is always the checked-out source, never a stale build.
"use strict";
const path = require("node:path");

const entry = path.join(__dirname, "index.ts");
if (require.extensions[".ts"] === undefined) {
    require("ts-node").register({
        transpileOnly: true,
        skipProject: true,
        // Only the providers' sources (this package and the neutral SSH module it uses,
        // providers/remote); everything else keeps plain node semantics.
        scope: true,
        scopeDir: path.dirname(__dirname),
        compilerOptions: { module: "commonjs", target: "ES2022", esModuleInterop: true, sourceMap: true },
    });
}
module.exports = require(entry);
