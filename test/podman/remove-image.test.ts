// scripts/podman/remove-image.js against real Podman's Docker API: images built the way
// @pulumi/docker builds them (POST /build with rm=0, the classic builder) leave working
// containers and intermediate images; the script removes those of its own image and nothing
// else, refuses (with the fix) while a container runs the image, and is idempotent.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeImageScript } from "../../components/images";
import { run } from "../support/spawn";

const SOCKET = "/run/podman/podman.sock";
const BASE = "localhost/sparc-standin/debian:bookworm";
const TAG = "localhost/sparc-rmtest/img";
const podmanUsable = spawnSync("podman", ["image", "exists", BASE]).status === 0 && fs.existsSync(SOCKET);
if (!podmanUsable && process.env.CI === "true") {
    throw new Error(`Podman with ${BASE} and ${SOCKET} is needed: run \`bash scripts/podman/setup.sh\``);
}

function podman(args: string[]): { status: number | null; stdout: string } {
    const r = spawnSync("podman", args, { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout };
}

/** Builds like @pulumi/docker 5.2 with BuilderV1: POST /build, rm=0 (ImageBuildOptions.Remove unset). */
async function buildLikePulumiDocker(tag: string): Promise<string> {
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-rmtest-"));
    // A unique RUN layer, so no other build shares it through the layer cache.
    fs.writeFileSync(path.join(context, "Dockerfile"), `FROM ${BASE}\nRUN echo ${process.pid}-${Date.now()}-${Math.random()} > /nonce\nCMD ["true"]\n`);
    const tar = spawnSync("tar", ["-C", context, "-cf", "-", "."]).stdout;
    fs.rmSync(context, { recursive: true, force: true });
    await new Promise<void>((resolve, reject) => {
        const req = http.request(
            {
                socketPath: SOCKET,
                method: "POST",
                path: `/build?t=${encodeURIComponent(tag)}&rm=0&version=1`,
                headers: { "Content-Type": "application/x-tar" },
                timeout: 120_000,
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8").on("data", (c: string) => (body += c));
                res.on("end", () =>
                    res.statusCode === 200 && !body.includes('"error"') ? resolve() : reject(new Error(`build: HTTP ${res.statusCode} ${body}`)),
                );
            },
        );
        req.on("timeout", () => req.destroy(new Error("build took over 120 s")));
        req.on("error", reject);
        req.end(tar);
    });
    return `sha256:${podman(["image", "inspect", "--format", "{{.Id}}", tag])
        .stdout.trim()
        .replace(/^sha256:/, "")}`;
}

async function removeImage(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = await run(process.execPath, [removeImageScript, ...args], { timeoutMs: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Image ids from the image up through its untagged parents. */
function chainOf(id: string): string[] {
    const chain = [id];
    for (;;) {
        const parent = podman(["image", "inspect", "--format", "{{.Parent}}", chain[chain.length - 1]]).stdout.trim();
        if (parent === "" || podman(["image", "inspect", "--format", "{{len .RepoTags}}", parent]).stdout.trim() !== "0") {
            return chain;
        }
        chain.push(`sha256:${parent.replace(/^sha256:/, "")}`);
    }
}

/** Build working containers (state "storage") on any of these images. */
function workingContainersOn(ids: readonly string[]): string[] {
    const bare = new Set(ids.map((id) => id.replace(/^sha256:/, "")));
    return podman(["ps", "--all", "--external", "--no-trunc", "--format", "{{.ID}} {{.ImageID}} {{.State}}"])
        .stdout.split("\n")
        .map((l) => l.split(" "))
        .filter(([, image, state]) => bare.has(image ?? "") && state?.toLowerCase() === "storage")
        .map(([id]) => id);
}

describe.skipIf(!podmanUsable)("remove-image.js on real Podman", () => {
    const runner = `sparc-rmtest-${process.pid}`;

    afterAll(() => {
        podman(["rm", "--force", "--time", "0", runner]);
        podman(["rm", "--force", `${runner}-c`]);
        for (const suffix of ["a", "b", "c"]) {
            podman(["rmi", "--force", `${TAG}-${suffix}:latest`]);
        }
    });

    it("removes the image, its build's working containers and intermediate images, and keeps the base", async () => {
        const id = await buildLikePulumiDocker(`${TAG}-a:latest`);
        const chain = chainOf(id);
        expect(chain.length, "the RUN step leaves an intermediate image").toBeGreaterThan(1);
        const workingBefore = workingContainersOn(chain);
        expect(workingBefore.length, "rm=0 leaves the RUN step's working container").toBeGreaterThan(0);

        const result = await removeImage(["--docker-host", `unix://${SOCKET}`, "--image", id]);
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(
            `removed the build's working containers ${workingBefore
                .map((c) => c.slice(0, 12))
                .sort()
                .join(" ")}\nremoved ${id}\n`,
        );
        for (const gone of chain) {
            expect(podman(["image", "exists", gone]).status, `${gone} must be gone`).toBe(1);
        }
        expect(workingContainersOn(chain)).toEqual([]);
        expect(podman(["image", "exists", BASE]).status).toBe(0);

        // Idempotent: a repeated delete (e.g. a retried destroy) succeeds.
        const again = await removeImage(["--docker-host", `unix://${SOCKET}`, "--image", id]);
        expect(again).toEqual({ code: 0, stdout: `${id} already gone\n`, stderr: "" });
    }, 300_000);

    it("keeps an intermediate image another container sits on, and still removes its own image", async () => {
        const id = await buildLikePulumiDocker(`${TAG}-c:latest`);
        const chain = chainOf(id);
        const intermediate = chain[1];
        expect(intermediate).toBeDefined();
        // Another build's (or user's) container on the shared intermediate layer.
        expect(podman(["create", "--name", `${runner}-c`, intermediate, "true"]).status).toBe(0);
        const result = await removeImage(["--docker-host", `unix://${SOCKET}`, "--image", id]);
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        // The one in use and every intermediate below it stay (deletion goes top down and stops there).
        expect(result.stdout).toMatch(new RegExp(`removed ${id} \\(${chain.length - 1} intermediate image\\(s\\) kept: another build uses them\\)\n$`));
        expect(podman(["image", "exists", id]).status).toBe(1);
        expect(podman(["image", "exists", intermediate]).status).toBe(0);
        expect(podman(["container", "exists", `${runner}-c`]).status).toBe(0);
        podman(["rm", "--force", `${runner}-c`]);
        podman(["rmi", intermediate]);
    }, 300_000);

    it("refuses while a container runs the image, names the fix, and removes nothing", async () => {
        const id = await buildLikePulumiDocker(`${TAG}-b:latest`);
        expect(podman(["run", "--detach", "--name", runner, id, "sleep", "300"]).status).toBe(0);
        const result = await removeImage(["--docker-host", `unix://${SOCKET}`, "--image", id]);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`could not remove image ${id} at unix://${SOCKET}: HTTP 409`);
        expect(result.stderr).toContain("Fix: remove the containers that use it");
        expect(podman(["image", "exists", id]).status).toBe(0);
        expect(podman(["container", "exists", runner]).status).toBe(0);
    }, 300_000);

    it("leaves an image on an endpoint it cannot reach and says how to remove it", async () => {
        const result = await removeImage(["--docker-host", "ssh://builder.example", "--image", "sha256:0123"]);
        expect(result).toEqual({
            code: 0,
            stdout: "sha256:0123 left in place: dockerHost=ssh://builder.example is neither unix:// nor tcp://; remove it with `docker image rm sha256:0123`\n",
            stderr: "",
        });
    });
});
