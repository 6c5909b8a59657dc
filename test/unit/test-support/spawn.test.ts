import { describe, expect, it } from "vitest";
import { run } from "../../support/spawn";

// The tests' spawn helper must never turn a child that ignores its stdin into an uncaught EPIPE: vitest
// reports that as an error of the whole run (CI exit 1 with every test passed), from whichever file ran.
describe("test/support/spawn run", () => {
    it.each([
        ["exits without reading 1 MiB of stdin", "/bin/true", [], "x".repeat(1 << 20), 0, ""],
        ["exits 3 without reading", "/bin/sh", ["-c", "exit 3"], "y".repeat(1 << 20), 3, ""],
        ["reads what it is given", "/bin/cat", [], "hello", 0, "hello"],
    ])("%s", async (_name, file, args, stdin, status, stdout) => {
        const res = await run(file, args as string[], { stdin });
        expect(res.status).toBe(status);
        expect(res.stdout).toBe(stdout);
    });

    it("a missing program is a result, not a throw", async () => {
        const res = await run("/nonexistent/program", [], { stdin: "z".repeat(1 << 20) });
        expect(res.status).toBeNull();
        expect(res.stderr).toContain("ENOENT");
    });
});
