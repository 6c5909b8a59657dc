import { defineConfig } from "vitest/config";

// The Pulumi closure serializer needs a real process per test file ("forks"):
// with worker threads it fails with ERR_TRACE_EVENTS_UNAVAILABLE.
export default defineConfig({
    test: {
        pool: "forks",
        include: ["test/**/*.test.ts"],
        testTimeout: 120_000,
        hookTimeout: 300_000,
        // Real-cluster and real-Podman suites share one slurmctld and one Podman;
        // running files one at a time keeps their job and pod assertions exact.
        fileParallelism: false,
    },
});
