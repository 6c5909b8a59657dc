// The archive-copy step's scripts (components/hpg/commands.ts) run by a real bash, as RemoteCommand
// runs them on the login node, with a hostile hpgContainerDir: every path is one quoted word.
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { copyArchiveSteps, sifPlan } from "../../../../components/hpg/commands";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-copy-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("copyArchiveSteps with a hostile container directory", () => {
    // Each would run a command or end a quote if it reached the shell unquoted.
    it.each(["d$(touch PWNED)", 'd"; touch PWNED; echo "', "d`touch PWNED`", "d $HOME 'q'"])("%s", (name) => {
        const cwd = fs.mkdtempSync(path.join(root, "case-"));
        const remoteDir = path.join(cwd, name, "containers");
        const plan = sifPlan("mas", "localhost/mas:1", "0123456789abcdef", "/unused", remoteDir);
        const archive = Buffer.from("archive bytes\n");
        const sha256 = createHash("sha256").update(archive).digest("hex");
        const steps = copyArchiveSteps(plan, sha256);
        const run = (argv: string[], input?: Buffer) => spawnSync(argv[0] as string, argv.slice(1), { cwd, input, encoding: "utf8" });

        const created = run(steps.create, archive);
        expect(created.stderr).toBe("");
        expect(created.status).toBe(0);
        expect(created.stdout).toBe(`sent ${archive.length} bytes to ${plan.remoteTar}\n`);
        expect(fs.readFileSync(plan.remoteTar)).toEqual(archive);
        const skipped = run(steps.unless);
        expect(skipped.stdout).toBe(`sent 0 bytes: ${plan.remoteTar} is already on the cluster\n`);
        // Nothing in the path ran.
        expect(fs.readdirSync(cwd)).toEqual([name]);
        expect(fs.readdirSync(path.join(cwd, name))).toEqual(["containers"]);
    });
});
