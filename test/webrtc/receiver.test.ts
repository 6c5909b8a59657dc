// The avatar stream reaching a real browser: headless Chromium opens the receiver page served by the signaling
// server (in-process), relay-only through a local coturn (TURN REST credentials from GET /config), and plays the
// test pattern of the Unity player stand-in (a child process, a real WebRTC peer). Also the failure a wrong TURN
// secret gives: no frames, the page's message, and the server's log line from POST /client-event.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "puppeteer-core";
import type { ReceiverStats } from "../support/receiver";

const root = path.resolve(__dirname, "../..");
const requireJs = createRequire(__filename);
const { createSignalingServer } = requireJs(path.join(root, "samples/signaling/server.js")) as {
    createSignalingServer: (opts: { mode: string; iceServerUrls?: string[]; turnSecret?: string; log?: (line: string) => void }) => Server;
};

// Ports that collide with nothing else on the test machines (not 3478, not 49152-49200).
const TURN_PORT = 13478;
const RELAY_MIN = 41000;
const RELAY_MAX = 41050;
const CHROMIUM = "/usr/bin/chromium";

/** Installs chromium and coturn from Debian when missing; the reason when that is impossible. */
function ensureTools(): string | undefined {
    const have = () => fs.existsSync(CHROMIUM) && spawnSync("sh", ["-c", "command -v turnserver"]).status === 0;
    if (have()) return undefined;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update", "-qq"], { env, encoding: "utf8", timeout: 300_000 });
    const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium", "coturn"], {
        env,
        encoding: "utf8",
        timeout: 900_000,
    });
    if (have()) return undefined;
    return `chromium/coturn not installable: apt-get update ${update.status}, install ${install.status}: ${(install.stderr ?? update.stderr ?? "").slice(-300)}`;
}
const skipReason = ensureTools();
if (skipReason) console.warn(`SKIP test/webrtc: ${skipReason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
        await sleep(200);
    }
}

const tcpOpen = (port: number) =>
    new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
            s.destroy();
            resolve(true);
        });
        s.on("error", () => resolve(false));
    });

/** Signaling in-process on an ephemeral port, with its log lines captured. */
async function startSignaling(turnSecret: string) {
    const lines: string[] = [];
    const server = createSignalingServer({
        mode: "public",
        iceServerUrls: [`turn:127.0.0.1:${TURN_PORT}?transport=udp`, `turn:127.0.0.1:${TURN_PORT}?transport=tcp`],
        turnSecret,
        log: (line) => lines.push(line),
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    return { server, port, lines };
}

// Set to an image built from dockerfiles/Dockerfile.unity-standin to run the player in a container (host network).
const PLAYER_IMAGE = process.env.SPARC_WEBRTC_PLAYER_IMAGE;

/** The player stand-in, pointed at that signaling server, with Unity-like flags. */
async function startPlayer(signalingPort: number) {
    const out: string[] = [];
    const args = ["-logFile", "/dev/stdout", "-signalingType", "websocket", "-signalingUrl", `ws://127.0.0.1:${signalingPort}`];
    const child = PLAYER_IMAGE
        ? // --sig-proxy (the default) passes stopChild's SIGTERM to the container; podman run exits with its code.
          spawn("podman", ["run", "--rm", "--network", "host", "--name", `sparc-webrtc-player-${signalingPort}`, PLAYER_IMAGE, ...args], {
              stdio: ["ignore", "pipe", "pipe"],
          })
        : spawn(process.execPath, [path.join(root, "samples/unity-player-standin/player.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => out.push(String(d)));
    child.stderr.on("data", (d) => out.push(String(d)));
    await waitFor("player connected to signaling", PLAYER_IMAGE ? 30_000 : 10_000, () => (out.join("").includes("connected to signaling") ? true : undefined));
    return { child, log: () => out.join("") };
}

/** SIGTERM, then SIGKILL after 3 s; resolves to the exit code (a signal name when killed by one). */
async function stopChild(child: ChildProcess | undefined): Promise<number | string | null> {
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await Promise.race([exited, sleep(3000)]);
    }
    return child.exitCode ?? child.signalCode;
}

type Stats = ReceiverStats;
const pageStats = (page: Page) => page.evaluate(() => (globalThis as unknown as { sparcReceiver: { stats(): Promise<Stats> } }).sparcReceiver.stats());
const pageSnapshot = (page: Page) => page.evaluate(() => (globalThis as unknown as { sparcReceiver: { snapshot(): number[] } }).sparcReceiver.snapshot());

describe.skipIf(skipReason !== undefined)("receiver page <- TURN relay <- Unity player stand-in", () => {
    const secret = crypto.randomBytes(18).toString("base64url");
    let dir: string;
    let turn: ChildProcess | undefined;
    let turnLog = "";
    let browser: Browser | undefined;
    const cleanups: (() => Promise<unknown> | unknown)[] = [];

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-webrtc-"));
        // The secret goes in a 0600 file, never on a command line.
        fs.writeFileSync(
            path.join(dir, "turnserver.conf"),
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                `listening-port=${TURN_PORT}`,
                `min-port=${RELAY_MIN}`,
                `max-port=${RELAY_MAX}`,
                "use-auth-secret",
                `static-auth-secret=${secret}`,
                "realm=sparc.test",
                "fingerprint",
                "no-cli",
                "no-tls",
                "no-dtls",
                "no-multicast-peers",
                // Everything is on 127.0.0.1 here; a pod on a real address does not need this.
                "allow-loopback-peers",
                "log-file=stdout",
                "simple-log",
                `pidfile=${path.join(dir, "turnserver.pid")}`,
                "",
            ].join("\n"),
            { mode: 0o600 },
        );
        expect(await tcpOpen(TURN_PORT), `port ${TURN_PORT} is already taken`).toBe(false);
        turn = spawn("turnserver", ["-c", path.join(dir, "turnserver.conf")], { stdio: ["ignore", "pipe", "pipe"] });
        turn.stdout!.on("data", (d) => (turnLog += String(d)));
        turn.stderr!.on("data", (d) => (turnLog += String(d)));
        await waitFor(`turnserver listening on ${TURN_PORT}`, 10_000, async () => ((await tcpOpen(TURN_PORT)) ? true : undefined));

        const puppeteer = await import("puppeteer-core");
        browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
    }, 60_000);

    afterAll(async () => {
        for (const c of cleanups.reverse()) await c();
        await browser?.close().catch(() => undefined);
        await stopChild(turn);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    async function scenario(signalingSecret: string) {
        const signaling = await startSignaling(signalingSecret);
        // Bounded: a WebSocket still open (a failed test) would keep close() waiting.
        cleanups.push(() => Promise.race([new Promise((r) => signaling.server.close(r)), sleep(2000)]));
        const player = await startPlayer(signaling.port);
        cleanups.push(() => stopChild(player.child));
        const open = async () => {
            const page = await browser!.newPage();
            const consoleErrors: string[] = [];
            page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
            cleanups.push(() => page.close().catch(() => undefined));
            await page.goto(`http://127.0.0.1:${signaling.port}/?relay=1`, { timeout: 10_000 });
            return { page, consoleErrors };
        };
        return { signaling, player, open };
    }

    it("plays the stand-in's moving test pattern in two browsers at once, relay only", async () => {
        const { signaling, player, open } = await scenario(secret);
        const started = Date.now();
        const [a, b] = await Promise.all([open(), open()]);
        // 60 frames are 2 s of a 30 fps stream; 25 s covers ICE, DTLS and a slow 2-core machine.
        const firstDecoded: (number | undefined)[] = [undefined, undefined];
        const stats = await Promise.all(
            [a, b].map(({ page }, i) =>
                waitFor("60 frames decoded", 25_000, async () => {
                    const s = await pageStats(page);
                    if (s.error) throw new Error(`page error: ${s.error}`);
                    if (s.framesDecoded > 0) firstDecoded[i] ??= Date.now() - started;
                    return s.framesDecoded >= 60 ? s : undefined;
                }),
            ),
        );
        const elapsed = Date.now() - started;
        for (const s of stats) {
            expect(s.framesDecoded).toBeGreaterThanOrEqual(60);
            expect([s.frameWidth, s.frameHeight]).toEqual([320, 240]);
            expect(s.selectedLocalType).toBe("relay");
            expect(s.candidateTypes).toEqual(["relay"]);
            expect(s.connectionState).toBe("connected");
            expect(s.error).toBeNull();
        }
        // firstFrameMs comes from the page's requestVideoFrameCallback, which fires in the front tab only.
        console.log(
            `TIMING webrtc: 2 pages, >= 60 frames each ${elapsed} ms after opening them; first decoded frame seen ${firstDecoded.join(" / ")} ms after opening (200 ms polls); first frame painted ${stats.map((s) => s.firstFrameMs ?? "-").join(" / ")} ms after the offer (front tab only); frames ${stats.map((s) => s.framesDecoded).join(" / ")}`,
        );
        // The picture moves: two snapshots 700 ms apart differ (in the front tab: Chromium pauses painting hidden ones).
        for (const { page } of [a, b]) {
            await page.bringToFront();
            const first = await waitFor("a painted frame", 5000, async () => {
                const px = await pageSnapshot(page);
                return px.some((v) => v > 0) ? px : undefined;
            });
            await sleep(700);
            expect(await pageSnapshot(page)).not.toEqual(first);
        }

        // What the player saw of each relay-only browser: its relay address, learned by signaling ("relay") or by
        // its first check arriving before the candidate ("prflx"): which comes first is timing. Never a host address.
        // The pair may also be unknown at the moment "connected" fires. The browser side asserts the relay pair above.
        const pairLine = /unity-player STAND-IN: peer \S+ connected(?: \((?:local \w+\/\w+, remote (?:relay|prflx)\/udp|pair unknown)\))?$/gm;
        await waitFor("the player's two 'peer connected' lines", 5000, () => (player.log().match(pairLine)?.length === 2 ? true : undefined));
        expect([...a.consoleErrors, ...b.consoleErrors]).toEqual([]);
        // No credential and no secret in any log.
        for (const text of [player.log(), signaling.lines.join("\n")]) expect(text).not.toContain(secret);

        // Closing a page tells the player (signaling "disconnect"), which closes that peer.
        await b.page.close();
        await waitFor("player closed the peer", 10_000, () => (/peer \S+ closed \(browser disconnected\)/.test(player.log()) ? true : undefined));

        // `podman rm -t N` sends SIGTERM: the player exits 0 at once, with a peer still streaming.
        const t0 = Date.now();
        expect(await stopChild(player.child)).toBe(0);
        expect(Date.now() - t0).toBeLessThan(2000);
    }, 90_000);

    it("with a wrong TURN secret: no frames, the page says why, and the server logs it", async () => {
        const { signaling, open } = await scenario(`${secret}-wrong`);
        const { page, consoleErrors } = await open();
        const s = await waitFor("the page reports an error", 15_000, async () => {
            const st = await pageStats(page);
            return st.error ? st : undefined;
        });
        expect(s.error).toMatch(/No TURN relay candidate/);
        expect(s.framesDecoded).toBe(0);
        expect(s.candidateTypes).not.toContain("relay");
        expect(await page.$eval("#status", (el) => el.textContent)).toMatch(/No TURN relay candidate/);
        expect(consoleErrors.join("\n")).toMatch(/No TURN relay candidate/);
        const line = await waitFor("the server's client-event line", 5000, () => signaling.lines.find((l) => l.includes("client-event")));
        expect(line).toMatch(/^signaling: client-event [0-9a-f-]{36} no-relay-candidate: No TURN relay candidate/);
        await sleep(1000);
        expect((await pageStats(page)).framesDecoded).toBe(0);
    }, 60_000);
});
