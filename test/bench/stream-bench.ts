// npm run bench:stream [-- --url http://localhost:8080/ --runs 3 --seconds 10]
// Against a deployed stack (e.g. `bash scripts/up-dev.sh`), headless Chromium opens the receiver page
// relay-only (so every byte goes through the TURN relay) and measures, per run: the time from page
// load to the first decoded frame, decoded frames per second over a window, and the media rate the
// relay carried to the browser in that window (inbound RTP bytes). Prints each run and min/median/max.
import { launchChromium, type ReceiverStats } from "../support/receiver";

function option(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const url = new URL(option("url", "http://localhost:8080/"));
url.searchParams.set("relay", "1");
const runs = Number(option("runs", "3"));
const windowSeconds = Number(option("seconds", "10"));

type Stats = ReceiverStats & { bytesReceived?: number; firstFrameMs?: number | null };

function summary(label: string, values: number[], unit: string, digits = 0): string {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(digits);
    return `${label}: min ${at(0)} / median ${at(0.5)} / max ${at(0.999)} ${unit}`;
}

async function main(): Promise<void> {
    const browser = await launchChromium();
    const first: number[] = [];
    const fps: number[] = [];
    const kbps: number[] = [];
    try {
        for (let run = 1; run <= runs; run++) {
            const page = await browser.newPage();
            const started = Date.now();
            await page.goto(url.toString(), { waitUntil: "domcontentloaded", timeout: 30_000 });
            const stats = async (): Promise<Stats | undefined> =>
                page.evaluate(() => (globalThis as unknown as { sparcReceiver?: { stats(): Promise<unknown> } }).sparcReceiver?.stats()) as Promise<
                    Stats | undefined
                >;
            let now: Stats | undefined;
            let firstMs: number | undefined;
            while (Date.now() - started < 60_000) {
                now = await stats();
                if (now !== undefined && now.framesDecoded > 0) {
                    // The page's own measure (requestVideoFrameCallback from navigation start) when it has one.
                    firstMs = typeof now.firstFrameMs === "number" ? now.firstFrameMs : Date.now() - started;
                    break;
                }
                await new Promise((r) => setTimeout(r, 20));
            }
            if (now === undefined || firstMs === undefined) {
                throw new Error(`run ${run}: no frame within 60 s at ${url.toString()} (${JSON.stringify(now)})`);
            }
            const a = (await stats()) as Stats;
            const t0 = Date.now();
            await new Promise((r) => setTimeout(r, windowSeconds * 1000));
            const b = (await stats()) as Stats;
            const seconds = (Date.now() - t0) / 1000;
            const runFps = (b.framesDecoded - a.framesDecoded) / seconds;
            const runKbps = ((b.bytesReceived ?? 0) - (a.bytesReceived ?? 0)) / seconds / 125;
            first.push(firstMs);
            fps.push(runFps);
            kbps.push(runKbps);
            console.log(
                `run ${run}: first frame ${firstMs} ms after page load; ${runFps.toFixed(1)} fps decoded over ${seconds.toFixed(1)} s ` +
                    `(${b.frameWidth}x${b.frameHeight}); relay carried ${runKbps.toFixed(0)} kbit/s of media; pair ${b.selectedLocalType}->${b.selectedRemoteType}`,
            );
            await page.close();
        }
    } finally {
        await browser.close();
    }
    console.log(summary("first frame after page load", first, "ms"));
    console.log(summary("decoded frames per second", fps, "fps", 1));
    console.log(summary("relay throughput (media to the browser)", kbps, "kbit/s"));
}

main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
});
