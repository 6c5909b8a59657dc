import { readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Two tiers. `unit` (test/unit: no services) runs its files in parallel, first. The service tiers
// share one slurmctld and one Podman, so their files must never overlap: vitest 3 sizes its fork
// pool from the root config only (a project's fileParallelism is ignored), and groups of
// different sequence.groupOrder run strictly one after another, so each service file is its own
// project in its own group, after the unit group. `--project unit` runs the unit tier alone.
const serviceFiles = readdirSync("test", { recursive: true, encoding: "utf8" })
    .map((f) => `test/${f.split("\\").join("/")}`)
    .filter((f) => f.endsWith(".test.ts") && !f.startsWith("test/unit/") && !f.includes("/node_modules/"))
    .sort();

export default defineConfig({
    test: {
        // The Pulumi closure serializer needs a real process per test file ("forks"):
        // with worker threads it fails with ERR_TRACE_EVENTS_UNAVAILABLE.
        pool: "forks",
        // Unit files mostly wait (child processes, sockets): more forks than CPUs still pays on a 2-CPU runner.
        poolOptions: { forks: { maxForks: 4, minForks: 1 } },
        testTimeout: 120_000,
        hookTimeout: 300_000,
        projects: [
            { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } } },
            ...serviceFiles.map((file, i) => ({
                extends: true as const,
                test: { name: file.slice("test/".length, -".test.ts".length), include: [file], sequence: { groupOrder: i + 1 } },
            })),
        ],
    },
});
