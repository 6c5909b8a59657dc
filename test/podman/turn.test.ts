// Real Podman and coturn: build dockerfiles/Dockerfile.turn, run turn-server in a pod of its own with
// exactly the command lines the stack renders (pod create, podman secret from stdin, podman run), then
// test the relay with Debian's turnutils_uclient: valid TURN REST credentials allocate and relay (UDP
// and TCP), a wrong or missing credential is refused, a private peer is refused, a public one is not;
// wait-ready.js gets a STUN Binding success. Needs root, `bash scripts/podman/setup.sh` (the
// debian:bookworm-slim stand-in) and `apt-get install coturn` (turnutils_uclient) on the host.
// With CI=true an unusable setup is a failure, elsewhere the suite is skipped.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, sh } from "../support/spawn";
import {
    containerRunArgv,
    devContainerSpecs,
    podCreateArgv,
    podRmArgv,
    render,
    secretCreateScript,
    secretDeleteScript,
    type ContainerSpec,
} from "../../components/pod";
import { dockerfiles, turnContext, unityStandinDockerfile } from "../../components/images";
import { playerIceJson, turnPlan, turnRestCredential } from "../../components/turn";
import { devScripts } from "../../components/dev/devStack";

const inCi = process.env.CI === "true";
const podName = "sparc-turntest";
const image = "localhost/sparc-turntest/turn-server:latest";
const standinImage = "localhost/sparc-turntest/unity-standin:latest";
const root = path.resolve(__dirname, "..", "..");
const standinContext = path.join(root, "samples", "unity-player-standin");
// Host ports no other suite uses (pod.test.ts 13478, the dev e2e 13479/13480, CI's reference pod 3478).
const ports = { masPort: 18491, signalingPort: 18492, turnPort: 13491, webrtcPortRange: { first: 42000, last: 42050 } };
const secret = "turn-test-secret-0123456789";

const problem = (() => {
    if (process.getuid?.() !== 0) return "not root (the dev pod uses rootful Podman)";
    const info = spawnSync("podman", ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { encoding: "utf8", timeout: 60_000 });
    if (info.error || info.status !== 0) return `podman info failed: ${info.error?.message ?? info.stderr.trim()}`;
    if (spawnSync("podman", ["image", "exists", "docker.io/library/debian:bookworm-slim"]).status !== 0) return "base image debian:bookworm-slim missing";
    if (spawnSync("sh", ["-c", "command -v turnutils_uclient"]).status !== 0) return "turnutils_uclient missing (apt-get install coturn)";
    return "";
})();

const plan = turnPlan({
    podName,
    turnMode: "embedded",
    host: "127.0.0.1",
    port: ports.turnPort,
    webrtcPortRange: ports.webrtcPortRange,
    turnUrls: [],
    turnCredentialTtlSeconds: 3600,
});
const secretName = plan.secretName ?? "";

/** turnutils_uclient against the pod's published port; -y: two clients talk through their relays. */
async function uclient(extra: string[]): Promise<string> {
    const res = await run("turnutils_uclient", ["-p", String(ports.turnPort), "-n", "5", "-m", "1", "-l", "170", ...extra, "127.0.0.1"], { timeoutMs: 60_000 });
    return res.stdout + res.stderr;
}
function credential(password = secret) {
    return turnRestCredential(password, "test", Math.floor(Date.now() / 1000) + 3600);
}

describe.skipIf(problem !== "" && !inCi)("turn-server on real Podman", () => {
    let spec: ContainerSpec | undefined;
    const cleanup = async () => {
        await run("/bin/sh", ["-c", render(podRmArgv(podName, 0))]);
        await run("/bin/sh", ["-c", secretDeleteScript(secretName)]);
        await run("/bin/sh", ["-c", secretDeleteScript(plan.iceSecretName)]);
    };

    beforeAll(async () => {
        if (problem !== "") return;
        await cleanup();
    });
    afterAll(async () => {
        if (problem !== "") return;
        await cleanup();
        await run("podman", ["rmi", "--ignore", image, standinImage]);
    });

    it("has rootful Podman, the Debian stand-in and turnutils_uclient", () => {
        expect(problem, `not usable: ${problem}. Fix: bash scripts/podman/setup.sh; apt-get install coturn`).toBe("");
    });

    it("builds Dockerfile.turn (coturn from Debian) from its small context", async () => {
        const res = await run("podman", ["build", "--format", "docker", "-f", dockerfiles.turn, "-t", image, turnContext], { timeoutMs: 900_000 });
        expect(res.status, res.stderr).toBe(0);
    }, 900_000);

    it("runs turn-server with the rendered commands: the secret from stdin, never on a command line", async () => {
        spec = devContainerSpecs(
            {
                podName,
                containerNamePrefix: `${podName}-`,
                publicHost: "127.0.0.1",
                gpuDeviceArgs: [],
                unityArgs: [],
                rivaEnabled: false,
                unityPlayer: "none",
                turn: plan,
            },
            { mas: "unused", signaling: "unused", turn: image },
        ).find((s) => s.service === "turn");
        expect(spec?.name).toBe(`${podName}-turn-server`);
        const runLine = render(containerRunArgv(spec as ContainerSpec));
        expect(runLine).not.toContain(secret);
        await sh(render(podCreateArgv({ podName, ...ports })));
        const id = await sh(secretCreateScript(secretName), secret);
        expect(id).toMatch(/^[0-9a-f]{10,}$/);
        // Created again (podman 4.3 has no --replace): the script removes the old one first.
        expect(await sh(secretCreateScript(secretName), secret)).not.toBe(id);
        await sh(runLine);
        const inspect = await sh(render(["podman", "inspect", spec?.name ?? ""]));
        expect(inspect).not.toContain(secret);
        const ready = await sh(
            render([process.execPath, devScripts.waitReady, "--timeout", "30", "--stun", `127.0.0.1:${ports.turnPort}`, "--logs", spec?.name ?? ""]),
        );
        expect(ready).toMatch(/ready: STUN 127\.0\.0\.1:13491\/udp -> STUN Binding success/);
        const logs = await sh(render(["podman", "logs", spec?.name ?? ""]));
        expect(logs).toContain("relay ports 42000-42050");
        expect(logs).not.toContain(secret);
    }, 120_000);

    it.each([
        { label: "UDP", flags: [] as string[] },
        { label: "TCP", flags: ["-t"] },
    ])(
        "valid credentials over $label: allocation and relayed messages, none lost",
        async ({ flags }) => {
            const c = credential();
            const out = await uclient([...flags, "-y", "-u", c.username, "-w", c.credential]);
            expect(out).not.toContain("Cannot complete Allocation");
            expect(out).toMatch(/tot_send_msgs=20, tot_recv_msgs=20/);
            expect(out).toMatch(/Total lost packets 0 \(0\.000000%\)/);
        },
        60_000,
    );

    it.each([
        {
            label: "a wrong secret",
            args: () => ["-u", credential("another-secret-0123456789").username, "-w", credential("another-secret-0123456789").credential],
        },
        {
            label: "an expired credential",
            args: () => ["-u", turnRestCredential(secret, "test", 1000).username, "-w", turnRestCredential(secret, "test", 1000).credential],
        },
        { label: "no credentials", args: () => [] },
    ])(
        "refuses $label: Cannot complete Allocation",
        async ({ args }) => {
            expect(await uclient(["-y", ...args()])).toContain("Cannot complete Allocation");
        },
        60_000,
    );

    it.each([
        { peer: "192.168.1.1", refused: true },
        { peer: "10.1.2.3", refused: true },
        { peer: "100.64.1.1", refused: true },
        { peer: "127.0.0.1", refused: true },
        { peer: "8.8.8.8", refused: false },
    ])(
        "no open relay into private networks: peer $peer refused: $refused",
        async ({ peer, refused }) => {
            const c = credential();
            const out = await uclient(["-u", c.username, "-w", c.credential, "-e", peer, "-r", "3480"]);
            expect(out.includes("403 (Forbidden IP)")).toBe(refused);
        },
        60_000,
    );

    it("the player (stand-in) reads its ICE servers file, a mounted secret; its credential allocates on the relay", async () => {
        // The stand-in's npm packages (libwebrtc) fetched on the host into a copy of its context (build
        // containers here cannot verify TLS to npm), as test/podman/pod.test.ts does for the samples.
        const context = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-turntest-standin-"));
        try {
            fs.cpSync(standinContext, context, { recursive: true });
            const vendored = await run("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", "", "--signaling", "", "--player", context]);
            expect(vendored.status, vendored.stderr).toBe(0);
            const built = await run("podman", ["build", "--format", "docker", "-f", unityStandinDockerfile, "-t", standinImage, context], {
                timeoutMs: 600_000,
            });
            expect(built.status, built.stderr).toBe(0);
        } finally {
            fs.rmSync(context, { recursive: true, force: true });
        }
        const json = playerIceJson(plan, secret, Math.floor(Date.now() / 1000));
        const player = JSON.parse(json).iceServers[0] as { urls: string[]; username: string; credential: string };
        expect(player.urls).toEqual(["turn:localhost:3478?transport=udp"]);
        await sh(secretCreateScript(plan.iceSecretName), json);
        const unity = devContainerSpecs(
            {
                podName,
                containerNamePrefix: `${podName}-`,
                publicHost: "127.0.0.1",
                gpuDeviceArgs: ["--device", "nvidia.com/gpu=all"],
                unityArgs: ["-logFile", "/dev/stdout"],
                rivaEnabled: false,
                unityPlayer: "standin",
                turn: plan,
            },
            { mas: "unused", signaling: "unused", turn: image, unity: standinImage },
        ).find((s) => s.service === "unity") as ContainerSpec;
        // The stand-in gets no GPU (this machine has none).
        expect(unity.runOptions).toEqual([]);
        await sh(render(containerRunArgv(unity)));
        let logs = "";
        for (let i = 0; i < 20 && !logs.includes("ICE servers:"); i++) {
            await new Promise((r) => setTimeout(r, 500));
            logs = await sh(render(["podman", "logs", unity.name]));
        }
        // The stand-in's own summary of what -importJson gave it (the credential only by its expiry).
        expect(logs).toMatch(/signaling ws:\/\/localhost:8080 \(websocket\), ICE servers: turn:localhost:3478\?transport=udp, credential expires \d{4}-/);
        expect(logs).not.toContain(player.credential);
        expect(await sh(render(["podman", "inspect", unity.name]))).not.toContain(player.credential);
        // What the player will present to the relay (long-lived, "<expiry>:unity") is accepted by coturn.
        const out = await uclient(["-y", "-u", player.username, "-w", player.credential]);
        expect(out).not.toContain("Cannot complete Allocation");
        expect(out).toMatch(/Total lost packets 0 \(0\.000000%\)/);
    }, 600_000);
});
