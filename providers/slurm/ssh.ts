// One pooled ssh2 connection per user@host:port, shared by every SlurmJob in
// the provider process. HiPerGator asks for Duo MFA at each login, so one
// `pulumi up` must cost one handshake per host, not one per resource.
//
// These functions are captured into the serialized provider, so they require
// ssh2 at call time and keep the pool on globalThis (a captured module-level
// Map would be copied, not shared).
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import type { SshConnection } from "./types";
import { shJoin } from "./quote";
import { sshArgv } from "./openssh";

export interface RemoteResult {
    /** The command line as sent (argv joined through shJoin). */
    command: string;
    /** Exit status; -1 when the command was killed by a signal. */
    code: number;
    signal: string;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    stdin?: string;
    /** Bound on the whole command, in seconds (default 120). */
    timeoutSeconds?: number;
}

/** Counters read by the benchmark and the tests. */
export interface SshStats {
    handshakes: number;
    commands: Record<string, number>;
}

interface PoolEntry {
    key: string;
    /** user@host:port, for messages (the key itself is not shown). */
    label: string;
    client: Client | undefined;
    connecting: Promise<Client> | undefined;
    active: number;
    waiting: (() => void)[];
    idleTimer: NodeJS.Timeout | undefined;
    /** Rejects the commands in flight when their connection drops (each with the client it runs on). */
    inflight: Map<(err: Error) => void, Client>;
}

interface PoolState {
    entries: Map<string, PoolEntry>;
    stats: SshStats;
    /** Parallel channels per connection: well below OpenSSH's MaxSessions (10), which counts closing channels too. */
    maxChannels: number;
    idleSeconds: number;
}

/** The process-wide pool (globalThis, so every deserialized copy of the provider shares it). */
export function sshPool(): PoolState {
    const g = globalThis as unknown as { __sparcSlurmSsh?: PoolState };
    g.__sparcSlurmSsh ??= {
        entries: new Map(),
        stats: { handshakes: 0, commands: {} },
        maxChannels: 4,
        idleSeconds: 30,
    };
    return g.__sparcSlurmSsh;
}

/** user@host:port: how messages name a connection (never credentials). */
export function connectionLabel(conn: SshConnection): string {
    return `${conn.user}@${conn.host}:${conn.port ?? 22}`;
}

/**
 * The pool key: the peer (host, port, user, pinned host key) and the credentials. Two
 * resources share a connection only when every one of these is equal, so a resource
 * never rides on a login whose host key it did not check. Secrets enter only as an
 * HMAC with a per-process random salt: the key can be logged without revealing them.
 */
export function connectionKey(conn: SshConnection): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const g = globalThis as unknown as { __sparcSlurmKeySalt?: Buffer };
    g.__sparcSlurmKeySalt ??= crypto.randomBytes(32);
    const identity = JSON.stringify([
        conn.transport ?? "ssh2", conn.host, conn.port ?? 22, conn.user, conn.hostKey === undefined ? null : hostKeyBlob(conn.hostKey),
        conn.insecureIgnoreHostKey === true, conn.privateKey ?? null, conn.passphrase ?? null, conn.agentSocket ?? null,
        conn.keyboardInteractiveAnswers ?? [], conn.identityFile ?? null, conn.controlPath ?? null,
    ]);
    const digest = crypto.createHmac("sha256", g.__sparcSlurmKeySalt).update(identity).digest("hex").slice(0, 32);
    return `${connectionLabel(conn)}#${digest}`;
}

/** Overall bound on one dial (TCP connect, key exchange, authentication), in seconds. */
export function dialBoundSeconds(conn: SshConnection): number {
    return conn.dialTimeoutSeconds ?? 20;
}

/** Raised when a command may or may not have run (connection lost, timeout): the caller must look before retrying. */
export class AmbiguousRemoteError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AmbiguousRemoteError";
    }
}

/** Raised when the connection cannot be made: the command certainly did not run. */
export class SshConnectError extends Error {
    constructor(message: string, readonly retryable: boolean) {
        super(message);
        this.name = "SshConnectError";
    }
}

/** The base64 blob of an OpenSSH public key line ("ssh-ed25519 AAAA... comment" or just "AAAA..."). */
export function hostKeyBlob(hostKey: string): string {
    const parts = hostKey.trim().split(/\s+/);
    return parts.length >= 2 && /^(ssh-|ecdsa-|sk-)/.test(parts[0]) ? parts[1] : parts[0];
}

function dialOnce(conn: SshConnection): Promise<Client> {
    const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
    const stats = sshPool().stats;
    const label = connectionLabel(conn);
    return new Promise<Client>((resolvePromise, rejectPromise) => {
        const client = new SshClient();
        let hostKeyMismatch = false;
        let settled = false;
        // Declared before the closures that use it (closure serializer).
        // eslint-disable-next-line prefer-const
        let bound: NodeJS.Timeout | undefined;
        const resolve = (c: Client) => {
            if (!settled) {
                settled = true;
                clearTimeout(bound);
                resolvePromise(c);
            }
        };
        const reject = (err: Error) => {
            if (!settled) {
                settled = true;
                clearTimeout(bound);
                client.end();
                rejectPromise(err);
            }
        };
        // ssh2's readyTimeout is cleared when the socket closes, and a close before "ready"
        // emits no "error": both the bound and the close handler below are needed, or a
        // connection cut during the handshake leaves this promise pending forever.
        const seconds = dialBoundSeconds(conn);
        bound = setTimeout(() => reject(new SshConnectError(
            `connection to ${label} did not complete (TCP, key exchange and authentication) within ${seconds} s ` +
            "(connection.dialTimeoutSeconds)", true)), seconds * 1000);
        const expected = conn.hostKey === undefined ? undefined : hostKeyBlob(conn.hostKey);
        const config: ConnectConfig = {
            host: conn.host,
            port: conn.port ?? 22,
            username: conn.user,
            readyTimeout: seconds * 1000,
            keepaliveInterval: 15_000,
            keepaliveCountMax: 4,
            hostVerifier: (key: Buffer) => {
                if (conn.insecureIgnoreHostKey === true) {
                    return true;
                }
                hostKeyMismatch = key.toString("base64") !== expected;
                return !hostKeyMismatch;
            },
        };
        if (conn.privateKey !== undefined) {
            config.privateKey = conn.privateKey;
            if (conn.passphrase !== undefined) {
                config.passphrase = conn.passphrase;
            }
        } else {
            const agent = conn.agentSocket ?? process.env.SSH_AUTH_SOCK;
            if (agent === undefined || agent === "") {
                reject(new SshConnectError(
                    `connection to ${label}: no privateKey is set and no SSH agent is available (SSH_AUTH_SOCK is empty). ` +
                    "Set connection.privateKey (as a secret) or start ssh-agent and add your key.", false));
                return;
            }
            config.agent = agent;
        }
        const answers = conn.keyboardInteractiveAnswers ?? [];
        if (answers.length > 0) {
            config.tryKeyboard = true;
            client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
                finish(prompts.map((_p, i) => answers[Math.min(i, answers.length - 1)]));
            });
        }
        client.once("ready", () => {
            stats.handshakes += 1;
            resolve(client);
        });
        client.once("close", () => reject(new SshConnectError(`connection to ${label} was closed before login completed`, true)));
        client.once("error", (err: Error & { level?: string }) => {
            if (hostKeyMismatch) {
                reject(new SshConnectError(
                    `connection to ${label} refused: the server's host key does not match connection.hostKey. ` +
                    "If the cluster's key really changed, compare it with the site's published fingerprints, then update connection.hostKey.", false));
            } else if (err.level === "client-authentication") {
                reject(new SshConnectError(
                    `connection to ${label}: authentication failed (${err.message}). ` +
                    "Check connection.user and the key (or agent); with Duo MFA set keyboardInteractiveAnswers.", false));
            } else {
                reject(new SshConnectError(`connection to ${label} failed: ${err.message}`, true));
            }
        });
        try {
            client.connect(config);
        } catch (err) {
            // ssh2 parses the key up front: a wrong passphrase or a malformed key lands here.
            reject(new SshConnectError(`connection to ${label}: cannot use connection.privateKey ` +
                `(${(err as Error).message}); check the key and connection.passphrase`, false));
        }
    });
}

async function dial(conn: SshConnection): Promise<Client> {
    const attempts = Math.max(1, conn.dialAttempts ?? 3);
    let last: Error | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            return await dialOnce(conn);
        } catch (err) {
            last = err as Error;
            if (!(err instanceof SshConnectError) || !err.retryable || attempt === attempts) {
                break;
            }
            await new Promise((r) => setTimeout(r, 1000 * attempt));
        }
    }
    throw last ?? new Error(`connection to ${connectionLabel(conn)} failed`);
}

function entryFor(conn: SshConnection): PoolEntry {
    const pool = sshPool();
    const key = connectionKey(conn);
    let entry = pool.entries.get(key);
    if (entry === undefined) {
        entry = { key, label: connectionLabel(conn), client: undefined, connecting: undefined, active: 0, waiting: [], idleTimer: undefined, inflight: new Map() };
        pool.entries.set(key, entry);
    }
    return entry;
}

async function clientFor(conn: SshConnection, entry: PoolEntry): Promise<Client> {
    if (entry.client !== undefined) {
        return entry.client;
    }
    entry.connecting ??= dial(conn).then(
        (client) => {
            entry.client = client;
            entry.connecting = undefined;
            const drop = (why: string) => {
                if (entry.client === client) {
                    entry.client = undefined;
                }
                for (const [fail, on] of entry.inflight) {
                    if (on !== client) {
                        continue;
                    }
                    fail(new AmbiguousRemoteError(`the SSH connection to ${entry.label} was lost (${why}) while a command was running`));
                }
            };
            client.on("error", (err: Error) => drop(err.message));
            client.on("close", () => drop("closed"));
            return client;
        },
        (err: Error) => {
            entry.connecting = undefined;
            throw err;
        },
    );
    return entry.connecting;
}

async function acquireChannel(entry: PoolEntry): Promise<void> {
    if (entry.idleTimer !== undefined) {
        clearTimeout(entry.idleTimer);
        entry.idleTimer = undefined;
    }
    while (entry.active >= sshPool().maxChannels) {
        await new Promise<void>((resolve) => entry.waiting.push(resolve));
    }
    entry.active += 1;
}

function releaseChannel(entry: PoolEntry): void {
    entry.active -= 1;
    const next = entry.waiting.shift();
    if (next !== undefined) {
        next();
    } else if (entry.active === 0) {
        entry.idleTimer = setTimeout(() => {
            const client = entry.client;
            entry.client = undefined;
            client?.end();
        }, sshPool().idleSeconds * 1000);
        entry.idleTimer.unref();
    }
}

/**
 * Runs argv on the cluster over the pooled connection. Every argument goes
 * through shJoin; stdin (e.g. a batch script) is written to the channel.
 * Resolves with the exit status, whatever it is; rejects with
 * SshConnectError (did not run) or AmbiguousRemoteError (may have run).
 */
export async function runRemote(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    if (conn.transport === "openssh") {
        return runOpenSsh(conn, argv, options);
    }
    // A refused channel means the command never started, so trying again is safe.
    for (let attempt = 1; ; attempt++) {
        try {
            return await runOnce(conn, argv, options);
        } catch (err) {
            if (!(err instanceof ChannelRefusedError) || attempt >= 5) {
                throw err;
            }
            await new Promise((r) => setTimeout(r, 250 * attempt));
        }
    }
}

/** The server refused to open a channel (e.g. sshd's MaxSessions); nothing ran. */
export class ChannelRefusedError extends SshConnectError {
    constructor(message: string) {
        super(message, true);
        this.name = "ChannelRefusedError";
    }
}

/** Printed just before the command runs, on stdout and stderr. */
export const OUTPUT_MARKER = "__sparc_command_output_follows__";

/**
 * A login shell that prints (a ~/.bashrc echo, a site banner) writes before the command
 * starts; the marker lets the reader drop that, so `sbatch --parsable` and squeue rows stay readable.
 */
export function withOutputMarker(command: string): string {
    return `printf '%s\\n' ${OUTPUT_MARKER}; printf '%s\\n' ${OUTPUT_MARKER} >&2; exec ${command}`;
}

/** The text after the marker line (all of it when the marker is missing). */
export function afterOutputMarker(text: string): string {
    const at = text.indexOf(`${OUTPUT_MARKER}\n`);
    return at < 0 ? text : text.slice(at + OUTPUT_MARKER.length + 1);
}

async function runOnce(conn: SshConnection, argv: readonly string[], options: RunOptions): Promise<RemoteResult> {
    const command = shJoin(argv);
    const entry = entryFor(conn);
    await acquireChannel(entry);
    try {
        const client = await clientFor(conn, entry);
        const stats = sshPool().stats;
        stats.commands[argv[0]] = (stats.commands[argv[0]] ?? 0) + 1;
        return await new Promise<RemoteResult>((resolve, reject) => {
            let settled = false;
            let channel: ClientChannel | undefined;
            // Declared before the closures that clear it: Pulumi's closure serializer
            // cannot capture a variable that a closure references before its declaration.
            // eslint-disable-next-line prefer-const
            let timer: NodeJS.Timeout | undefined;
            let fail: (err: Error) => void = () => undefined;
            const finish = (fn: () => void) => {
                if (!settled) {
                    settled = true;
                    clearTimeout(timer);
                    entry.inflight.delete(fail);
                    fn();
                }
            };
            fail = (err: Error) => finish(() => {
                channel?.close();
                reject(err);
            });
            const timeoutSeconds = conn.commandTimeoutSeconds ?? options.timeoutSeconds ?? 120;
            timer = setTimeout(() => {
                // A command past its bound may sit on a connection the network silently dropped (keepalive
                // notices only after a minute): later commands get a new connection; this one is closed
                // once every command still on it has reached its own bound.
                if (entry.client === client) {
                    entry.client = undefined;
                    setTimeout(() => client.end(), timeoutSeconds * 1000).unref();
                }
                fail(new AmbiguousRemoteError(`\`${argv[0]}\` on ${entry.label} did not finish within ${timeoutSeconds} s`));
            }, timeoutSeconds * 1000);
            entry.inflight.set(fail, client);
            client.exec(withOutputMarker(command), (err, stream) => {
                if (err) {
                    // The channel was refused before the command started.
                    fail(new ChannelRefusedError(`cannot open an SSH channel on ${entry.label}: ${err.message}`));
                    return;
                }
                channel = stream;
                const out: Buffer[] = [];
                const errOut: Buffer[] = [];
                stream.on("data", (d: Buffer) => out.push(d));
                stream.stderr.on("data", (d: Buffer) => errOut.push(d));
                stream.on("close", (code: number | null | undefined, signal: string | undefined) => {
                    if (code === null || code === undefined) {
                        if (signal === undefined) {
                            fail(new AmbiguousRemoteError(`\`${argv[0]}\` on ${entry.label} ended without an exit status (connection lost?)`));
                            return;
                        }
                    }
                    finish(() => resolve({
                        command,
                        code: typeof code === "number" ? code : -1,
                        signal: signal ?? "",
                        stdout: afterOutputMarker(Buffer.concat(out).toString("utf8")),
                        stderr: afterOutputMarker(Buffer.concat(errOut).toString("utf8")),
                    }));
                });
                stream.end(options.stdin ?? undefined);
            });
        });
    } finally {
        releaseChannel(entry);
    }
}

/** Closes every pooled connection (tests and benchmarks; the provider process is simply killed). */
export function closeAllConnections(): void {
    for (const entry of sshPool().entries.values()) {
        if (entry.idleTimer !== undefined) {
            clearTimeout(entry.idleTimer);
        }
        entry.client?.end();
        entry.client = undefined;
    }
    sshPool().entries.clear();
}

/**
 * The "openssh" transport: the system ssh client through a ControlMaster socket.
 * ssh exits 255 for its own failures; stderr tells a failed login (nothing ran)
 * from a dropped connection (the command may have run).
 */
export async function runOpenSsh(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    const fs = require("node:fs") as typeof import("node:fs");
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    const stats = sshPool().stats;
    stats.commands[argv[0]] = (stats.commands[argv[0]] ?? 0) + 1;
    const controlPath = (conn.controlPath ?? "~/.ssh/sparc-cm-%C").replace(/^~\//, `${os.homedir()}/`);
    fs.mkdirSync(path.dirname(controlPath), { recursive: true, mode: 0o700 });
    const full = sshArgv({
        host: conn.host,
        port: conn.port ?? 22,
        user: conn.user,
        hostKey: conn.hostKey ?? "",
        insecureIgnoreHostKey: conn.insecureIgnoreHostKey === true,
        identityFile: conn.identityFile ?? "",
        controlPath,
        controlPersistSeconds: 600,
    }, argv);
    const env: NodeJS.ProcessEnv = { ...process.env };
    const answers = conn.keyboardInteractiveAnswers ?? [];
    let askpass: string | undefined;
    if (answers.length > 0) {
        // Duo's keyboard-interactive prompt without a terminal: ssh asks this script, which
        // prints the answer from its environment (never from its command line).
        askpass = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sparc-askpass-")), "askpass");
        fs.writeFileSync(askpass, "#!/bin/sh\nprintf '%s\\n' \"$SPARC_ASKPASS_ANSWER\"\n", { mode: 0o700 });
        Object.assign(env, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", SPARC_ASKPASS_ANSWER: answers[0], DISPLAY: env.DISPLAY ?? ":0" });
    } else {
        full.splice(1, 0, "-o", "BatchMode=yes");
    }
    const key = connectionLabel(conn);
    try {
        return await new Promise<RemoteResult>((resolve, reject) => {
            const child = spawn(full[0], full.slice(1), { env, stdio: ["pipe", "pipe", "pipe"] });
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            const timeoutSeconds = conn.commandTimeoutSeconds ?? options.timeoutSeconds ?? 120;
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
                    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
                        reject(new SshConnectError(`connection to ${key} refused: the server's host key does not match connection.hostKey. ` +
                            "If the cluster's key really changed, compare it with the site's published fingerprints, then update connection.hostKey.", false));
                        return;
                    }
                    if (/Permission denied|Connection refused|Could not resolve hostname|No route to host|Connection timed out/.test(stderr)) {
                        reject(new SshConnectError(`connection to ${key} failed: ${stderr.trim()}`, !/Permission denied/.test(stderr)));
                        return;
                    }
                    reject(new AmbiguousRemoteError(`ssh to ${key} failed while \`${argv[0]}\` may have been running: ${stderr.trim()}`));
                    return;
                }
                resolve({
                    command: shJoin(argv),
                    code: code ?? -1,
                    signal: signal ?? "",
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr,
                });
            });
            child.stdin.end(options.stdin ?? "");
        });
    } finally {
        if (askpass !== undefined) {
            fs.rmSync(path.dirname(askpass), { recursive: true, force: true });
        }
    }
}
