// @ts-check
// Preloaded into the program's node (Pulumi.yaml runtime option nodeargs: --require), after
// compile-cache.js. @pulumi/pulumi's runtime/index.js loads its closure serializer eagerly
// (runtime/closure/serializeClosure: the TypeScript compiler; runtime/closure/codePaths:
// @npmcli/arborist) only to re-export three functions. That is 0.35-0.5 s of every program start
// on the 2-core test machine (issue 21), and the program never calls them: the dynamic providers'
// shims are serialized at build time (providers/serialize-shims.js). The SDK's own dynamic/index.js
// already loads the serializer on demand "as its dependencies are slow to load" (pulumi/pulumi#10185
// did the same for typescript in 2022); this does it for runtime/index.js's two requires.
//
// How: a module resolve hook (module.registerHooks, Node >= 22.15) answers those two requires,
// and only when runtime/index.js makes them, with a stand-in module whose exports call the real
// module, loaded at the first call. Anything else that requires the real files gets them as before.
// Only for the @pulumi/pulumi versions whose exports were checked (test/unit/scripts/lazy-closure.test.ts
// compares them with the real modules'); any other version, or an older Node, loads as before.
"use strict";
const nodeModule = require("node:module");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

/** The stand-ins: the file each replaces (relative to @pulumi/pulumi/runtime) and the exports it forwards. */
const lazyModules = {
    "./closure/serializeClosure": ["serializeFunction", "serializeFunctionAsync"],
    "./closure/codePaths": ["computeCodePaths", "findWorkspaceRoot", "packageArchivePath"],
};
/** The @pulumi/pulumi versions whose runtime/index.js and closure modules these stand-ins were checked against. */
const checkedVersions = ["3.270.0"];

/**
 * The source of a stand-in for `realFile`: each export a function that loads the real module at its first call.
 * @param {string} realFile absolute path
 * @param {string[]} names
 */
function standInSource(realFile, names) {
    const lines = [
        '"use strict";',
        "let real;",
        `const load = () => (real ??= require(${JSON.stringify(realFile)}));`,
        ...names.map((n) => `exports.${n} = function ${n}(...args) { return load().${n}.apply(this, args); };`),
    ];
    return lines.join("\n");
}

/** Installs the hook when Node has registerHooks and @pulumi/pulumi is a checked version; returns whether it did. */
function install() {
    if (typeof nodeModule.registerHooks !== "function") return false;
    let sdkRoot;
    try {
        sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [process.cwd(), __dirname] }));
    } catch {
        return false;
    }
    const version = require(path.join(sdkRoot, "package.json")).version;
    if (!checkedVersions.includes(version)) return false;
    const runtimeIndex = pathToFileURL(path.join(sdkRoot, "runtime", "index.js")).href;
    /** @type {Map<string, string>} stand-in URL -> its source */
    const sources = new Map();
    nodeModule.registerHooks({
        resolve(specifier, context, nextResolve) {
            const names = Object.hasOwn(lazyModules, specifier) ? lazyModules[/** @type {keyof typeof lazyModules} */ (specifier)] : undefined;
            if (names === undefined || context.parentURL !== runtimeIndex) return nextResolve(specifier, context);
            const real = nextResolve(specifier, context);
            // Its own file name (never on disk: the load hook gives its source), so that the CommonJS cache keeps
            // the stand-in and the real module apart.
            const url = real.url.replace(/\.js$/, ".sparc-lazy.js");
            sources.set(url, standInSource(new URL(real.url).pathname, names));
            return { url, format: "commonjs", shortCircuit: true };
        },
        load(url, context, nextLoad) {
            const source = sources.get(url);
            if (source === undefined) return nextLoad(url, context);
            return { format: "commonjs", source, shortCircuit: true };
        },
    });
    return true;
}

module.exports = { lazyModules, checkedVersions, installed: install() };
