// Issue 21, without a cluster: the login-node side of a SlurmJob's event wait (markers.ts), run by
// the real bash; the eventFile input's rule; the .sif build job's done/failed marker, written by the
// real script with an Apptainer stand-in that succeeds or fails; the ahead-of-time compile's stamp
// (providers/fresh.js) that decides whether compiled JavaScript may run.
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { eventFileOf, eventWaitArgv } from "../../../../providers/slurm/markers";
import { validateJobInputs } from "../../../../providers/slurm/validate";
import { FIELD_POLICY } from "../../../../providers/slurm/fields";
import type { SlurmJobInputs } from "../../../../providers/slurm/types";
import { sifBuildScript, sifPlan } from "../../../../components/hpg/commands";
import { schedulerQueriesPerHour } from "../../../bench/overhead-schedule";

const fresh = require("../../../../providers/fresh.js") as {
    sourcesHash: (base: string, roots: string[], extra?: string[]) => string;
    stampMatches: (outDir: string, hash: string) => boolean;
    writeStamp: (outDir: string, hash: string) => void;
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-event-"));
    dirs.push(d);
    return d;
}

describe("the event wait on the login node (bash)", () => {
    const run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 30_000 });

    it("returns at once, printing nothing, when the file is there (a path with spaces and quotes stays one argument)", () => {
        const file = path.join(tempDir(), `it's "done" $HOME.event`);
        fs.writeFileSync(file, "done 0\n");
        const r = run(eventWaitArgv(file, 60));
        expect(r.status).toBe(0);
        expect(r.stdout).toBe("");
    });

    it("exits 3 after its bound when the file never comes, and an empty file is not the event", () => {
        const file = path.join(tempDir(), "x.event");
        fs.writeFileSync(file, "");
        expect(run(eventWaitArgv(file, 1)).status).toBe(3);
        expect(run(eventWaitArgv(path.join(tempDir(), "absent"), 1)).status).toBe(3);
    });

    it("sees a file written while it waits", () => {
        const file = path.join(tempDir(), "later.event");
        // The writer starts first and writes after a second; the wait's bound (60 s) is far away.
        const r = spawnSync(
            "bash",
            [
                "-c",
                `(sleep 1; echo done > "$1") & ${eventWaitArgv(file, 60)
                    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
                    .join(" ")}`,
                "w",
                file,
            ],
            {
                encoding: "utf8",
                timeout: 30_000,
            },
        );
        expect(r.status).toBe(0);
    });

    it("names the job's own file: %j is its id", () => {
        expect(eventFileOf({ eventFile: "/blue/g/u/sif_build_mas_%j.event" } as SlurmJobInputs, "123")).toBe("/blue/g/u/sif_build_mas_123.event");
        expect(eventFileOf({} as SlurmJobInputs, "123")).toBeUndefined();
    });
});

describe("eventFile input", () => {
    const base = { command: "true", ownerTag: "pulumi:p/s/j", waitFor: "completed", connection: { host: "h", user: "u", hostKey: "ssh-ed25519 AAAA" } };

    it.each([["/blue/g/u/done"], ["a\nb_%j"], [42]])("%j is refused, naming the input and an example", (value) => {
        const failures = validateJobInputs({ ...base, eventFile: value } as unknown as SlurmJobInputs).filter((f) => f.property === "eventFile");
        expect(failures).toHaveLength(1);
        expect(failures[0].reason).toContain("%j");
    });

    it("a path with %j passes; a change of it never replaces the job", () => {
        expect(
            validateJobInputs({ ...base, eventFile: "/blue/g/u/b_%j.event" } as unknown as SlurmJobInputs).filter((f) => f.property === "eventFile"),
        ).toEqual([]);
        expect(FIELD_POLICY.eventFile).toBe("state");
    });
});

describe("the .sif build job's marker (the real script, an Apptainer stand-in)", () => {
    it.each([
        ["done 0", 'touch "$3"'],
        ["failed 7", "exit 7"],
    ])("writes %j when apptainer build ends so", (expected, body) => {
        const dir = tempDir();
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "apptainer"), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
        const plan = sifPlan("mas", "img", "0123456789abcdef", dir, dir);
        const script = sifBuildScript(plan, [], undefined, `${dir}/sif build_%j.event`);
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SLURM_JOB_ID: "4242" } });
        expect(r.status).toBe(expected === "done 0" ? 0 : 7);
        expect(fs.readFileSync(`${dir}/sif build_4242.event`, "utf8")).toBe(`${expected}\n`);
        expect(fs.existsSync(`${dir}/sif build_4242.event.part`)).toBe(false);
    });

    it("without a pattern (the login-node build) writes none", () => {
        expect(sifBuildScript(sifPlan("mas", "img", "0123456789abcdef", "/l", "/r"), [])).not.toContain("trap");
    });
});

describe("the ahead-of-time compile's stamp (providers/fresh.js)", () => {
    it("matches the sources it was written for, and no longer after an edit, an added file or a tsconfig change", () => {
        const dir = tempDir();
        const src = path.join(dir, "src");
        const out = path.join(dir, "out");
        fs.mkdirSync(path.join(src, "sub"), { recursive: true });
        fs.mkdirSync(out);
        fs.writeFileSync(path.join(src, "a.ts"), "export const a = 1;\n");
        fs.writeFileSync(path.join(src, "sub", "b.ts"), "export const b = 2;\n");
        // Not sources: declarations, and what a compile or an install puts beside them.
        fs.writeFileSync(path.join(src, "c.d.ts"), "declare const c: number;\n");
        const tsconfig = path.join(dir, "tsconfig.json");
        fs.writeFileSync(tsconfig, "{}\n");
        const hash = () => fresh.sourcesHash(dir, [src], [tsconfig]);
        fresh.writeStamp(out, hash());
        expect(fresh.stampMatches(out, hash())).toBe(true);
        fs.writeFileSync(path.join(src, "c.d.ts"), "declare const c: string;\n");
        expect(fresh.stampMatches(out, hash())).toBe(true);
        fs.writeFileSync(path.join(src, "sub", "b.ts"), "export const b = 3;\n");
        expect(fresh.stampMatches(out, hash())).toBe(false);
        fresh.writeStamp(out, hash());
        fs.writeFileSync(path.join(src, "new.ts"), "\n");
        expect(fresh.stampMatches(out, hash())).toBe(false);
        fresh.writeStamp(out, hash());
        fs.writeFileSync(tsconfig, '{ "compilerOptions": {} }\n');
        expect(fresh.stampMatches(out, hash())).toBe(false);
        expect(fresh.stampMatches(path.join(dir, "no-such-out"), hash())).toBe(false);
    });
});

describe("scheduler queries per hour of a waiting job", () => {
    it("hpg's schedule (waitPollSeconds 15, pauses growing to 120 s): 33, with or without an event file", () => {
        expect(schedulerQueriesPerHour(15, 120)).toBe(33);
    });
});
