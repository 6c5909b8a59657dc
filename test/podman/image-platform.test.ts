// The images' platform check against real Podman: an image whose config says arm64 (what a Mac on Apple
// silicon builds natively; made here with `podman build --platform linux/arm64` from scratch, no RUN, so
// no emulator is needed) is refused by both targets' archive step before anything is saved, with the key,
// the platform found and the fix; an amd64 image is saved. Also: a build through Podman's Docker API with
// the `platform` the stack passes to @pulumi/docker gives an amd64 image.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveArchiveCommand } from "../../components/archive";
import { sifPlan } from "../../components/hpg/commands";
import { imagePlan } from "../../components/pubapps/remote";

const SOCKET = "/run/podman/podman.sock";
const usable = spawnSync("podman", ["info"], { stdio: "ignore", timeout: 30_000 }).status === 0;
if (!usable && process.env.CI === "true") {
    throw new Error("Podman is needed: run `bash scripts/podman/setup.sh`");
}
const TAG = `localhost/sparc-platformtest/${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-platform-"));

function build(arch: "arm64" | "amd64"): string {
    const context = path.join(dir, `ctx-${arch}`);
    fs.mkdirSync(context, { recursive: true });
    fs.writeFileSync(path.join(context, "x"), `${arch}\n`);
    fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY x /x\n");
    const r = spawnSync("podman", ["build", "-q", "--platform", `linux/${arch}`, "-t", `${TAG}:${arch}`, context], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split("\n").pop() ?? "";
}

function sh(script: string): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!usable)("image platform", () => {
    const ids: Record<string, string> = {};
    beforeAll(() => {
        ids.arm64 = build("arm64");
        ids.amd64 = build("amd64");
    });
    afterAll(() => {
        spawnSync("podman", ["rmi", "-f", `${TAG}:arm64`, `${TAG}:amd64`, `${TAG}:api`], { stdio: "ignore" });
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const targets = {
        hpg: (arch: string) => {
            const plan = sifPlan("mas", `${TAG}:${arch}`, `${arch}0000000000000`.slice(0, 16), path.join(dir, "hpg"), "/blue/x");
            return { script: saveArchiveCommand("podman", plan, "linux/amd64"), tar: plan.localTar, ref: `${TAG}:${arch}` };
        },
        pubapps: (arch: string) => {
            const plan = imagePlan("signaling", ids[arch], path.join(dir, "pubapps"), "/podman/svc/a");
            return {
                script: saveArchiveCommand("podman", { ...plan, imageRef: plan.imageId }, "linux/amd64", { reuseSaved: true }),
                tar: plan.localTar,
                ref: plan.imageId,
            };
        },
    };
    const keyOf = { hpg: "masImage", pubapps: "signalingImage" };

    it.each(["hpg", "pubapps"] as const)("%s: an arm64 image is refused before it is saved, naming the key, the platform and the fix", (target) => {
        const { script, tar, ref } = targets[target]("arm64");
        const r = sh(script);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            `${keyOf[target]} = ${JSON.stringify(ref)}: the image is built for linux/arm64, but the target runs linux/amd64 (imagePlatform), where it would fail with "exec format error". Fix: rebuild it for linux/amd64 (\`podman build --platform linux/amd64\``,
        );
        expect(fs.existsSync(tar)).toBe(false);
        expect(fs.existsSync(`${tar}.part`)).toBe(false);
    });

    it.each(["hpg", "pubapps"] as const)("%s: an amd64 image is saved and its sha256 printed", (target) => {
        const { script, tar } = targets[target]("amd64");
        const r = sh(script);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
        expect(fs.existsSync(tar)).toBe(true);
    });

    it("a build through Podman's Docker API with platform=linux/amd64 (what @pulumi/docker sends for build.platform) is amd64", () => {
        const context = path.join(dir, "ctx-amd64");
        const tar = path.join(dir, "ctx.tar");
        expect(spawnSync("tar", ["-C", context, "-cf", tar, "."]).status).toBe(0);
        const r = spawnSync(
            "curl",
            [
                "-sf",
                "--max-time",
                "120",
                "--unix-socket",
                SOCKET,
                "-X",
                "POST",
                "-H",
                "Content-Type: application/x-tar",
                "--data-binary",
                `@${tar}`,
                `http://d/build?t=${encodeURIComponent(`${TAG}:api`)}&rm=0&version=1&platform=linux%2Famd64`,
            ],
            { encoding: "utf8", timeout: 130_000 },
        );
        expect(r.status, r.stderr).toBe(0);
        const arch = spawnSync("podman", ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", `${TAG}:api`], { encoding: "utf8" });
        expect(arch.stdout.trim()).toBe("linux/amd64");
    });
});
