// The "openssh" transport: the system ssh client, honouring ~/.ssh/config. One ControlMaster per
// connection and process logs in once (key, then the second factor through SSH_ASKPASS) and lives
// exactly as long as the process; every command is a multiplexed client of it (openssh.ts builds
// the command lines). Runtime libraries (node:child_process, node:fs, ...) are require()d at call time.
import { shJoin } from "./quote";
import { hostKeyMismatchMessage } from "./hostKey";
import { progressLine, secondFactorNotice, uploadProgress } from "./progress";
import { keyToSet } from "./keyNames";
import { LEGACY_RUN_DIR_PREFIX } from "../legacy";
import {
    DEFAULT_CONTROL_PATH,
    MASTER_UNREACHABLE_MARKER,
    controlArgv,
    knownHostsLine,
    masterArgv,
    maxControlPathBytes,
    muxArgv,
    proxyThroughMaster,
    type OpenSshTarget,
} from "./openssh";
import {
    DEFAULT_MFA_PROMPT_PATTERN,
    classifyPrompt,
    refusedAnswerMessage,
    refusedPromptMessage,
    secondFactorAllowanceSeconds,
    secondFactorAnswers,
} from "./prompts";
import {
    AmbiguousRemoteError,
    ChannelRefusedError,
    SshConnectError,
    afterOutputMarker,
    commandBoundSeconds,
    connectionKey,
    connectionLabel,
    countCommand,
    dialBoundSeconds,
    retryRefusedChannel,
    sshPool,
    withOutputMarker,
    type RemoteResult,
    type RunOptions,
    type SshConnection,
} from "./connection";

/**
 * An OpenSSH ControlMaster this process uses: found running at the configured ControlPath (the
 * user's), or started by this process (ours) at a socket in its own run directory, so that no other
 * process, connection or pinned host key can ride on it or stop it.
 */
export interface OpenSshMaster {
    /** How ssh reaches the master: its controlPath is where the master in use listens. */
    target: OpenSshTarget;
    ours: boolean;
    /** The foreground `ssh -M -N` child (ours only). */
    child: import("node:child_process").ChildProcess | undefined;
    /** Kills the master when this process dies, however it dies (its stdin is our pipe). */
    reaper: import("node:child_process").ChildProcess | undefined;
    /** Holds the run's known_hosts file, askpass helper and, for ours, the master's socket. */
    dir: string;
    ready: Promise<void>;
    /** Sessions open through the master, capped like the ssh2 pool's channels (sshd's MaxSessions counts them). */
    active: number;
    waiting: (() => void)[];
}

function stopMaster(master: OpenSshMaster): void {
    const fs = require("node:fs") as typeof import("node:fs");
    if (master.ours) {
        // SIGTERM: ssh closes the connection cleanly and removes its socket.
        master.child?.kill("SIGTERM");
        master.reaper?.kill("SIGTERM");
    }
    fs.rmSync(master.dir, { recursive: true, force: true });
}

/** Starts a local process, bounded; resolves with its status and output (never rejects for a non-zero exit). */
function runLocal(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutSeconds: number): Promise<{ code: number; stderr: string }> {
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    return new Promise((resolve) => {
        const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
        const errOut: Buffer[] = [];
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutSeconds * 1000);
        child.stderr.on("data", (d: Buffer) => errOut.push(d));
        child.on("error", (err) => {
            clearTimeout(timer);
            resolve({ code: -1, stderr: err.message });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? -1, stderr: Buffer.concat(errOut).toString("utf8") });
        });
    });
}

/**
 * SSH_ASKPASS for the master's one login. It answers only a prompt that looks like the second factor
 * (the answer comes from its environment, never its command line), a key-passphrase prompt with
 * connection.passphrase when set, and refuses anything else (a password prompt above all), saying so on stderr.
 */
export const ASKPASS_SCRIPT = `#!/bin/sh
# slurm-provider askpass: answers the second factor only.
line=$(printf '%s\\n' "$1" | awk 'NF { l = $0 } END { print l }')
if printf '%s' "$line" | grep -Eiq 'pass(word|phrase)'; then
  if printf '%s' "$line" | grep -Eiq 'passphrase for' && [ -n "\${SLURM_PROVIDER_ASKPASS_PASSPHRASE:-}" ]; then
    printf '%s\\n' "$SLURM_PROVIDER_ASKPASS_PASSPHRASE"; exit 0
  fi
  # Stop ssh itself: exiting 1 alone makes it send an empty answer (a failed password try at the server).
  printf 'slurm-provider-refused-prompt: %s\\n' "$line" >&2
  kill -TERM "$PPID" 2>/dev/null; exit 1
fi
if [ -n "\${SLURM_PROVIDER_ASKPASS_ANSWER:-}" ] && printf '%s' "$line" | grep -Eiq -- "$SLURM_PROVIDER_ASKPASS_PATTERN"; then
  echo 'slurm-provider-answered-second-factor' >&2
  printf '%s\\n' "$SLURM_PROVIDER_ASKPASS_ANSWER"; exit 0
fi
printf 'slurm-provider-refused-prompt: %s\\n' "$line" >&2; kill -TERM "$PPID" 2>/dev/null; exit 1
`;

/** Turns a failed master login's stderr into the error a user can act on. */
export function masterLoginError(label: string, stderr: string, pattern: string, conn: Pick<SshConnection, "port" | "messages"> = {}): SshConnectError {
    const refused = /slurm-provider-refused-prompt: (.*)/.exec(stderr);
    if (refused !== null) {
        return new SshConnectError(refusedPromptMessage(`connection to ${label}`, refused[1], classifyPrompt(refused[1], pattern), pattern, conn), false);
    }
    const plain = stderr
        .split(/\r?\n/)
        .filter((l) => l.trim() !== "" && !l.startsWith("slurm-provider-"))
        .join("; ");
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
        return new SshConnectError(hostKeyMismatchMessage(label, conn), false);
    }
    if (/Permission denied/.test(stderr) && stderr.includes("slurm-provider-answered-second-factor")) {
        return new SshConnectError(refusedAnswerMessage(label, plain, conn), false);
    }
    if (/Permission denied/.test(stderr)) {
        return new SshConnectError(
            `connection to ${label}: authentication failed (${plain}). Check ${keyToSet(conn, "user")}, the key (${keyToSet(conn, "identityFile")} or ssh-agent), ` +
                `${keyToSet(conn, "port")} (some sites take keys on another port than their password logins) and, with a second factor, ${keyToSet(conn, "keyboardInteractiveAnswers")}.`,
            false,
        );
    }
    return new SshConnectError(
        `connection to ${label} failed: ${plain === "" ? "ssh exited before logging in" : plain}`,
        /Connection refused|Connection timed out|No route to host|Could not resolve|Connection closed|reset by peer|timed out/i.test(stderr),
    );
}

/** The OpenSshTarget of a connection ("~/" expanded, the run's known_hosts file in dir). */
export function openSshTargetOf(conn: SshConnection, dir: string, proxyCommand?: string): OpenSshTarget {
    const os = require("node:os") as typeof import("node:os");
    return {
        host: conn.hostAlias ?? conn.host,
        ...(conn.port !== undefined ? { port: conn.port } : {}),
        user: conn.user,
        hostKey: conn.hostKey ?? "",
        insecureIgnoreHostKey: conn.insecureIgnoreHostKey === true,
        identityFile: (conn.identityFile ?? "").replace(/^~\//, `${os.homedir()}/`),
        controlPath: (conn.controlPath ?? DEFAULT_CONTROL_PATH).replace(/^~\//, `${os.homedir()}/`),
        knownHostsFile: `${dir}/known_hosts`,
        ...(proxyCommand !== undefined ? { proxyCommand } : {}),
    };
}

function masterAlive(master: OpenSshMaster): boolean {
    return !master.ours || (master.child !== undefined && master.child.exitCode === null && master.child.signalCode === null);
}

/**
 * Removes the known_hosts/askpass directories of runs whose process is gone. The engine may kill the
 * provider's whole process group at the end of a run (the master dies with it, closing the login),
 * and then nothing is left to remove them. Once per process.
 */
function sweepStaleRunDirs(): void {
    const fs = require("node:fs") as typeof import("node:fs");
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    const g = globalThis as unknown as { __slurmProviderRunDirsSwept?: boolean };
    if (g.__slurmProviderRunDirsSwept === true) {
        return;
    }
    g.__slurmProviderRunDirsSwept = true;
    const uid = process.getuid?.();
    for (const base of new Set([os.tmpdir(), "/tmp"])) {
        let names: string[];
        try {
            names = fs.readdirSync(base);
        } catch {
            continue;
        }
        for (const name of names) {
            // Today's prefix, or 0.1.0's (legacy.ts): both name the pid of the process that made the directory.
            const prefix = [RUN_DIR_PREFIX, LEGACY_RUN_DIR_PREFIX].find((p) => name.startsWith(p));
            const owner = prefix === undefined ? null : /^(\d+)-/.exec(name.slice(prefix.length));
            if (owner === null || Number(owner[1]) === process.pid) {
                continue;
            }
            const dir = path.join(base, name);
            try {
                // Only this user's own directories: another user's (a shared machine) is theirs to
                // remove, and its pid says nothing about processes of this user.
                if (uid !== undefined && fs.lstatSync(dir).uid !== uid) {
                    continue;
                }
                process.kill(Number(owner[1]), 0);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code === "ESRCH") {
                    try {
                        fs.rmSync(dir, { recursive: true, force: true });
                    } catch {
                        // Best effort: a leftover that cannot be removed must not fail the run.
                    }
                }
            }
        }
    }
}

/** The run directories' name: `${RUN_DIR_PREFIX}<pid>-XXXXXX` under $TMPDIR (or /tmp). As short as 0.1.0's, for the socket path's limit. */
export const RUN_DIR_PREFIX = "slurm-ssh-";

/** Our master's socket, in the run directory (0700, private to this process). */
const MASTER_SOCKET_NAME = "cm";

/**
 * The directory for this process's run files and its master's socket: under the temporary
 * directory, or /tmp when TMPDIR is so long that the socket path would not fit (the limit is
 * known before any login, so a too-long path can never cost a Duo prompt).
 */
function makeRunDir(): string {
    const fs = require("node:fs") as typeof import("node:fs");
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    const prefix = `${RUN_DIR_PREFIX}${process.pid}-`;
    const socketBytes = (base: string) => Buffer.byteLength(path.join(base, `${prefix}XXXXXX`, MASTER_SOCKET_NAME));
    const base = socketBytes(os.tmpdir()) <= maxControlPathBytes() ? os.tmpdir() : "/tmp";
    const dir = fs.mkdtempSync(path.join(base, prefix));
    const socket = path.join(dir, MASTER_SOCKET_NAME);
    if (Buffer.byteLength(socket) > maxControlPathBytes()) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new SshConnectError(
            `the master's socket path ${socket} is ${Buffer.byteLength(socket)} bytes; OpenSSH needs at most ${maxControlPathBytes()} here. Set TMPDIR to a shorter directory.`,
            false,
        );
    }
    return dir;
}

/**
 * The one OpenSSH login of this process for conn: a master already listening on the ControlPath
 * (the user's own, e.g. `ssh -fNM cluster`) is used and left alone; otherwise one is started
 * (answering the second factor once) and lives exactly as long as this process.
 * Concurrent callers share the same attempt. A jump host's master is opened first and reused.
 */
export async function openSshMaster(conn: SshConnection): Promise<OpenSshMaster> {
    const pool = sshPool();
    const key = connectionKey(conn);
    const known = pool.masters.get(key);
    if (known !== undefined) {
        await known.ready;
        if (masterAlive(known)) {
            return known;
        }
        if (pool.masters.get(key) === known) {
            pool.masters.delete(key);
            stopMaster(known);
        }
        return openSshMaster(conn);
    }
    const fs = require("node:fs") as typeof import("node:fs");
    sweepStaleRunDirs();
    const dir = makeRunDir();
    const master: OpenSshMaster = {
        target: openSshTargetOf(conn, dir),
        ours: false,
        child: undefined,
        reaper: undefined,
        dir,
        ready: Promise.resolve(),
        active: 0,
        waiting: [],
    };
    master.ready = (async () => {
        const jump = conn.jump === undefined ? undefined : await openSshMaster(conn.jump);
        if (jump !== undefined) {
            master.target = openSshTargetOf(conn, dir, proxyThroughMaster(jump.target));
        }
        if (!master.target.insecureIgnoreHostKey) {
            let line: string;
            try {
                line = knownHostsLine(master.target);
            } catch (err) {
                throw new SshConnectError(`connection to ${connectionLabel(conn)}: ${(err as Error).message}`, false);
            }
            fs.writeFileSync(master.target.knownHostsFile, `${line}\n`, { mode: 0o600 });
        }
        const attempts = Math.max(1, conn.dialAttempts ?? 3);
        for (let attempt = 1; ; attempt++) {
            try {
                await startMaster(conn, master);
                return;
            } catch (err) {
                if (!(err instanceof SshConnectError) || !err.retryable || attempt >= attempts) {
                    throw err;
                }
                await new Promise((r) => setTimeout(r, 1000 * attempt));
            }
        }
    })();
    pool.masters.set(key, master);
    try {
        await master.ready;
    } catch (err) {
        if (pool.masters.get(key) === master) {
            pool.masters.delete(key);
        }
        stopMaster(master);
        throw err;
    }
    return master;
}

async function startMaster(conn: SshConnection, master: OpenSshMaster): Promise<void> {
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    const label = connectionLabel(conn);
    // The configured ControlPath is only where the user's own master may listen. A stale socket
    // there (a crash, a power loss), a path too long to listen on, or another run's master is never
    // ours to use: ours listens in this process's run directory.
    const configured = { ...master.target, controlPath: openSshTargetOf(conn, master.dir).controlPath };
    if ((await runLocal(controlArgv(configured, "check"), process.env, 15)).code === 0) {
        master.target = configured;
        master.ours = false;
        return;
    }
    master.target = { ...master.target, controlPath: path.join(master.dir, MASTER_SOCKET_NAME) };
    const pattern = conn.mfaPromptPattern ?? DEFAULT_MFA_PROMPT_PATTERN;
    const askpass = path.join(master.dir, "askpass");
    fs.writeFileSync(askpass, ASKPASS_SCRIPT, { mode: 0o700 });
    // Always through the askpass (even without answers): a prompt nobody configured fails with a clear error instead of hanging.
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: "force",
        DISPLAY: process.env.DISPLAY ?? ":0",
        SLURM_PROVIDER_ASKPASS_ANSWER: secondFactorAnswers(conn)[0] ?? "",
        SLURM_PROVIDER_ASKPASS_PATTERN: pattern,
        SLURM_PROVIDER_ASKPASS_PASSPHRASE: conn.passphrase ?? "",
    };
    const connectSeconds = dialBoundSeconds(conn);
    // Each master started is a new login, and with an answer configured a new Duo push: say so first.
    const notice = secondFactorNotice(conn);
    if (notice !== undefined) {
        progressLine(undefined, notice);
    }
    // The second factor may wait for a person (a Duo push times out after 60 s).
    const boundSeconds = connectSeconds + secondFactorAllowanceSeconds(conn);
    const child = spawn("ssh", masterArgv(master.target, connectSeconds).slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
    const errOut: Buffer[] = [];
    child.stderr?.on("data", (d: Buffer) => errOut.push(d));
    child.on("error", (err) => errOut.push(Buffer.from(`cannot run ssh: ${err.message}\n`)));
    master.child = child;
    // From its first moment: if this process dies (the engine kills the provider at the end of
    // the run), the reaper's stdin closes and it stops the master, so the login never outlives the run
    // (and removes the run's known_hosts/askpass directory).
    const reaper = spawn("sh", ["-c", 'read _ignored; kill "$1" 2>/dev/null; rm -rf "$2"', "slurm-ssh-reaper", String(child.pid), master.dir], {
        stdio: ["pipe", "ignore", "ignore"],
    });
    reaper.stdin?.on("error", () => undefined);
    master.reaper = reaper;
    master.ours = true;
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const started = Date.now();
    for (;;) {
        const dead = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
        if (dead) {
            throw masterLoginError(label, Buffer.concat(errOut).toString("utf8"), pattern, conn);
        }
        if ((await runLocal(controlArgv(master.target, "check"), process.env, 15)).code === 0) {
            break;
        }
        if (Date.now() - started > boundSeconds * 1000) {
            child.kill("SIGTERM");
            throw new SshConnectError(
                `connection to ${label}: the login did not complete within ${boundSeconds} s ` +
                    `(connection.dialTimeoutSeconds, plus ${secondFactorAllowanceSeconds(conn)} s for the second factor)`,
                true,
            );
        }
    }
    master.ours = true;
    for (const handle of [child, reaper]) {
        handle.unref();
    }
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    sshPool().stats.handshakes += 1;
}

/** The client could not reach the master's socket: the command was not sent. */
class MasterUnreachableError extends SshConnectError {
    constructor(
        message: string,
        readonly master: OpenSshMaster,
    ) {
        super(message, true);
        this.name = "MasterUnreachableError";
    }
}

/** Drops a master that no longer answers, so the next command logs in again (once). */
function forgetMaster(conn: SshConnection, master: OpenSshMaster): void {
    const pool = sshPool();
    const key = connectionKey(conn);
    if (pool.masters.get(key) === master) {
        pool.masters.delete(key);
        stopMaster(master);
    }
}

/**
 * The "openssh" transport: the system ssh client, every command a multiplexed client of
 * this process's one master (openSshMaster). ssh exits 255 for its own failures; stderr
 * tells a failed login (nothing ran) from a dropped connection (the command may have run).
 */
export async function runOpenSsh(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    try {
        return await runThroughMaster(conn, argv, options);
    } catch (err) {
        if (!(err instanceof MasterUnreachableError)) {
            throw err;
        }
        // The master died (the user closed theirs, or it was killed) before this command reached
        // it: nothing ran, so one new login and one more try are safe.
        forgetMaster(conn, err.master);
        return runThroughMaster(conn, argv, options);
    }
}

function runThroughMaster(conn: SshConnection, argv: readonly string[], options: RunOptions): Promise<RemoteResult> {
    // A refused session never started the command, so trying again is safe (as for ssh2's refused channels).
    return retryRefusedChannel(async () => {
        const master = await openSshMaster(conn);
        while (master.active >= sshPool().maxChannels) {
            await new Promise<void>((resolve) => master.waiting.push(resolve));
        }
        master.active += 1;
        try {
            return await runOpenSshOnce(conn, master, argv, options);
        } finally {
            master.active -= 1;
            master.waiting.shift()?.();
        }
    });
}

async function runOpenSshOnce(conn: SshConnection, master: OpenSshMaster, argv: readonly string[], options: RunOptions): Promise<RemoteResult> {
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    const fs = require("node:fs") as typeof import("node:fs");
    countCommand(argv);
    // The same output marker as the ssh2 transport: a login shell that prints cannot garble stdout.
    const full = [...muxArgv(master.target, argv).slice(0, -1), withOutputMarker(shJoin(argv))];
    const key = connectionLabel(conn);
    return new Promise<RemoteResult>((resolve, reject) => {
        const child = spawn(full[0], full.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const timeoutSeconds = commandBoundSeconds(conn, options);
        const timer = setTimeout(() => {
            child.kill("SIGTERM");
            reject(new AmbiguousRemoteError(`\`${argv[0]}\` on ${key} did not finish within ${timeoutSeconds} s`));
        }, timeoutSeconds * 1000);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => errOut.push(d));
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(new SshConnectError(`cannot run ssh for ${key}: ${err.message}`, false));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const stderr = Buffer.concat(errOut).toString("utf8");
            if (code === 255) {
                if (stderr.includes(MASTER_UNREACHABLE_MARKER)) {
                    reject(new MasterUnreachableError(`the SSH master for ${key} was gone before \`${argv[0]}\` was sent (nothing ran)`, master));
                    return;
                }
                if (/Session open refused|session request failed/.test(stderr)) {
                    reject(new ChannelRefusedError(`the server refused a session on the shared SSH connection to ${key}: ${stderr.trim()}`));
                    return;
                }
                if (/Control socket connect|ControlSocket .* already exists|mux_client/.test(stderr)) {
                    // The master is gone, so nothing was sent through it; BatchMode kept ssh from logging in by itself.
                    reject(new SshConnectError(`the shared SSH connection to ${key} was lost before \`${argv[0]}\` started: ${stderr.trim()}`, true));
                    return;
                }
                if (
                    /Permission denied|Connection refused|Could not resolve hostname|No route to host|Connection timed out|Host key verification failed/.test(
                        stderr,
                    )
                ) {
                    reject(new SshConnectError(`connection to ${key} failed: ${stderr.trim()}`, !/Permission denied|Host key/.test(stderr)));
                    return;
                }
                reject(new AmbiguousRemoteError(`ssh to ${key} failed while \`${argv[0]}\` may have been running: ${stderr.trim()}`));
                return;
            }
            resolve({
                command: shJoin(argv),
                code: code ?? -1,
                signal: signal ?? "",
                stdout: afterOutputMarker(Buffer.concat(out).toString("utf8")),
                stderr: afterOutputMarker(stderr),
            });
        });
        child.stdin.on("error", () => undefined);
        if (options.stdinFile !== undefined) {
            const file = fs.createReadStream(options.stdinFile);
            file.on("error", (e: Error) => {
                child.kill("SIGTERM");
                reject(new AmbiguousRemoteError(`reading ${options.stdinFile} for \`${argv[0]}\` on ${key} failed: ${e.message}`));
            });
            const report = uploadProgress(options.stdinFile, key);
            let sent = 0;
            file.on("data", (d: Buffer | string) => report((sent += d.length)));
            file.pipe(child.stdin);
        } else {
            child.stdin.end(options.stdin ?? "");
        }
    });
}

/** Stops the OpenSSH masters this process started (tests and benchmarks; the provider process is simply killed, and its reaper stops its masters). */
export function closeOpenSshMasters(): void {
    for (const master of sshPool().masters.values()) {
        stopMaster(master);
    }
    sshPool().masters.clear();
}
