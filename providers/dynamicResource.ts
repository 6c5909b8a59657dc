// The base of SlurmJob and RemoteCommand: a Pulumi dynamic resource (type `pulumi-nodejs:dynamic/<module>:<type>`,
// the serialized provider in its `__provider` input), as `pulumi.dynamic.Resource` makes one, except that the
// serialized text of the shim may come from the build instead of from a serialization at every program run.
//
// Why: `pulumi.dynamic.Resource` runs the SDK's closure serializer on its provider object in every run and in
// each of its passes (preview, update): a V8 inspector session and a parse of each function, 0.2-0.35 s of a
// no-op `up` per pass on a 2-core machine, for an object (the shim) that changes only when the package does.
// The build (scripts/compile.js, the package's `npm run build`) runs serializeShim below on the compiled shims
// and writes the texts to dist/serialized-shims.json with the SDK version and a hash of the compiled shim files;
// a resource takes them only when this module itself runs from that dist/ and both still match. Otherwise it
// serializes now, exactly as the SDK would (test/unit/providers/dynamic-resource.test.ts compares the two).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** The shims whose text the build may carry: each one's compiled file (relative to dist/) and export. */
export const SHIMS = {
    slurmJob: { file: "slurm/shim.js", exportName: "slurmJobShim" },
    remoteCommand: { file: "remote/shim.js", exportName: "remoteCommandShim" },
} as const;
export type ShimName = keyof typeof SHIMS;

/** What dist/serialized-shims.json holds. */
export interface SerializedShims {
    sdkVersion: string;
    /** SHA-256 of the compiled shim files, in SHIMS order. */
    shimsHash: string;
    texts: Record<ShimName, string>;
}

export const SERIALIZED_SHIMS_FILE = "serialized-shims.json";

/** The SDK's own serialization of a dynamic provider: `pulumi.dynamic.Resource` calls it with the same closure. */
export async function serializeShim(provider: object): Promise<{ text: string; containsSecrets: boolean }> {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    return { text: serialized.text, containsSecrets: serialized.containsSecrets };
}

/** SHA-256 of the compiled shim files under `distDir` (undefined when one is missing). */
export function shimsHash(distDir: string): string | undefined {
    const hash = crypto.createHash("sha256");
    for (const { file } of Object.values(SHIMS)) {
        try {
            hash.update(file)
                .update("\0")
                .update(fs.readFileSync(path.join(distDir, file)))
                .update("\0");
        } catch {
            return undefined;
        }
    }
    return hash.digest("hex");
}

function sdkVersion(): string {
    return (require("@pulumi/pulumi/package.json") as { version: string }).version;
}

/** The build's texts in `distDir`, if it holds them for these compiled shims and this SDK version; else none. */
export function readBuiltShims(distDir: string): Partial<Record<ShimName, string>> {
    let shims: Partial<SerializedShims>;
    try {
        shims = JSON.parse(fs.readFileSync(path.join(distDir, SERIALIZED_SHIMS_FILE), "utf8")) as Partial<SerializedShims>;
    } catch {
        return {};
    }
    const current = shims.sdkVersion === sdkVersion() && shims.shimsHash === shimsHash(distDir);
    return current && shims.texts !== undefined ? shims.texts : {};
}

let built: Partial<Record<ShimName, string>> | undefined;

const serializedNow = new Map<object, pulumi.Output<string>>();

function providerText(name: ShimName, provider: object): pulumi.Input<string> {
    // Only from the dist/ this module was compiled into: run from the .ts sources (ts-node, tests), it serializes.
    built ??= readBuiltShims(__dirname);
    const text = built[name];
    if (text !== undefined) {
        return text;
    }
    // Once per provider object and run, like the SDK's own cache; a shim holds no secret, so the text is plain.
    let output = serializedNow.get(provider);
    if (output === undefined) {
        output = pulumi.output(serializeShim(provider).then((s) => s.text));
        serializedNow.set(provider, output);
    }
    return output;
}

/**
 * The base of {@link SlurmJob} and {@link RemoteCommand}: a Pulumi dynamic resource (type
 * `pulumi-nodejs:dynamic/<module>:<type>`) with the inputs and state that `pulumi.dynamic.Resource` gives it,
 * whose serialized provider (one of the package's shims) comes from the package's build when it is current,
 * instead of being serialized again in every program run. Not for use outside the package.
 */
export abstract class ShimResource extends pulumi.CustomResource {
    protected constructor(
        shim: ShimName,
        provider: object,
        name: string,
        props: pulumi.Inputs,
        opts: pulumi.CustomResourceOptions | undefined,
        module: string,
        type: string,
    ) {
        if (props.__provider !== undefined) {
            throw new Error("A dynamic resource must not define the __provider key");
        }
        super(`pulumi-nodejs:dynamic/${module}:${type}`, name, { ...props, __provider: providerText(shim, provider) }, opts);
    }
}
