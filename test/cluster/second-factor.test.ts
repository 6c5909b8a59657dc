// Both transports against the project's second-factor sshd (key, then PAM keyboard-interactive,
// as HiPerGator asks): one login per process however long it idles, answers only to the
// second factor, a wrong answer tried once, pinned host keys of every type, an existing
// ControlMaster reused, a host reached through a jump host on the jump host's one login.
// Logins and prompts are counted in the sshd's own logs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { closeAllConnections, runRemote, sshPool } from "../../providers/remote/remote";
import { RUN_DIR_PREFIX } from "../../providers/remote/opensshTransport";
import { LEGACY_RUN_DIR_PREFIX } from "../../providers/legacy";
import { HOST_KEY_PATH, SSH_PORT, TEST_USER, USER_KEY_PATH, requireClusterOrSkip } from "../support/cluster";
import { countsSince, freshCode, requireSecondFactorOrSkip, setMode, settle, tfaConnection, tfaCounts, tfaHostKey } from "../support/second-factor";

const ready = requireClusterOrSkip() && requireSecondFactorOrSkip();
const transports = ["ssh2", "openssh"] as const;

describe.skipIf(!ready)("second factor at the login node", () => {
    beforeAll(() => setMode("totp"));
    afterEach(() => closeAllConnections());
    afterAll(() => setMode("totp"));

    describe.each(transports)("%s transport", (transport) => {
        it("logs in once for many commands, also after idling longer than the old 30 s idle close and a keepalive period", async () => {
            setMode("totp");
            const conn = tfaConnection(transport, { keyboardInteractiveAnswers: [freshCode()] });
            const before = tfaCounts();
            const handshakes = sshPool().stats.handshakes;
            await Promise.all(Array.from({ length: 8 }, () => runRemote(conn, ["true"])));
            await new Promise((r) => setTimeout(r, 35_000));
            const r = await runRemote(conn, ["hostname"]);
            expect(r.code).toBe(0);
            await settle();
            const d = countsSince(before);
            expect({ attempts: d.attempts, accepted: d.accepted, failed: d.failed }).toEqual({ attempts: 1, accepted: 1, failed: 0 });
            expect(sshPool().stats.handshakes - handshakes).toBe(1);
        }, 90_000);

        it('answers Duo\'s prompt ("Passcode or option (1-3):") with a static answer', async () => {
            setMode("duo", "1");
            const before = tfaCounts();
            expect((await runRemote(tfaConnection(transport, { keyboardInteractiveAnswers: ["1"] }), ["true"])).code).toBe(0);
            await settle();
            const d = countsSince(before);
            expect(d.accepted).toBe(1);
            expect(d.prompts).toEqual([
                expect.stringMatching(/mode=duo prompt user=hpcuser asked$/),
                expect.stringMatching(/mode=duo prompt user=hpcuser result=accepted$/),
            ]);
        });

        it("a wrong answer fails once, clearly, with no retry storm", async () => {
            setMode("duo", "1");
            const before = tfaCounts();
            const conn = tfaConnection(transport, { keyboardInteractiveAnswers: ["2"], dialAttempts: 3 });
            await expect(runRemote(conn, ["true"])).rejects.toThrow(/the key was accepted but the server refused the second-factor answer .*not retried/);
            await settle();
            const d = countsSince(before);
            expect({ attempts: d.attempts, failed: d.failed, accepted: d.accepted }).toEqual({ attempts: 1, failed: 1, accepted: 0 });
            expect(d.prompts).toEqual([expect.stringMatching(/asked$/), expect.stringMatching(/result=wrong-answer$/)]);
        });

        it("never gives the Duo answer to a password prompt: the login fails at once, saying why", async () => {
            setMode("password", "1");
            const before = tfaCounts();
            const conn = tfaConnection(transport, { keyboardInteractiveAnswers: ["1"] });
            const err = (await runRemote(conn, ["true"]).catch((e: Error) => e)) as Error;
            expect(err.message).toMatch(
                /asked for a password or passphrase \("(\(hpcuser@127\.0\.0\.1\) )?Password:"\); the second-factor answer is never sent there/,
            );
            // The key that chose the port, its value and the fix (UF: keys on 2222; federated users: 22).
            expect(err.message).toContain(
                "connection.port (hpgPort) = 2224: that port asked for a password instead of taking the key. Fix: `pulumi config set hpgPort 2222`",
            );
            expect(err.message).toContain("UF federated users log in with a key on port 22");
            await settle();
            const d = countsSince(before);
            expect(d.attempts).toBe(1);
            expect(d.accepted).toBe(0);
            // The stand-in asked once and never got an answer (the client hung up instead of answering).
            expect(d.prompts).toEqual([expect.stringMatching(/mode=password prompt user=hpcuser asked$/)]);
        });

        it.each(["ed25519", "ecdsa", "rsa"] as const)("works with a pinned %s host key, and refuses another key of that type", async (type) => {
            setMode("duo", "1");
            const ok = await runRemote(tfaConnection(transport, { hostKey: tfaHostKey(type), keyboardInteractiveAnswers: ["1"] }), ["true"]);
            expect(ok.code).toBe(0);
            closeAllConnections();
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tfa-key-"));
            execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", path.join(dir, "k")]);
            const other = fs.readFileSync(path.join(dir, "k.pub"), "utf8").trim();
            fs.rmSync(dir, { recursive: true });
            await expect(runRemote(tfaConnection(transport, { hostKey: other, keyboardInteractiveAnswers: ["1"] }), ["true"])).rejects.toThrow(
                /host key does not match/,
            );
        });

        it("takes the pinned key as a known_hosts line or a bare blob too", async () => {
            setMode("duo", "1");
            const [type, blob] = tfaHostKey("ecdsa").split(/\s+/);
            for (const hostKey of [`[127.0.0.1]:2224 ${type} ${blob}`, blob]) {
                expect((await runRemote(tfaConnection(transport, { hostKey, keyboardInteractiveAnswers: ["1"] }), ["true"])).code).toBe(0);
                closeAllConnections();
            }
        });

        it("unlocks an encrypted key with its passphrase (never sending it to the server)", async () => {
            setMode("duo", "1");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tfa-enc-"));
            const key = path.join(dir, "id");
            fs.copyFileSync(USER_KEY_PATH, key);
            fs.chmodSync(key, 0o600);
            execFileSync("ssh-keygen", ["-q", "-p", "-f", key, "-N", "sparc-test-passphrase", "-P", ""]);
            const conn = tfaConnection(transport, {
                keyboardInteractiveAnswers: ["1"],
                passphrase: "sparc-test-passphrase",
                ...(transport === "ssh2" ? { privateKey: fs.readFileSync(key, "utf8") } : { identityFile: key }),
            });
            const before = tfaCounts();
            expect((await runRemote(conn, ["true"])).code).toBe(0);
            await settle();
            expect(countsSince(before).accepted).toBe(1);
            closeAllConnections();
            if (transport === "openssh") {
                // Without hpgKeyPassphrase, ssh's own passphrase prompt is refused at once, never answered with the Duo answer.
                const { passphrase: _unused, ...withoutPassphrase } = conn;
                await expect(runRemote(withoutPassphrase, ["true"])).rejects.toThrow(
                    /asked for a password or passphrase \("Enter passphrase for key .*hpgKeyPassphrase/,
                );
            }
            fs.rmSync(dir, { recursive: true });
        });

        it("reaches a host behind a jump host through the jump host's one login (PubApps through HiPerGator)", async () => {
            setMode("duo", "1");
            const before = tfaCounts();
            const jump = tfaConnection(transport, { keyboardInteractiveAnswers: ["1"] });
            // The inner host: the cluster's key-only sshd, dialled from the jump host as 127.0.0.1:2222.
            const inner = {
                host: "127.0.0.1",
                port: SSH_PORT,
                user: TEST_USER,
                transport,
                hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                jump,
                ...(transport === "ssh2"
                    ? { privateKey: fs.readFileSync(USER_KEY_PATH, "utf8") }
                    : { identityFile: USER_KEY_PATH, controlPath: `/tmp/sparc-tfa-inner-${process.pid}-%C` }),
            };
            const results = await Promise.all([runRemote(inner, ["echo", "inner"]), runRemote(inner, ["true"]), runRemote(jump, ["true"])]);
            expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
            expect(results[0].stdout.trim()).toBe("inner");
            await settle();
            expect(countsSince(before).attempts).toBe(1);
        });
    });

    it("openssh: uses a ControlMaster that is already running (the user's own) and leaves it running", async () => {
        setMode("duo", "1");
        const conn = tfaConnection("openssh", { controlPath: `/tmp/sparc-tfa-user-${process.pid}-%C` });
        const askpass = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tfa-ap-")), "askpass");
        fs.writeFileSync(askpass, "#!/bin/sh\necho 1\n", { mode: 0o700 });
        const base = [
            "-i",
            USER_KEY_PATH,
            "-p",
            "2224",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            `ControlPath=${conn.controlPath}`,
            `${TEST_USER}@127.0.0.1`,
        ];
        // What a user does by hand once: `ssh -fNM hpg`, answering Duo.
        const started = spawnSync("ssh", ["-fNM", ...base], {
            env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" },
            timeout: 30_000,
            stdio: "ignore",
        });
        expect(started.status).toBe(0);
        const before = tfaCounts();
        // No answers configured: any prompt would fail the run.
        expect((await runRemote(conn, ["true"])).code).toBe(0);
        closeAllConnections();
        await settle();
        expect(countsSince(before).attempts).toBe(0);
        expect(spawnSync("ssh", ["-O", "check", ...base], { stdio: "ignore" }).status).toBe(0);
        spawnSync("ssh", ["-O", "exit", ...base], { stdio: "ignore" });
        fs.rmSync(path.dirname(askpass), { recursive: true });
    });

    it("openssh: the master dies with the process that started it (the engine kills the provider at the end of a run)", async () => {
        setMode("duo", "1");
        const controlPath = `/tmp/sparc-tfa-kill-${process.pid}-%C`;
        const testStarted = Date.now();
        // A directory left by a provider process killed with its whole process group is swept by the next run.
        const deadPid = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
        // Today's name, and 0.1.0's (legacy.ts): both are swept.
        const stale = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_DIR_PREFIX}${deadPid}-`));
        const staleLegacy = fs.mkdtempSync(path.join(os.tmpdir(), `${LEGACY_RUN_DIR_PREFIX}${deadPid}-`));
        const script = `
            const { runRemote, sshPool } = require(${JSON.stringify(path.resolve(__dirname, "../../providers/remote/remote"))});
            const conn = ${JSON.stringify(tfaConnection("openssh", { controlPath, keyboardInteractiveAnswers: ["1"] }))};
            runRemote(conn, ["true"]).then((r) => {
                console.log("ran " + r.code + " " + [...sshPool().masters.values()][0].target.controlPath);
                setInterval(() => undefined, 1000);
            });`;
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tfa-kill-")), "out");
        // Our master listens in the run's own directory (the configured path is only looked at for the user's own master).
        const check = `ssh -O check -o ControlPath="$(sed -n 's/^ran 0 //p' ${out})" -p 2224 ${TEST_USER}@127.0.0.1 2>/dev/null`;
        const child = spawnSync(
            "bash",
            [
                "-c",
                `node -r ts-node/register/transpile-only -e "$1" > ${out} 2>&1 & pid=$!
            for i in $(seq 150); do sleep 0.2; grep -q "^ran 0" ${out} && break; done
            ${check} && echo master-up
            kill -KILL $pid; sleep 1.5
            ${check} && echo still-up || echo gone`,
                "bash",
                script,
            ],
            { encoding: "utf8", timeout: 60_000, cwd: path.resolve(__dirname, "../..") },
        );
        expect(child.stdout.trim().split("\n")).toEqual(["master-up", "gone"]);
        expect([fs.existsSync(stale), fs.existsSync(staleLegacy)]).toEqual([false, false]);
        expect(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(RUN_DIR_PREFIX) && fs.statSync(path.join(os.tmpdir(), d)).mtimeMs > testStarted)).toEqual(
            [],
        );
        fs.rmSync(path.dirname(out), { recursive: true });
    }, 70_000);
});
