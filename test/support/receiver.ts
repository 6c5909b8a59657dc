// Headless Chromium (Debian's `chromium`, driven by puppeteer-core: no browser download) opening a
// deployment's receiver page, as a person checking the avatar would. Shared by the stream tests and
// `npm run bench:stream`.
import * as fs from "node:fs";
import puppeteer, { type Browser, type HTTPRequest, type Page } from "puppeteer-core";

export const CHROMIUM = process.env.SPARC_CHROMIUM ?? "/usr/bin/chromium";

/** What the receiver page reports (samples/signaling/public/receiver.js, window.sparcReceiver.stats()). */
export interface ReceiverStats {
    signaling: string;
    connectionState: string;
    iceConnectionState: string;
    framesDecoded: number;
    frameWidth: number;
    frameHeight: number;
    candidateTypes: string[];
    selectedLocalType: string | null;
    selectedRemoteType: string | null;
    error: string | null;
}

export interface WatchResult {
    stats: ReceiverStats;
    /** ms from navigation start to the first decoded frame (undefined: none within the bound). */
    firstFrameMs?: number;
    /** Whether two snapshots of the picture, taken apart, differed. */
    pictureChanged: boolean;
    /** The page's console lines (errors included). */
    console: string[];
}

export function chromiumAvailable(): boolean {
    return fs.existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
    return puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        // --no-sandbox: the tests run as root. No GPU here.
        args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
    });
}

/**
 * Opens `url` and watches the stream until `frames` frames are decoded or `boundMs` passes
 * (whichever first), then takes a second snapshot to see the picture move.
 * `rewriteConfig` changes the page's GET /config answer (wrong or expired TURN credentials).
 */
export async function watchReceiver(
    browser: Browser,
    url: string,
    options: { frames: number; boundMs: number; rewriteConfig?: (config: Record<string, unknown>) => Record<string, unknown> },
): Promise<WatchResult> {
    const page: Page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${(e as Error).message}`));
    if (options.rewriteConfig !== undefined) {
        const rewrite = options.rewriteConfig;
        await page.setRequestInterception(true);
        page.on("request", (request: HTTPRequest) => {
            if (new URL(request.url()).pathname !== "/config") {
                void request.continue();
                return;
            }
            // Fetch the real answer, then hand the page the rewritten one.
            void fetch(request.url(), { signal: AbortSignal.timeout(10_000) })
                .then((r) => r.json() as Promise<Record<string, unknown>>)
                .then((config) => request.respond({ status: 200, contentType: "application/json", body: JSON.stringify(rewrite(config)) }))
                .catch(() => request.abort());
        });
    }
    try {
        const started = Date.now();
        await page.goto(url, { waitUntil: "domcontentloaded", timeout: 30_000 });
        const stats = () =>
            page.evaluate(() => (globalThis as unknown as { sparcReceiver: { stats(): Promise<unknown> } }).sparcReceiver.stats()) as Promise<ReceiverStats>;
        const snapshot = () => page.evaluate(() => (globalThis as unknown as { sparcReceiver: { snapshot(): number[] } }).sparcReceiver.snapshot());
        let firstFrameMs: number | undefined;
        let last = await waitForApi(page, stats, started + options.boundMs);
        while (Date.now() - started < options.boundMs) {
            last = await stats();
            if (firstFrameMs === undefined && last.framesDecoded > 0) {
                firstFrameMs = Date.now() - started;
            }
            if (last.framesDecoded >= options.frames) {
                break;
            }
            await new Promise((r) => setTimeout(r, 100));
        }
        let pictureChanged = false;
        if (last.framesDecoded > 0) {
            const before = await snapshot();
            await new Promise((r) => setTimeout(r, 500));
            pictureChanged = JSON.stringify(before) !== JSON.stringify(await snapshot());
        }
        return { stats: last, firstFrameMs, pictureChanged, console: consoleLines };
    } finally {
        await page.close().catch(() => undefined);
    }
}

/** The page script defines window.sparcReceiver once loaded: wait for it within the bound. */
async function waitForApi(page: Page, stats: () => Promise<ReceiverStats>, deadline: number): Promise<ReceiverStats> {
    for (;;) {
        try {
            return await stats();
        } catch (err) {
            if (Date.now() > deadline) {
                throw new Error(`the receiver page at ${page.url()} never defined window.sparcReceiver: ${(err as Error).message}`);
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}
