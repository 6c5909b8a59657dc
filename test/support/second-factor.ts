// The project's second-factor sshd (test/cluster/second-factor/setup.sh) on 127.0.0.1:2224:
// key, then PAM keyboard-interactive. Logins and prompts are counted in its own logs.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { SshConnection } from "../../providers/slurm/types";
import { CLUSTER_STATE, HOST_KEY_PATH, TEST_USER, USER_KEY_PATH } from "./cluster";
import { HPG_CONNECTION_MESSAGES } from "../../components/hpg/site";

export const TFA_PORT = 2224;
export const TFA_DIR = `${CLUSTER_STATE}/2fa`;
export const TFA_LOG = `${CLUSTER_STATE}/log/sshd-2fa.log`;
export const PROMPTS_LOG = `${TFA_DIR}/prompts.log`;
export type TfaMode = "totp" | "duo" | "password";

/** Whether the second-factor sshd answers; in CI its absence is a failure, never a skip. */
export function requireSecondFactorOrSkip(): boolean {
    const ok = fs.existsSync(`${TFA_DIR}/secret`) && spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${TFA_PORT}`], { timeout: 5000 }).status === 0;
    if (!ok && process.env.CI === "true") {
        throw new Error("the second-factor sshd is not running: `bash test/cluster/second-factor/setup.sh` must run first (.ci/run does it)");
    }
    if (!ok) {
        console.warn("SKIPPED: the second-factor sshd is not running; start it with `sudo bash test/cluster/second-factor/setup.sh`");
    }
    return ok;
}

/** Switches what the sshd asks after the key (read at every login; no restart). */
export function setMode(mode: TfaMode, duoAnswer = "1"): void {
    fs.writeFileSync(`${TFA_DIR}/mode`, `${mode}\n`);
    fs.writeFileSync(`${TFA_DIR}/answer`, `${duoAnswer}\n`);
}

const used = new Set<string>();
/**
 * A TOTP code the sshd has not seen yet and will still accept 20 s from now (a `pulumi up` logs in
 * seconds after the code is handed to it): the sshd accepts the codes of the previous, current and
 * next 30 s window (WINDOW_SIZE 3) and refuses any code twice. When every such code is used, waits
 * (at most 31 s) for the next window, which brings a new one.
 */
export function freshCode(): string {
    const secret = fs.readFileSync(`${TFA_DIR}/secret`, "utf8").trim();
    for (let attempt = 0; attempt < 2; attempt++) {
        const secondsIntoWindow = (Date.now() / 1000) % 30;
        // This window's code and the next one's stay valid for 30 s or more; the previous window's only until this one ends.
        const offsets = secondsIntoWindow < 10 ? [0, 30, -30] : [0, 30];
        for (const offset of offsets) {
            const at = new Date(Date.now() + offset * 1000).toISOString().replace("T", " ").slice(0, 19);
            const r = spawnSync("oathtool", ["--totp", "-b", "-N", `${at} UTC`, secret], { encoding: "utf8" });
            const code = r.stdout.trim();
            if (r.status === 0 && !used.has(code)) {
                used.add(code);
                return code;
            }
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil((30 - secondsIntoWindow + 1) * 1000));
    }
    throw new Error("no unused TOTP code in the accepted window after waiting for the next one");
}

export interface TfaCounts {
    /** Key accepted, second factor asked: one per login attempt. */
    attempts: number;
    accepted: number;
    failed: number;
    /** Lines of the Duo/password stand-in's own log. */
    prompts: string[];
}

export function tfaCounts(): TfaCounts {
    const log = fs.existsSync(TFA_LOG) ? fs.readFileSync(TFA_LOG, "utf8").split("\n") : [];
    return {
        attempts: log.filter((l) => l.includes(`Partial publickey for ${TEST_USER}`)).length,
        accepted: log.filter((l) => l.includes(`Accepted keyboard-interactive/pam for ${TEST_USER}`)).length,
        failed: log.filter((l) => l.includes(`Failed keyboard-interactive/pam for ${TEST_USER}`)).length,
        prompts: fs.existsSync(PROMPTS_LOG)
            ? fs
                  .readFileSync(PROMPTS_LOG, "utf8")
                  .split("\n")
                  .filter((l) => l !== "")
            : [],
    };
}

export function countsSince(before: TfaCounts): TfaCounts {
    const now = tfaCounts();
    return {
        attempts: now.attempts - before.attempts,
        accepted: now.accepted - before.accepted,
        failed: now.failed - before.failed,
        prompts: now.prompts.slice(before.prompts.length),
    };
}

/** The sshd's host key of a type: the cluster's ed25519 key, or its own ECDSA/RSA key. */
export function tfaHostKey(type: "ed25519" | "ecdsa" | "rsa" = "ed25519"): string {
    const file = type === "ed25519" ? HOST_KEY_PATH : `${TFA_DIR}/ssh_host_${type}_key.pub`;
    return fs.readFileSync(file, "utf8").trim();
}

/** A connection to the second-factor sshd for a transport. */
export function tfaConnection(transport: "ssh2" | "openssh", overrides: Partial<SshConnection> = {}): SshConnection {
    return {
        host: "127.0.0.1",
        port: TFA_PORT,
        user: TEST_USER,
        transport,
        hostKey: tfaHostKey(),
        dialTimeoutSeconds: 15,
        // As the hpg stack builds it (components/hpg/site.ts): errors name the hpg* config keys.
        messages: HPG_CONNECTION_MESSAGES,
        ...(transport === "ssh2"
            ? { privateKey: fs.readFileSync(USER_KEY_PATH, "utf8") }
            : { identityFile: USER_KEY_PATH, controlPath: `/tmp/sparc-tfa-${process.pid}-%C` }),
        ...overrides,
    };
}

/** Waits until the sshd has logged what it did for the last connection (it writes asynchronously). */
export async function settle(ms = 700): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
}
