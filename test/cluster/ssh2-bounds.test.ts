// The ssh2 transport's bounds on a shared connection: a command past its own bound closes its own
// channel and leaves the login to the others (counted at the second-factor sshd), and a jump host
// that logs us in and then never answers the forward (its sshd session stopped with SIGSTOP) is
// inside the one dial bound.
import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import type { Client } from "ssh2";
import { AmbiguousRemoteError, closeAllConnections, connectionKey, runRemote, sshPool } from "../../providers/remote/remote";
import { SSH_PORT, requireClusterOrSkip, testConnection } from "../support/cluster";
import { countsSince, requireSecondFactorOrSkip, setMode, settle, tfaConnection, tfaCounts } from "../support/second-factor";

const ready = requireClusterOrSkip() && requireSecondFactorOrSkip();

/** The sshd processes (monitor and session) serving the TCP connection whose local end is localPort. */
function sshdServing(localPort: number): number[] {
    const ss = spawnSync("ss", ["-Htnp", "state", "established", `( sport = :${SSH_PORT} and dport = :${localPort} )`], { encoding: "utf8" });
    return [...ss.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

/** Settles with "pending" if p has not settled within seconds (a bound on the test, not a speed check). */
async function within<T>(seconds: number, p: Promise<T>): Promise<{ value?: T; error?: Error; pending?: true }> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<{ pending: true }>((r) => (timer = setTimeout(() => r({ pending: true }), seconds * 1000)));
    try {
        return await Promise.race([
            p.then(
                (value) => ({ value }),
                (error: Error) => ({ error }),
            ),
            bound,
        ]);
    } finally {
        clearTimeout(timer);
    }
}

describe.skipIf(!ready)("ssh2 transport: bounds on a shared connection", () => {
    afterEach(() => closeAllConnections());

    it("a command past its bound closes its own channel: the other commands on the connection finish, and the next one needs no new login", async () => {
        setMode("duo", "1");
        const conn = tfaConnection("ssh2", { keyboardInteractiveAnswers: ["1"] });
        const before = tfaCounts();
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        const other = runRemote(conn, ["sh", "-c", "sleep 8; echo other-done"], { timeoutSeconds: 60 });
        await expect(runRemote(conn, ["sleep", "30"], { timeoutSeconds: 2 })).rejects.toBeInstanceOf(AmbiguousRemoteError);
        expect((await other).stdout.trim()).toBe("other-done");
        expect((await runRemote(conn, ["echo", "next"])).stdout.trim()).toBe("next");
        await settle();
        expect(countsSince(before)).toMatchObject({ attempts: 1, accepted: 1 });
    }, 60_000);

    it("a jump host that logged us in but never answers the forward fails the dial within dialTimeoutSeconds", async () => {
        const jump = testConnection({ transport: "ssh2" });
        const inner = testConnection({ transport: "ssh2", jump, dialTimeoutSeconds: 3, dialAttempts: 1 });
        expect((await runRemote(jump, ["true"])).code).toBe(0);
        const client = sshPool().entries.get(connectionKey(jump))?.client as (Client & { _sock?: { localPort?: number } }) | undefined;
        const localPort = client?._sock?.localPort;
        expect(localPort).toBeGreaterThan(0);
        const pids = sshdServing(localPort!);
        expect(pids.length).toBeGreaterThan(0);
        // The jump host hangs (its sshd session stops answering) after our login.
        for (const pid of pids) {
            process.kill(pid, "SIGSTOP");
        }
        try {
            const outcome = await within(30, runRemote(inner, ["true"]));
            expect(outcome.pending).toBeUndefined();
            expect(outcome.error?.message).toMatch(/did not complete \(TCP, key exchange and authentication\) within 3 s/);
        } finally {
            for (const pid of pids) {
                process.kill(pid, "SIGCONT");
            }
        }
    }, 60_000);
});
