// The public URL as a browser meets it: through UF's reverse proxy, from the machine that runs `up`
// (or `npm run status`). Two probes: GET <url>health (the signaling server's /health: the proxy carries
// the signaling port only, MAS stays on the instance's loopback) and a WebSocket upgrade of <url>
// (the signaling path), which must answer 101. Plain node:http(s), no ws package: this runs in the program.
import * as crypto from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";

/** One probe's outcome: an HTTP status, or why there was none (refused, timeout, TLS, DNS). */
export interface ProbeResult {
    code?: number;
    error?: string;
}

export interface PublicProbe {
    url: string;
    health: ProbeResult;
    upgrade: ProbeResult;
}

/** The URL with a path appended to its own (a proxy may serve the app under a prefix). */
export function joinUrl(base: string, rel: string): URL {
    const url = new URL(base);
    url.pathname = `${url.pathname.replace(/\/?$/, "/")}${rel}`;
    return url;
}

function requestOnce(url: URL, timeoutMs: number, upgrade: boolean): Promise<ProbeResult> {
    return new Promise((resolve) => {
        const lib = url.protocol === "https:" ? https : http;
        const headers: Record<string, string> = upgrade
            ? {
                  Connection: "Upgrade",
                  Upgrade: "websocket",
                  "Sec-WebSocket-Version": "13",
                  "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
              }
            : {};
        let settled = false;
        const done = (r: ProbeResult) => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                req.destroy();
                resolve(r);
            }
        };
        const req = lib.request(url, { method: "GET", headers, agent: false });
        const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
        req.on("upgrade", (res, socket) => {
            socket.destroy();
            done({ code: res.statusCode ?? 0 });
        });
        req.on("response", (res) => {
            res.resume();
            done({ code: res.statusCode ?? 0 });
        });
        req.on("error", (err: NodeJS.ErrnoException) => done({ error: err.code !== undefined ? `${err.code} (${err.message})` : err.message }));
        req.end();
    });
}

/** Both probes, once; every wait bounded by timeoutMs. */
export async function probePublicUrl(url: string, timeoutMs = 10_000): Promise<PublicProbe> {
    const [health, upgrade] = await Promise.all([requestOnce(joinUrl(url, "health"), timeoutMs, false), requestOnce(new URL(url), timeoutMs, true)]);
    return { url, health, upgrade };
}

export function probePassed(p: PublicProbe): boolean {
    return p.health.code !== undefined && p.health.code >= 200 && p.health.code < 300 && p.upgrade.code === 101;
}

function shown(r: ProbeResult): string {
    return r.code !== undefined ? `HTTP ${r.code}` : `no HTTP answer: ${r.error ?? "unknown"}`;
}

/** What a failed probe most likely means, in UF's terms. */
export function probeHint(p: PublicProbe): string {
    const codes = [p.health.code, p.upgrade.code];
    if (codes.some((c) => c === 502 || c === 503 || c === 504)) {
        return "the reverse proxy answers but cannot reach the app: it is not yet pointed at the instance's pubappsProxyPort (ask UF RC), or the signaling unit is down (`npm run status -- --stack pubapps`)";
    }
    if (p.health.code !== undefined && p.health.code >= 200 && p.health.code < 300 && p.upgrade.code !== 101) {
        return "plain HTTP reaches the app but the WebSocket upgrade does not: ask UF RC to allow WebSocket upgrade (Connection: Upgrade) on the proxy";
    }
    if (codes.some((c) => c === 401 || c === 403 || c === 302)) {
        return "the proxy asks for a login (single sign-on or basic auth): the check cannot pass it; ask UF RC to exempt /health and the signaling path, or turn the check off";
    }
    if (p.health.code === undefined && p.upgrade.code === undefined) {
        return "nothing answers at that address: check pubappsPublicHost (or pubappsPublicUrl), DNS, and that UF RC has set up the proxy";
    }
    return "the answers are not the signaling server's";
}

/** One line per probe: what a status report and an error show. */
export function describeProbe(p: PublicProbe): string {
    return `GET ${joinUrl(p.url, "health").toString()} -> ${shown(p.health)}; WebSocket upgrade of ${p.url} -> ${shown(p.upgrade)}${p.upgrade.code === 101 ? " (101 Switching Protocols)" : ""}`;
}

export interface PublicCheckOptions {
    /** Overall bound on the retries, in seconds. */
    seconds: number;
    /** Pause between attempts, in seconds. */
    pollSeconds?: number;
    /** Bound on one request, in milliseconds (never more than what is left of `seconds`). */
    requestTimeoutMs?: number;
    /** The config key the check belongs to, for the error ("project:key"). */
    key: string;
}

/**
 * Probes until both pass or `seconds` run out; resolves with the passing probe's line, or rejects
 * with an error naming the key, the URL, what the proxy answered last and the likely fix.
 */
export async function checkPublicUrl(url: string, opts: PublicCheckOptions): Promise<string> {
    const deadline = Date.now() + opts.seconds * 1000;
    const pollMs = (opts.pollSeconds ?? 5) * 1000;
    let attempts = 0;
    for (;;) {
        attempts++;
        const left = Math.max(1000, deadline - Date.now());
        const probe = await probePublicUrl(url, Math.min(opts.requestTimeoutMs ?? 10_000, left));
        if (probePassed(probe)) {
            return `ready through the public URL after ${attempts} attempt(s): ${describeProbe(probe)}`;
        }
        if (Date.now() + pollMs >= deadline) {
            throw new Error(
                `${opts.key} = ${opts.seconds}: the public URL ${url} did not pass within ${opts.seconds} s (${attempts} attempt(s)); last: ${describeProbe(probe)}. ` +
                    `Likely: ${probeHint(probe)}. Fix: once UF RC confirms the proxy, run up again; or \`pulumi config set ${opts.key.split(":").pop()} 0\` to skip the check`,
            );
        }
        await new Promise((r) => setTimeout(r, pollMs));
    }
}
