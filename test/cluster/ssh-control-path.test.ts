// The openssh transport's ControlMaster against the project's second-factor sshd (logins counted in
// its log): what a machine leaves behind (a master killed with SIGKILL and its socket, another Unix
// user's run directory), a ControlPath too long to listen on, two connections or two processes on one
// ControlPath, a master that goes away mid-run; and the rule for a command's bound (both transports).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AmbiguousRemoteError, closeAllConnections, runRemote, sshPool } from "../../providers/remote/remote";
import { RUN_DIR_PREFIX } from "../../providers/remote/opensshTransport";
import { LEGACY_RUN_DIR_PREFIX } from "../../providers/legacy";
import { TEST_USER, USER_KEY_PATH, requireClusterOrSkip, testConnection, waitUntil } from "../support/cluster";
import { countsSince, requireSecondFactorOrSkip, setMode, settle, tfaConnection, tfaCounts } from "../support/second-factor";

const ready = requireClusterOrSkip() && requireSecondFactorOrSkip();
const repo = path.resolve(__dirname, "../..");
/** The other user of a shared machine, who leaves a run directory behind. */
const OTHER_USER = "sparc-t18-other";
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-t18-"));

/** `ssh` options that reach the second-factor sshd through controlPath, as a user types them. */
function byHand(controlPath: string): string[] {
    return ["-i", USER_KEY_PATH, "-p", "2224", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", `ControlPath=${controlPath}`];
}

/** An askpass that answers the Duo stand-in's prompt with "1" (a user approving once). */
function askpassEnv(): NodeJS.ProcessEnv {
    const askpass = path.join(scratch, "askpass");
    fs.writeFileSync(askpass, "#!/bin/sh\necho 1\n", { mode: 0o700 });
    return { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" };
}

function masterAnswers(controlPath: string): boolean {
    return spawnSync("ssh", ["-O", "check", ...byHand(controlPath), `${TEST_USER}@127.0.0.1`], { stdio: "ignore", timeout: 15_000 }).status === 0;
}

/** The user's own master, opened by hand: `ssh -fNM`, approving Duo once. */
function userMaster(controlPath: string): void {
    const r = spawnSync("ssh", ["-fNM", ...byHand(controlPath), `${TEST_USER}@127.0.0.1`], { env: askpassEnv(), timeout: 30_000, stdio: "ignore" });
    expect(r.status).toBe(0);
}

/** A node process (the provider of another run) running one command and then staying alive. */
function providerProcess(conn: object, user?: string): { child: import("node:child_process").ChildProcess; output: () => string } {
    const script = `
        const { runRemote } = require(${JSON.stringify(path.join(repo, "providers/remote/remote"))});
        runRemote(${JSON.stringify(conn)}, ["true"]).then(
            (r) => { console.log("ran " + r.code); setInterval(() => undefined, 1000); },
            (e) => { console.log("failed " + e.message); process.exit(1); });`;
    const argv = ["-r", "ts-node/register/transpile-only", "-e", script];
    const child =
        user === undefined
            ? spawn(process.execPath, argv, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
            : // Debian's node: the other user cannot read root's Node 24 under /root.
              spawn("runuser", ["-u", user, "--", "env", `HOME=/home/${user}`, "/usr/bin/node", ...argv], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    return { child, output: () => out };
}

describe.skipIf(!ready)("the openssh transport's ControlMaster", () => {
    beforeAll(() => setMode("duo", "1"));
    afterEach(() => closeAllConnections());
    afterAll(() => {
        setMode("totp");
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("a stale socket at controlPath (a master killed with SIGKILL) costs one login, and the run succeeds", async () => {
        setMode("duo", "1");
        const controlPath = path.join(scratch, "stale-%C");
        const master = spawn("ssh", ["-M", "-N", ...byHand(controlPath), `${TEST_USER}@127.0.0.1`], { env: askpassEnv(), stdio: "ignore" });
        await waitUntil("the hand-made master to listen", 30, () => masterAnswers(controlPath) || undefined);
        master.kill("SIGKILL");
        await new Promise((r) => master.once("close", r));
        const left = fs.readdirSync(scratch).filter((n) => n.startsWith("stale-"));
        expect(left).toHaveLength(1);
        expect(fs.statSync(path.join(scratch, left[0])).isSocket()).toBe(true);
        expect(masterAnswers(controlPath)).toBe(false);

        const before = tfaCounts();
        const conn = tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"], dialTimeoutSeconds: 5, dialAttempts: 1 });
        const r = await runRemote(conn, ["echo", "after-crash"]);
        expect(r.stdout.trim()).toBe("after-crash");
        await settle();
        expect(countsSince(before)).toMatchObject({ attempts: 1, accepted: 1, failed: 0 });
    }, 120_000);

    it("a ControlPath too long to listen on (the user's home is deep) costs one login, and the run succeeds", async () => {
        setMode("duo", "1");
        const deep = path.join(scratch, "d".repeat(100));
        fs.mkdirSync(deep);
        const controlPath = path.join(deep, "cm-%C");
        const before = tfaCounts();
        const conn = tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"], dialTimeoutSeconds: 5, dialAttempts: 1 });
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        await settle();
        expect(countsSince(before)).toMatchObject({ attempts: 1, accepted: 1 });
    }, 120_000);

    // 0.1.0's name (legacy.ts) and today's.
    it.each([LEGACY_RUN_DIR_PREFIX, RUN_DIR_PREFIX])(
        "another Unix user's leftover %s* directory (with a socket) neither fails the run nor is touched",
        async (prefix) => {
            setMode("duo", "1");
            if (spawnSync("id", ["-u", OTHER_USER], { stdio: "ignore" }).status !== 0) {
                expect(spawnSync("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER]).status).toBe(0);
            }
            // A pid that is gone: the other user's provider died (crash, power loss) and left its directory.
            const deadPid = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
            const leave = `d=$(mktemp -d /tmp/${prefix}${deadPid}-XXXXXX) && echo "$d" &&
            exec /usr/bin/node -e 'require("net").createServer().listen(process.argv[1], () => process.kill(process.pid, "SIGKILL"))' "$d/cm"`;
            const left = spawnSync("runuser", ["-u", OTHER_USER, "--", "sh", "-c", leave], { encoding: "utf8", timeout: 20_000 });
            const theirs = left.stdout.trim();
            expect(theirs.startsWith(`/tmp/${prefix}`)).toBe(true);
            expect(fs.statSync(path.join(theirs, "cm")).isSocket()).toBe(true);

            // This run is another user (hpcuser, not root: root may remove anything) with its own copy of the key.
            const key = path.join(fs.mkdtempSync("/tmp/sparc-t18-key-"), "id");
            fs.copyFileSync(USER_KEY_PATH, key);
            spawnSync("chown", ["-R", TEST_USER, path.dirname(key)]);
            const before = tfaCounts();
            const conn = tfaConnection("openssh", {
                identityFile: key,
                controlPath: `/tmp/sparc-t18-run-${process.pid}-%C`,
                keyboardInteractiveAnswers: ["1"],
            });
            const run = providerProcess(conn, TEST_USER);
            try {
                await waitUntil("the other user's run to log in", 60, () => (/^(ran|failed) /m.test(run.output()) ? true : undefined));
                expect(run.output()).toMatch(/^ran 0$/m);
                await settle();
                expect(countsSince(before).attempts).toBe(1);
                expect(fs.existsSync(path.join(theirs, "cm"))).toBe(true);
            } finally {
                // runuser's child is the run's node process: killing runuser alone left it (and its master) alive.
                spawnSync("pkill", ["-KILL", "-P", String(run.child.pid)]);
                run.child.kill("SIGKILL");
                spawnSync("rm", ["-rf", theirs, path.dirname(key)]);
            }
        },
        120_000,
    );

    it("a connection with another pinned host key on the same ControlPath is checked by its own login, never served by the first master", async () => {
        setMode("duo", "1");
        const controlPath = path.join(scratch, "pin-%C");
        const right = tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"] });
        // A well-formed ed25519 key that is not the server's.
        const wrong = { ...right, hostKey: fs.readFileSync(`${USER_KEY_PATH}.pub`, "utf8").trim() };
        expect((await runRemote(right, ["true"])).code).toBe(0);
        await expect(runRemote(wrong, ["true"])).rejects.toThrow(/host key does not match connection.hostKey/);
    }, 120_000);

    it("two runs at once on one account and ControlPath each have their own master: one ending does not cut the other", async () => {
        setMode("duo", "1");
        const controlPath = path.join(scratch, "two-%C");
        const conn = tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"] });
        const other = providerProcess(conn);
        await waitUntil("the other run's first command", 60, () => (/^(ran|failed) /m.test(other.output()) ? true : undefined));
        expect(other.output()).toMatch(/^ran 0$/m);
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        // The engine ends the other run: its provider process is killed, and its reaper stops its master.
        other.child.kill("SIGKILL");
        await new Promise((r) => other.child.once("close", r));
        await waitUntil("the other run's files to be gone", 15, () =>
            fs.readdirSync(os.tmpdir()).some((n) => n.startsWith(`${RUN_DIR_PREFIX}${other.child.pid}-`)) || masterAnswers(controlPath) ? undefined : true,
        );
        const before = tfaCounts();
        expect((await runRemote(conn, ["echo", "still-here"])).stdout.trim()).toBe("still-here");
        await settle();
        expect(countsSince(before).attempts).toBe(0);
    }, 120_000);

    it("the user's master closed mid-run: the next command logs in once and runs (nothing had been sent)", async () => {
        setMode("duo", "1");
        const controlPath = path.join(scratch, "user-%C");
        userMaster(controlPath);
        const conn = tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"] });
        const before = tfaCounts();
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        await settle();
        expect(countsSince(before).attempts).toBe(0);
        // The user closes their master while the run goes on.
        expect(spawnSync("ssh", ["-O", "exit", ...byHand(controlPath), `${TEST_USER}@127.0.0.1`], { stdio: "ignore" }).status).toBe(0);
        const r = await runRemote(conn, ["echo", "after-exit"]);
        expect(r.stdout.trim()).toBe("after-exit");
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        await settle();
        expect(countsSince(before).attempts).toBe(1);
    }, 120_000);

    it("a command handed to a live master that then dies may have run; the next one logs in once and runs", async () => {
        setMode("duo", "1");
        const conn = tfaConnection("openssh", { controlPath: path.join(scratch, "dies-%C"), keyboardInteractiveAnswers: ["1"] });
        const before = tfaCounts();
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        const master = [...sshPool().masters.values()].find((m) => m.ours && m.target.controlPath.startsWith(os.tmpdir()));
        expect(master?.child?.pid).toBeGreaterThan(0);
        const tag = `sparc-t18-inflight-${process.pid}`;
        const inFlight = runRemote(conn, ["sh", "-c", "sleep 20", tag]);
        await waitUntil("the command to run on the host", 20, () => (spawnSync("pgrep", ["-u", TEST_USER, "-f", tag]).status === 0 ? true : undefined));
        process.kill(master!.child!.pid!, "SIGKILL");
        await expect(inFlight).rejects.toBeInstanceOf(AmbiguousRemoteError);
        expect((await runRemote(conn, ["echo", "next"])).stdout.trim()).toBe("next");
        await settle();
        expect(countsSince(before).attempts).toBe(2);
        // The remote sleep, by its pid (if the lost session left it behind).
        for (const pid of spawnSync("pgrep", ["-u", TEST_USER, "-f", tag], { encoding: "utf8" })
            .stdout.split("\n")
            .filter((p) => p !== "")) {
            spawnSync("kill", [pid]);
        }
    }, 120_000);
});

describe.skipIf(!requireClusterOrSkip())("a command's bound", () => {
    afterEach(() => closeAllConnections());

    it.each(["ssh2", "openssh"] as const)(
        "%s: a bound set for the command wins over connection.commandTimeoutSeconds",
        async (transport) => {
            const conn = testConnection({
                transport,
                commandTimeoutSeconds: 5,
                ...(transport === "openssh" ? { identityFile: USER_KEY_PATH, controlPath: path.join(scratch, "bound-%C") } : {}),
            });
            const r = await runRemote(conn, ["sh", "-c", "sleep 8; echo done"], { timeoutSeconds: 60 });
            expect(r.stdout.trim()).toBe("done");
            // The connection-wide bound still replaces a caller's default.
            await expect(runRemote(conn, ["sleep", "8"], { defaultTimeoutSeconds: 60 })).rejects.toThrow(/did not finish within 5 s/);
        },
        60_000,
    );
});
