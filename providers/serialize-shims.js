#!/usr/bin/env node
// @ts-check
// After a compile of dist/ (scripts/compile.js, the package's `npm run build`): writes dist/serialized-shims.json,
// the SDK's serialization of each compiled shim (dynamicResource.ts's serializeShim, the call
// pulumi.dynamic.Resource makes), with the SDK version and a hash of the compiled shim files, so that a program
// run does not serialize them again (dynamicResource.ts says why and when the file is used).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/** @param {string} distDir */
async function writeSerializedShims(distDir) {
    const dynamic = require(path.join(distDir, "dynamicResource.js"));
    const target = path.join(distDir, dynamic.SERIALIZED_SHIMS_FILE);
    fs.rmSync(target, { force: true });
    /** @type {Record<string, string>} */
    const texts = {};
    for (const [name, { file, exportName }] of Object.entries(dynamic.SHIMS)) {
        const serialized = await dynamic.serializeShim(require(path.join(distDir, file))[exportName]);
        if (serialized.containsSecrets) {
            throw new Error(`${file}: the shim's serialization holds a secret; it must not`);
        }
        texts[name] = serialized.text;
    }
    const shimsHash = dynamic.shimsHash(distDir);
    const sdkVersion = require("@pulumi/pulumi/package.json").version;
    const body = `${JSON.stringify({ sdkVersion, shimsHash, texts }, null, 1)}\n`;
    fs.writeFileSync(`${target}.tmp`, body);
    fs.renameSync(`${target}.tmp`, target);
}

module.exports = { writeSerializedShims };

if (require.main === module) {
    writeSerializedShims(path.resolve(process.argv[2] ?? path.join(__dirname, "dist"))).catch((err) => {
        console.error(`serialize-shims: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    });
}
