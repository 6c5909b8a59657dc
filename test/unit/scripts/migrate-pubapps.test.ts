// scripts/migrate-pubapps.sh against a stand-in `pulumi` (a script on PATH that serves a recorded state and
// logs each `state delete`): it removes exactly main's remote steps, dependents first, and keeps the local ones.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..", "..", "..");
const prefix = "urn:pulumi:pubapps::sparc-deploy::";
const stackUrn = `${prefix}sparc:pubapps:PubappsStack::sparc`;
const command = (name: string) => ({ type: "command:local:Command", urn: `${prefix}sparc:pubapps:PubappsStack$command:local:Command::${name}` });
// In the order main's program registered them (a resource after what it depends on).
const resources = [
    { type: "pulumi:pulumi:Stack", urn: `${prefix}pulumi:pulumi:Stack::sparc-deploy-pubapps` },
    { type: "sparc:pubapps:PubappsStack", urn: stackUrn },
    command("sparc-host"),
    command("sparc-mas-archive"),
    command("sparc-mas-image"),
    command("sparc-pod"),
    command("sparc-turn-secret-value"),
    command("sparc-turn-secret"),
    command("sparc-ice-servers"),
    command("sparc-mas-unit"),
    command("sparc-ready"),
    { type: "pulumi-nodejs:dynamic/ssh:RemoteCommand", urn: `${prefix}sparc:pubapps:PubappsStack$pulumi-nodejs:dynamic/ssh:RemoteCommand::sparc-host` },
];

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function run(args: string[]): { code: number; stdout: string; deleted: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-pubapps-"));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ version: 3, deployment: { resources } }));
    fs.writeFileSync(
        path.join(dir, "pulumi"),
        [
            "#!/bin/sh",
            `case "$1 $2" in`,
            `  "stack export") cp ${dir}/state.json "$6" ;;`,
            `  "state delete") echo "$6" >> ${dir}/deleted ;;`,
            "  *) exit 9 ;;",
            "esac",
        ].join("\n"),
        { mode: 0o755 },
    );
    const r = spawnSync("bash", [path.join(root, "scripts/migrate-pubapps.sh"), ...args, "--backup", path.join(dir, "backup.json")], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` },
        cwd: dir,
    });
    const log = path.join(dir, "deleted");
    return { code: r.status ?? -1, stdout: `${r.stdout}${r.stderr}`, deleted: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
}

describe("migrate-pubapps.sh", () => {
    it("deletes main's remote steps from the state, dependents first, and keeps the archives and the generated TURN secret", () => {
        const r = run(["--stack", "pubapps"]);
        expect(r.code, r.stdout).toBe(0);
        expect(r.deleted.map((u) => u.split("::").pop())).toEqual([
            "sparc-ready",
            "sparc-mas-unit",
            "sparc-ice-servers",
            "sparc-turn-secret",
            "sparc-pod",
            "sparc-mas-image",
            "sparc-host",
        ]);
    });

    it("--dry-run lists them and deletes nothing", () => {
        const dry = run(["--stack", "pubapps", "--dry-run"]);
        expect(dry.code).toBe(0);
        expect(dry.stdout).toContain("--dry-run: nothing removed");
        expect(dry.stdout).toContain("PubappsStack$command:local:Command::sparc-host");
        expect(dry.deleted).toEqual([]);
    });

    it("without --stack fails naming the flag", () => {
        const r = run([]);
        expect(r.code).toBe(2);
        expect(r.stdout).toMatch(/--stack <stack> is required/);
    });
});
