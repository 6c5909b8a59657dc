// @ts-check
// Serializes a compiled SlurmJob provider object exactly as pulumi.dynamic.Resource does
// (closure serialization of `() => provider`), outside vitest's module transform.
// Usage: node serialize-provider.js <compiled module.js> [export name, default slurmJobProvider]
const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
const provider = require(process.argv[2])[process.argv[3] ?? "slurmJobProvider"];
sc.serializeFunction(() => provider, { allowSecrets: true })
    .then((sf) => process.stdout.write(sf.text))
    .catch((err) => {
        console.error(err);
        process.exit(1);
    });
