// `pulumi up --stack dev` of the project's own program under the real engine, on real
// Podman: preview, up (pod + MAS + signaling, ready), a second up that changes nothing,
// destroy that leaves no pod and no container. The images are prebuilt here from the
// project's Dockerfiles (the @pulumi/docker plugin cannot be built offline: README,
// "Testing"); the @pulumi/command plugin is the stand-in under test/standins/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as path from "node:path";
import { COMMAND_STANDIN_DIR } from "../standins/command-provider/location";
import { requireEngine, shouldSkipEngineTests, TestStack } from "./lib/engine";

const root = path.resolve(__dirname, "../..");
const POD = "sparc-e2e";
const PREFIX = "e2e-";
const MAS_PORT = 18100;
const SIGNALING_PORT = 18180;
const images = { mas: "localhost/sparc-e2e/mas-server:latest", signaling: "localhost/sparc-e2e/signaling-server:latest" };

const podmanUsable = spawnSync("podman", ["info"], { stdio: "ignore" }).status === 0;
if (!podmanUsable && process.env.CI === "true") {
    throw new Error("Podman is not usable: run `bash scripts/podman/setup.sh` (.ci/run does it)");
}

function leftovers(): string {
    const pods = spawnSync("podman", ["pod", "ls", "--format", "{{.Name}}"], { encoding: "utf8" }).stdout.split("\n").filter((n) => n === POD);
    const containers = spawnSync("podman", ["ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" }).stdout.split("\n").filter((n) => n.startsWith(PREFIX));
    return [...pods, ...containers].join(" ");
}

describe.skipIf(shouldSkipEngineTests() || !podmanUsable)("pulumi up --stack dev on real Podman (real engine)", () => {
    let stack: TestStack;

    beforeAll(async () => {
        execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas"),
            "--signaling", path.join(root, "samples/signaling")], { stdio: "ignore" });
        for (const [service, context] of [["mas", "samples/mas"], ["signaling", "samples/signaling"]] as const) {
            execFileSync("podman", ["build", "-q", "-t", images[service], "-f", path.join(root, `dockerfiles/Dockerfile.${service}`), path.join(root, context)], { stdio: "ignore" });
        }
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: "e2e-dev", extraPath: [COMMAND_STANDIN_DIR] });
        const config: Record<string, string> = {
            imageSource: "prebuilt",
            masImage: images.mas,
            signalingImage: images.signaling,
            podName: POD,
            containerNamePrefix: PREFIX,
            masPort: String(MAS_PORT),
            signalingPort: String(SIGNALING_PORT),
            turnPort: "13479",
            webrtcPortRange: "49410-49412",
            readinessTimeoutSeconds: "60",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
    }, 600_000);

    afterAll(async () => {
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        await stack?.dispose();
    });

    it("preview plans the pod without touching Podman", async () => {
        expect(await stack.preview()).toEqual({ create: 8 });
        expect(leftovers()).toBe("");
    }, 300_000);

    it("up brings the pod up and MAS /health answers", async () => {
        const started = Date.now();
        expect(await stack.up()).toEqual({ create: 8 });
        console.log(`pulumi up --stack dev (prebuilt images) to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const out = await stack.outputs();
        expect(out.masUrl).toBe(`http://localhost:${MAS_PORT}`);
        expect(out.signalingUrl).toBe(`ws://localhost:${SIGNALING_PORT}`);
        expect(Object.keys(out.containerIds as object).sort()).toEqual(["mas", "signaling"]);
        expect(await (await fetch(`http://127.0.0.1:${MAS_PORT}/health`)).json()).toEqual({ status: "ok" });
        expect(leftovers().split(" ").sort()).toEqual([`${PREFIX}mas-server`, `${PREFIX}signaling-server`, POD].sort());
    }, 300_000);

    it("a second up changes nothing", async () => {
        expect(await stack.up()).toEqual({ same: 8 });
    }, 300_000);

    it("destroy leaves no pod and no container", async () => {
        expect(await stack.destroy()).toEqual({ delete: 8 });
        expect(leftovers()).toBe("");
    }, 300_000);
});
