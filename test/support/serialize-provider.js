// Serializes the compiled SlurmJob provider exactly as pulumi.dynamic.Resource does
// (closure serialization of `() => provider`), outside vitest's module transform.
// Usage: node serialize-provider.js <compiled providers/slurm/provider.js>
const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
const { slurmJobProvider } = require(process.argv[2]);
sc.serializeFunction(() => slurmJobProvider, { allowSecrets: true })
    .then((sf) => process.stdout.write(sf.text))
    .catch((err) => { console.error(err); process.exit(1); });
