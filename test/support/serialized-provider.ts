// The providers as `pulumi up` stores them: compiled with tsc, then closure-serialized by the SDK in a
// plain Node process (serialize-provider.js, outside vitest's module transform). Shared by the gRPC
// host test and the state-size benchmark.
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");

/** Compiles these entry points (paths relative to the repository) and what they import into outDir, as CommonJS. */
export function compileProviders(outDir: string, entries: readonly string[]): void {
    execFileSync(
        path.join(root, "node_modules/.bin/tsc"),
        [
            ...["--outDir", outDir, "--rootDir", root, "--module", "commonjs", "--target", "ES2022", "--strict"],
            ...["--esModuleInterop", "--skipLibCheck", "--types", "node"],
            ...entries.map((entry) => path.join(root, entry)),
        ],
        { cwd: root, stdio: "pipe" },
    );
}

/** The text the SDK serializes for one export (default slurmJobProvider) of a module compiled by compileProviders. */
export function serializeProvider(outDir: string, module: string, exportName?: string): string {
    return execFileSync(
        process.execPath,
        [path.join(root, "test/support/serialize-provider.js"), path.join(outDir, module), ...(exportName === undefined ? [] : [exportName])],
        { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
}
