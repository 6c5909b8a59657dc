// Real Podman, Riva's place in the pod taken by the gRPC health STAND-IN (test/standins/grpc-health; Riva
// itself needs an NVIDIA GPU, NGC and a model repository). Runs exactly the lines components/pod.ts
// renders for rivaEnabled: the pod with Riva's loopback port, the NGC key's podman secret (value on stdin
// only), the riva container (/data, --secret, the start command), then wait-ready --grpc-health.
// Needs root and the stand-in base image node:20-alpine (`bash scripts/podman/setup.sh`).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/spawn";
import {
    containerRunArgv,
    devContainerSpecs,
    ngcSecretName,
    podCreateArgv,
    podRmArgv,
    render,
    secretCreateScript,
    secretDeleteScript,
} from "../../components/pod";
import { devConfigDefaults } from "../../components/podConfig";
import { devScripts } from "../../components/dev/devStack";
import { turnPlan } from "../../components/turn";

const root = path.resolve(__dirname, "..", "..");
const inCi = process.env.CI === "true";
const baseImage = "docker.io/library/node:20-alpine";
const podmanProblem = (() => {
    if (process.getuid?.() !== 0) return "not root (the dev pod uses rootful Podman)";
    const res = spawnSync("podman", ["image", "exists", baseImage], { timeout: 60_000 });
    return res.status === 0 ? "" : `podman or ${baseImage} missing`;
})();

/** /bin/sh -c LINE as @pulumi/command runs it, with optional stdin; `out` is stdout then stderr (the checks look for lines in either). */
async function sh(line: string, stdin = ""): Promise<{ code: number | null; out: string }> {
    const r = await run("/bin/sh", ["-c", line], { stdin });
    return { code: r.status, out: r.stdout + r.stderr };
}
async function ok(line: string, stdin = ""): Promise<string> {
    const r = await sh(line, stdin);
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${line}\n${r.out}`);
    return r.out.trim();
}

const podName = "sparc-rivatest";
const image = "localhost/sparc-rivatest/riva-grpc-health:latest";
const secret = ngcSecretName(podName);
const key = `nvapi-rivatest-${process.pid}`;
const rivaPort = 15052;
const repo = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-rivatest-repo-"));
const waitReady = (timeout: number) =>
    render([
        process.execPath,
        devScripts.waitReady,
        "--timeout",
        String(timeout),
        "--grpc-health",
        `127.0.0.1:${rivaPort}`,
        "--logs",
        `${podName}-riva-server`,
    ]);

describe.skipIf(podmanProblem !== "" && !inCi)("Riva's container in the dev pod, with the gRPC health stand-in as rivaImage", () => {
    let runLine = "";

    beforeAll(async () => {
        expect(podmanProblem).toBe("");
        fs.mkdirSync(path.join(repo, "models"));
        await ok(render(["podman", "build", "-q", "-t", image, path.join(root, "test/standins/grpc-health")]));
        await ok(
            render(podCreateArgv({ podName, masPort: 18600, signalingPort: 18680, turnPort: 13600, webrtcPortRange: { first: 49310, last: 49311 }, rivaPort })),
        );
        const specs = devContainerSpecs(
            {
                podName,
                containerNamePrefix: `${podName}-`,
                publicHost: "localhost",
                gpuDeviceArgs: [], // no GPU here
                unityArgs: [],
                rivaEnabled: true,
                unityPlayer: "none",
                // TURN off: this test is Riva's (test/podman/turn.test.ts runs the relay).
                turn: turnPlan({
                    podName,
                    turnMode: "off",
                    host: "localhost",
                    port: 3478,
                    webrtcPortRange: { first: 49152, last: 49200 },
                    turnUrls: [],
                    turnCredentialTtlSeconds: 3600,
                }),
                // --init as riva_start.sh; its ulimits are refused in this container (no CAP_SYS_RESOURCE).
                riva: {
                    runArgs: ["--init"],
                    modelRepository: repo,
                    ngcSecretName: secret,
                    command: [...devConfigDefaults.rivaCommand, "--serving-after", "2"],
                },
            },
            { mas: "unused", signaling: "unused", riva: image },
        );
        runLine = render(containerRunArgv(specs.find((s) => s.service === "riva") ?? specs[0]));
        await ok(secretCreateScript(secret), key);
        await ok(runLine);
    }, 300_000);

    afterAll(async () => {
        await sh(render(podRmArgv(podName, 0)));
        await sh(secretDeleteScript(secret));
        await sh(render(["podman", "rmi", "--ignore", image]));
        fs.rmSync(repo, { recursive: true, force: true });
        // Nothing of ours is left.
        expect((await sh(`podman ps -a --format '{{.Names}}' | grep ${podName} || true`)).out.trim()).toBe("");
        expect((await sh(`podman secret ls --format '{{.Name}}' | grep ${secret} || true`)).out.trim()).toBe("");
    }, 120_000);

    it("gRPC health answers SERVING through the loopback port once the 'models' are loaded", async () => {
        const out = await ok(waitReady(60));
        expect(out).toMatch(new RegExp(`ready: gRPC health 127\\.0\\.0\\.1:${rivaPort} -> gRPC health SERVING after`));
    }, 90_000);

    it("the container got /data, start-riva's --riva-uri and NGC_API_KEY from the secret; the run line names only the secret", async () => {
        expect(runLine).toContain(`--secret ${secret},type=env,target=NGC_API_KEY`);
        expect(runLine).not.toContain(key);
        expect(await ok(render(["podman", "logs", `${podName}-riva-server`]))).toContain("on 0.0.0.0:50051; NGC_API_KEY set; /data: models");
        expect(await ok(render(["podman", "exec", `${podName}-riva-server`, "sh", "-c", 'test "$NGC_API_KEY" = "$1" && echo same', "sh", key]))).toBe("same");
    });

    it("NOT_SERVING: wait-ready fails after its bound with the status and Riva's log", async () => {
        await ok(render(["podman", "kill", "--signal", "USR1", `${podName}-riva-server`]));
        const r = await sh(waitReady(3));
        expect(r.code).toBe(1);
        expect(r.out).toContain(`gRPC health 127.0.0.1:${rivaPort}: gRPC health NOT_SERVING`);
        expect(r.out).toContain(`--- podman logs --tail 30 ${podName}-riva-server ---`);
    }, 30_000);
});
