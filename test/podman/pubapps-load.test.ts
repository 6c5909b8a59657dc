// The pubapps stack's load step (components/pubapps/remote.ts loadImageScript) run with real Podman, the way
// the instance runs it: the archive is removed once the loaded image is verified to be the archive's image id
// (UF's /podman may be 40 GB and holds the loaded images too), kept with pubappsKeepArchives, and kept when the
// load fails.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imagePlan, loadImageScript } from "../../components/pubapps/remote";

const usable = spawnSync("podman", ["info"], { stdio: "ignore", timeout: 30_000 }).status === 0;
if (!usable && process.env.CI === "true") {
    throw new Error("Podman is needed: run `bash scripts/podman/setup.sh`");
}
const TAG = `localhost/sparc-loadtest/${process.pid}:1`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-load-"));

function run(argv: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!usable)("pubapps load step with real Podman", () => {
    let id = "";
    let archive = "";
    beforeAll(() => {
        const context = path.join(dir, "ctx");
        fs.mkdirSync(context);
        // A unique file, so the image id is this test's own (no other test's image is loaded or removed).
        fs.writeFileSync(path.join(context, "x"), `${process.pid}-${Date.now()}\n`);
        fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY x /x\n");
        const built = run(["podman", "build", "-q", "-t", TAG, context]);
        expect(built.code, built.stderr).toBe(0);
        id = built.stdout.trim().split("\n").pop() ?? "";
        archive = path.join(dir, "image.tar");
        expect(run(["podman", "save", "--format", "docker-archive", "-o", archive, TAG]).code).toBe(0);
    });
    afterAll(() => {
        run(["podman", "rmi", "-f", "--ignore", id]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const planIn = (remoteDir: string) => {
        const p = imagePlan("mas", id, path.join(dir, "local"), remoteDir);
        fs.mkdirSync(remoteDir, { recursive: true });
        fs.copyFileSync(archive, p.remoteTar);
        return p;
    };

    it.each<[string, boolean, boolean]>([
        ["removed after a verified load (default)", false, false],
        ["kept with pubappsKeepArchives", true, true],
    ])("the archive is %s", (_what, keepArchive, kept) => {
        expect(run(["podman", "rmi", "-f", "--ignore", id]).code).toBe(0);
        const p = planIn(path.join(dir, keepArchive ? "keep" : "remove"));
        const [, , script] = loadImageScript(p, { keepArchive });
        const r = run(["bash", "-c", script]);
        expect(r.code, r.stderr).toBe(0);
        expect(
            r.stdout
                .trim()
                .split("\n")
                .pop()
                ?.replace(/^sha256:/, ""),
        ).toBe(p.imageId);
        expect(run(["podman", "image", "exists", p.unitImage]).code).toBe(0);
        expect(fs.existsSync(p.remoteTar)).toBe(kept);
        if (!kept) {
            expect(r.stderr).toContain(`removed ${p.remoteTar} (image loaded and verified)`);
        }
    });

    it("a load that fails keeps the archive", () => {
        expect(run(["podman", "rmi", "-f", "--ignore", id]).code).toBe(0);
        const p = planIn(path.join(dir, "broken"));
        fs.writeFileSync(p.remoteTar, "not an archive");
        const [, , script] = loadImageScript(p);
        const r = run(["bash", "-c", script]);
        expect(r.code).not.toBe(0);
        expect(fs.existsSync(p.remoteTar)).toBe(true);
    });
});
