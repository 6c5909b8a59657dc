// @ts-check
// The program's entry (Pulumi.yaml `main`, runtime option typescript: false): the program compiled
// ahead of time (dist/program/, `npm run compile`, scripts/up-dev.sh runs it) when it was compiled
// from exactly today's sources; else index.ts through ts-node in transpile-only mode, as before
// (`npm run typecheck` type-checks). Either way an edit never runs stale code.
"use strict";
// Stack traces mapped by Node's own source maps, not by the source-map-support that the SDK's runner installs
// before it loads this file: that one wraps every frame of every stack in JavaScript, and the SDK takes a whole
// stack (Error.stackTraceLimit = Infinity) at each resource it registers (Resource.callsites). About 0.1 s of each
// run here (issue 21). Node maps the files loaded from here on, this program's among them (dist/program/*.js.map).
if (typeof process.setSourceMapsEnabled === "function") {
    Reflect.deleteProperty(Error, "prepareStackTrace");
    process.setSourceMapsEnabled(true);
}
const compiled = require("./scripts/compile-targets.js").freshProgramEntry();
if (compiled !== undefined) {
    module.exports = require(compiled);
} else {
    const path = require("node:path");
    require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.json") });
    // A computed path: the JavaScript type check (tsconfig.scripts.json) must not follow it into the program.
    module.exports = require(path.join(__dirname, "index.ts"));
}
