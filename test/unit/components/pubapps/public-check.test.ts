// The readiness check through the public URL (components/pubapps/publicCheck.ts) against real local
// servers on ephemeral ports: a signaling-like server (GET /health 200, WebSocket upgrade 101 by the
// ws package), a "proxy" that answers 502, a closed port, and a server without WebSocket upgrade.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { checkPublicUrl, probePublicUrl } from "../../../../components/pubapps/publicCheck";

const servers: http.Server[] = [];

afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: http.RequestListener, websocket: boolean): Promise<string> {
    const server = http.createServer(handler);
    if (websocket) {
        new WebSocketServer({ server });
    }
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const signaling: http.RequestListener = (req, res) => {
    res.writeHead(req.url === "/health" ? 200 : 404, { "content-type": "application/json" }).end('{"status":"ok"}');
};

/** A port nothing listens on: one that was just listened on and closed. */
async function closedPort(): Promise<string> {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return `http://127.0.0.1:${port}/`;
}

const KEY = "sparc-deploy:pubappsPublicCheckSeconds";

describe("the public URL's readiness check", () => {
    it("passes on /health 200 and a WebSocket 101", async () => {
        const url = await serve(signaling, true);
        expect(await probePublicUrl(url, 2000)).toEqual({ url, health: { code: 200 }, upgrade: { code: 101 } });
        await expect(checkPublicUrl(url, { seconds: 5, pollSeconds: 0.05, key: KEY })).resolves.toMatch(
            /^ready through the public URL after 1 attempt\(s\): GET http:\/\/127\.0\.0\.1:\d+\/health -> HTTP 200; WebSocket upgrade of .* -> HTTP 101 \(101 Switching Protocols\)$/,
        );
    });

    it("keeps an app under a path prefix (a proxy's sub-path)", async () => {
        const seen: string[] = [];
        const url = await serve((req, res) => {
            seen.push(req.url ?? "");
            res.writeHead(200).end();
        }, false);
        await probePublicUrl(`${url}sparc/`, 2000);
        expect(seen.sort()).toEqual(["/sparc/", "/sparc/health"]);
    });

    it("retries while the proxy answers 502, then passes once the app is behind it (bounded)", async () => {
        let answered = 0;
        const url = await serve((req, res) => {
            // The first three requests (health and upgrade of attempts 1 and 2, partly) get the proxy's 502.
            if (answered++ < 3) {
                res.writeHead(502).end("Bad Gateway");
                return;
            }
            signaling(req, res);
        }, false);
        // After 502s the same server upgrades: attach ws now (the proxy "pointed" at the app).
        const server = servers[servers.length - 1] as http.Server;
        const wss = new WebSocketServer({ noServer: true });
        server.on("upgrade", (req, socket, head) => {
            if (answered++ < 3) {
                socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
                return;
            }
            wss.handleUpgrade(req, socket, head, (ws) => ws.close());
        });
        await expect(checkPublicUrl(url, { seconds: 10, pollSeconds: 0.05, key: KEY })).resolves.toMatch(
            /^ready through the public URL after [2-9] attempt\(s\)/,
        );
    });

    it("fails with the key, what the proxy answered (502) and the likely fix", async () => {
        const url = await serve((_req, res) => res.writeHead(502).end("Bad Gateway"), false);
        const error = await checkPublicUrl(url, { seconds: 0.5, pollSeconds: 0.1, key: KEY }).then(
            () => undefined,
            (e: Error) => e.message,
        );
        expect(error).toMatch(
            /^sparc-deploy:pubappsPublicCheckSeconds = 0\.5: the public URL http:\/\/127\.0\.0\.1:\d+\/ did not pass within 0\.5 s \(\d+ attempt\(s\)\)/,
        );
        expect(error).toContain("-> HTTP 502; WebSocket upgrade of");
        expect(error).toContain("not yet pointed at the instance's pubappsProxyPort (ask UF RC)");
        expect(error).toContain("`pulumi config set pubappsPublicCheckSeconds 0` to skip the check");
    });

    it("fails on a refused connection, naming it", async () => {
        const url = await closedPort();
        const error = await checkPublicUrl(url, { seconds: 0.3, pollSeconds: 0.1, key: KEY }).then(
            () => undefined,
            (e: Error) => e.message,
        );
        expect(error).toMatch(/-> no HTTP answer: ECONNREFUSED/);
        expect(error).toContain("nothing answers at that address: check pubappsPublicHost (or pubappsPublicUrl)");
    });

    it("tells a proxy without WebSocket upgrade from one that is not pointed", async () => {
        const url = await serve(signaling, false);
        const probe = await probePublicUrl(url, 2000);
        expect(probe.health.code).toBe(200);
        expect(probe.upgrade.code).not.toBe(101);
        const error = await checkPublicUrl(url, { seconds: 0.2, pollSeconds: 0.1, key: KEY }).then(
            () => "",
            (e: Error) => e.message,
        );
        expect(error).toContain("ask UF RC to allow WebSocket upgrade");
    });
});
