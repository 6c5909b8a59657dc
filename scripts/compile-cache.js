// @ts-check
// Preloaded into the program's node (Pulumi.yaml runtime option nodeargs: --require): V8's compile
// cache for every module the process loads, @pulumi/pulumi (which the language host's cmd/run loads
// before program.js) included. Loading @pulumi/pulumi, @pulumi/command and @pulumi/docker took 0.85 s
// without it and 0.55-0.65 s with it (issue 21); `pulumi up` with a preview starts the program twice.
// Node checks each entry against its source's hash, so an edited file is compiled again, never stale.
// The dynamic-provider processes are started by the engine, not by this process: NODE_COMPILE_CACHE in
// the CLI's environment (scripts/up-dev.sh sets it) covers them too.
"use strict";
const os = require("node:os");
const path = require("node:path");
const nodeModule = require("node:module");

// Node >= 22.1; NODE_COMPILE_CACHE, when set, has enabled it already (same directory then).
if (typeof nodeModule.enableCompileCache === "function") {
    nodeModule.enableCompileCache(process.env.NODE_COMPILE_CACHE || path.join(os.homedir(), ".cache", "sparc-deploy", "node-compile-cache"));
}
