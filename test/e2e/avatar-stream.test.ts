// The avatar stream reaches a real browser (issue 17): `pulumi up --stack dev` with the defaults (no GPU,
// no Unity build: the stand-in player, a real WebRTC peer, runs as unity-server) under the real engine on
// real Podman, then headless Chromium opens the deployed receiver page with iceTransportPolicy "relay", so
// only the path through the pod's TURN relay (coturn) counts: decoded frames and a picture that moves.
// Negative: wrong and expired TURN credentials give no media and a clear message in the page and the
// signaling log; an unauthenticated allocation is refused (coturn's turnutils_uclient).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as path from "node:path";
import type { Browser } from "puppeteer-core";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";
import { chromiumAvailable, launchChromium, watchReceiver } from "../support/receiver";

const root = path.resolve(__dirname, "../..");
const podmanUsable = spawnSync("podman", ["info"], { stdio: "ignore", timeout: 30_000 }).status === 0;
if (process.env.CI === "true" && (!podmanUsable || !chromiumAvailable())) {
    throw new Error("the stream test needs Podman (scripts/podman/setup.sh) and Debian's chromium (.ci/run installs both)");
}
const skip = shouldSkipEngineTests() || !podmanUsable || !chromiumAvailable();

const POD = "sparc-e2e-avatar";
const PREFIX = "e2es-";
const MAS_PORT = 18130;
const SIGNALING_PORT = 18131;
const TURN_PORT = 13490;
const RANGE = "49500-49520";
// Known to the test (set as a Pulumi secret) so it can make an expired but otherwise valid credential.
const TURN_SECRET = crypto.randomBytes(24).toString("base64url");
/** Frames the browser must decode (about 2 s of the stand-in's 30 fps), and the bound to see them in. */
const FRAMES = 60;
const BOUND_MS = 45_000;

function turnCredential(secret: string, username: string): string {
    return crypto.createHmac("sha1", secret).update(username).digest("base64");
}

function signalingLog(): string {
    const r = spawnSync("podman", ["logs", `${PREFIX}signaling-server`], { encoding: "utf8", timeout: 30_000 });
    return `${r.stdout}${r.stderr}`;
}

describe.skipIf(skip)("the avatar stream reaches headless Chromium through the pod's TURN relay (dev stack, real engine)", () => {
    let stack: TestStack;
    let browser: Browser;
    let receiverUrl = "";

    beforeAll(async () => {
        const samples = (dir: string) => path.join(root, "samples", dir);
        execFileSync(
            "bash",
            [
                path.join(root, "scripts/podman/vendor-deps.sh"),
                "--mas",
                samples("mas"),
                "--signaling",
                samples("signaling"),
                "--player",
                samples("unity-player-standin"),
            ],
            { stdio: "ignore" },
        );
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: "e2e-avatar" });
        const config: Record<string, string> = {
            podName: POD,
            containerNamePrefix: PREFIX,
            masPort: String(MAS_PORT),
            signalingPort: String(SIGNALING_PORT),
            turnPort: String(TURN_PORT),
            webrtcPortRange: RANGE,
            readinessTimeoutSeconds: "120",
            // Its own image names: destroy removes what the stack built, and must not take another stack's.
            masImage: "sparc-e2e-avatar/mas-server:latest",
            signalingImage: "sparc-e2e-avatar/signaling-server:latest",
            turnImage: "sparc-e2e-avatar/turn-server:latest",
            unityImage: "sparc-e2e-avatar/unity-standin:latest",
        };
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
        await stack.setConfig("turnSecret", TURN_SECRET, { secret: true });
        browser = await launchChromium();
    }, 600_000);

    afterAll(async () => {
        await browser?.close();
        if (stack !== undefined) {
            await stack.destroy().catch(() => undefined);
        }
        spawnSync("podman", ["pod", "rm", "-f", "-t", "0", POD], { stdio: "ignore" });
        await stack?.dispose();
    }, 300_000);

    it("up with the defaults runs MAS, TURN, signaling and the stand-in player, and exports the receiver URL", async () => {
        const started = Date.now();
        await stack.up();
        console.log(`pulumi up --stack dev (defaults, stand-in player) to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const out = await stack.outputs();
        receiverUrl = String(out.receiverUrl);
        expect(receiverUrl).toBe(`http://localhost:${SIGNALING_PORT}/`);
        const names = execFileSync("podman", ["ps", "--filter", `pod=${POD}`, "--format", "{{.Names}}"], { encoding: "utf8" }).split("\n");
        expect(names.filter((n) => n.startsWith(PREFIX)).sort()).toEqual(
            ["mas-server", "signaling-server", "turn-server", "unity-server"].map((n) => PREFIX + n).sort(),
        );
        // The state holds the TURN secret only encrypted.
        const { text } = await stack.exportState();
        expect(text).not.toContain(TURN_SECRET);
    }, 900_000);

    it("Chromium, relay only, decodes the stand-in's moving picture through the TURN relay", async () => {
        const seen = await watchReceiver(browser, `${receiverUrl}?relay=1`, { frames: FRAMES, boundMs: BOUND_MS });
        console.log(
            `receiver (relay only): ${seen.stats.framesDecoded} frames, first after ${seen.firstFrameMs} ms, ` +
                `${seen.stats.frameWidth}x${seen.stats.frameHeight}, pair ${seen.stats.selectedLocalType}->${seen.stats.selectedRemoteType}`,
        );
        expect(seen.stats.error, seen.console.join("\n")).toBeNull();
        expect(seen.stats.framesDecoded, seen.console.join("\n")).toBeGreaterThanOrEqual(FRAMES);
        expect(seen.stats.selectedLocalType).toBe("relay");
        expect(seen.stats.candidateTypes).toEqual(["relay"]);
        expect(seen.pictureChanged).toBe(true);
    }, 120_000);

    it("wrong TURN credentials: no media, and the page and the signaling log say why", async () => {
        const seen = await watchReceiver(browser, `${receiverUrl}?relay=1`, {
            frames: 1,
            boundMs: 15_000,
            rewriteConfig: (config) => ({
                ...config,
                iceServers: (config.iceServers as { urls: string[]; username: string }[]).map((s) => ({ ...s, credential: "not-the-credential" })),
            }),
        });
        expect(seen.stats.framesDecoded).toBe(0);
        expect(seen.stats.error).toMatch(/TURN/);
        expect(seen.console.join("\n")).toMatch(/TURN/);
        expect(signalingLog()).toMatch(/TURN/);
    }, 120_000);

    it("expired TURN credentials (right secret, expiry in the past): no media", async () => {
        const username = `${Math.floor(Date.now() / 1000) - 60}:receiver-expired`;
        const seen = await watchReceiver(browser, `${receiverUrl}?relay=1`, {
            frames: 1,
            boundMs: 15_000,
            rewriteConfig: (config) => ({
                ...config,
                iceServers: (config.iceServers as { urls: string[] }[]).map((s) => ({ ...s, username, credential: turnCredential(TURN_SECRET, username) })),
            }),
        });
        expect(seen.stats.framesDecoded).toBe(0);
        expect(seen.stats.error).toMatch(/TURN/);
    }, 120_000);

    it("the relay refuses an unauthenticated allocation, and allocates with a valid credential", () => {
        const anonymous = spawnSync("turnutils_uclient", ["-y", "-n", "1", "-m", "1", "-l", "100", "-p", String(TURN_PORT), "127.0.0.1"], {
            encoding: "utf8",
            timeout: 30_000,
        });
        expect(`${anonymous.stdout}${anonymous.stderr}`).toMatch(/Cannot complete Allocation|401|Unauthorized/i);
        const username = `${Math.floor(Date.now() / 1000) + 600}:e2e`;
        const valid = spawnSync(
            "turnutils_uclient",
            ["-y", "-n", "3", "-m", "1", "-l", "100", "-u", username, "-w", turnCredential(TURN_SECRET, username), "-p", String(TURN_PORT), "127.0.0.1"],
            { encoding: "utf8", timeout: 30_000 },
        );
        expect(`${valid.stdout}${valid.stderr}`).not.toMatch(/Cannot complete Allocation/);
    }, 120_000);

    it("destroy leaves no pod and no container", async () => {
        await stack.destroy();
        expect(spawnSync("podman", ["pod", "exists", POD]).status).toBe(1);
    }, 300_000);
});
