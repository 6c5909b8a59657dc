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
import { controlArgv, knownHostsLine, masterArgv, muxArgv, proxyThroughMaster, type OpenSshTarget } from "./openssh";
import { DEFAULT_MFA_PROMPT_PATTERN, classifyPrompt, refusedPromptMessage } from "./prompts";
import { hostKeyAlgorithmsFor, parsePinnedHostKey } from "./hostKey";

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
    /** A local file streamed to the command's stdin (an upload through the same connection, no scp/sftp login). */
    stdinFile?: string;
    /** Bound on the whole command, in seconds (default 120). */
    timeoutSeconds?: number;
}

/** Counters read by the benchmark and the tests. */
export interface SshStats {
    /** Logins made: ssh2 handshakes plus OpenSSH masters started. */
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
    /**
     * Close a connection after this many idle seconds; 0 = never. Default 0: every login may cost a Duo
     * prompt, and the engine holds this process for the whole run (it is killed at the end, which closes
     * the connection), so an idle close would only buy a second prompt. Keepalives keep it up meanwhile.
     */
    idleSeconds: number;
    /** openssh transport: one master per connection key. */
    masters: Map<string, OpenSshMaster>;
}

/** An OpenSSH ControlMaster this process uses: started by it (ours) or found running (the user's). */
interface OpenSshMaster {
    target: OpenSshTarget;
    ours: boolean;
    /** The foreground `ssh -M -N` child (ours only). */
    child: import("node:child_process").ChildProcess | undefined;
    /** Kills the master when this process dies, however it dies (its stdin is our pipe). */
    reaper: import("node:child_process").ChildProcess | undefined;
    /** Holds the run's known_hosts file and askpass helper. */
    dir: string;
    ready: Promise<void>;
    /** Sessions open through the master, capped like the ssh2 pool's channels (sshd's MaxSessions counts them). */
    active: number;
    waiting: (() => void)[];
}

/** The process-wide pool (globalThis, so every deserialized copy of the provider shares it). */
export function sshPool(): PoolState {
    const g = globalThis as unknown as { __sparcSlurmSsh?: PoolState };
    g.__sparcSlurmSsh ??= {
        entries: new Map(),
        stats: { handshakes: 0, commands: {} },
        maxChannels: 4,
        idleSeconds: 0,
        masters: new Map(),
    };
    g.__sparcSlurmSsh.masters ??= new Map();
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
        conn.mfaPromptPattern ?? null, conn.hostAlias ?? null,
        // Through another host is another path to the peer: its own connection.
        conn.jump === undefined ? null : connectionKey(conn.jump),
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

function dialOnce(conn: SshConnection, sock?: import("node:stream").Duplex): Promise<Client> {
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
        // The second factor may wait for a person (a Duo push): the bound allows for it.
        const seconds = dialBoundSeconds(conn) + secondFactorAllowanceSeconds(conn);
        bound = setTimeout(() => reject(new SshConnectError(
            `connection to ${label} did not complete (TCP, key exchange and authentication) within ${seconds} s ` +
            `(connection.dialTimeoutSeconds${secondFactorAllowanceSeconds(conn) > 0 ? `, plus ${secondFactorAllowanceSeconds(conn)} s for the second factor` : ""})`, true)), seconds * 1000);
        let refusedPrompt: SshConnectError | undefined;
        let answered = 0;
        // Offer only the pinned key's type: otherwise the server may present another of its keys
        // (ed25519 first) and a correctly pinned ECDSA or RSA key looks like a mismatch.
        const pinned = conn.hostKey === undefined || conn.insecureIgnoreHostKey === true ? undefined : parsePinnedHostKey(conn.hostKey);
        // parsePinnedHostKey also reads a known_hosts line ("[host]:port type blob").
        const expected = conn.hostKey === undefined ? undefined : (pinned?.blob ?? hostKeyBlob(conn.hostKey));
        const config: ConnectConfig = {
            host: conn.host,
            port: conn.port ?? 22,
            username: conn.user,
            ...(sock !== undefined ? { sock } : {}),
            readyTimeout: seconds * 1000,
            keepaliveInterval: 15_000,
            keepaliveCountMax: 4,
            ...(pinned !== undefined ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(pinned.type) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] } } : {}),
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
        const answers = secondFactorAnswers(conn);
        if (answers.length > 0) {
            config.tryKeyboard = true;
            const pattern = conn.mfaPromptPattern ?? DEFAULT_MFA_PROMPT_PATTERN;
            client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
                // Only second-factor prompts get an answer; anything else ends the login at once.
                for (const p of prompts) {
                    const verdict = classifyPrompt(p.prompt, pattern);
                    if (verdict !== "answer") {
                        refusedPrompt = new SshConnectError(refusedPromptMessage(`connection to ${connectionLabel(conn)}`, p.prompt, verdict, pattern), false);
                        client.end();
                        reject(refusedPrompt);
                        return;
                    }
                }
                answered += prompts.length;
                finish(prompts.map((_p, i) => answers[Math.min(i, answers.length - 1)]));
            });
        }
        client.once("ready", () => {
            stats.handshakes += 1;
            resolve(client);
        });
        client.once("close", () => reject(new SshConnectError(`connection to ${label} was closed before login completed`, true)));
        client.once("error", (err: Error & { level?: string }) => {
            if (refusedPrompt !== undefined) {
                reject(refusedPrompt);
            } else if (hostKeyMismatch) {
                reject(new SshConnectError(
                    `connection to ${label} refused: the server's host key does not match connection.hostKey. ` +
                    "If the cluster's key really changed, compare it with the site's published fingerprints, then update connection.hostKey.", false));
            } else if (err.level === "client-authentication" && answered > 0) {
                // Not retried: each try is another Duo prompt, and a one-time code cannot be used twice.
                reject(new SshConnectError(
                    `connection to ${connectionLabel(conn)}: the key was accepted but the server refused the second-factor answer ` +
                    `(${err.message}); not retried. Check hpgMfaAnswers (connection.keyboardInteractiveAnswers): Duo "1"/"push", ` +
                    "or a fresh passcode (a passcode works once).", false));
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

/**
 * The second-factor answers for a login: SPARC_HPG_MFA_ANSWERS (comma-separated) in this process's
 * environment wins over those stored with the resource, so a one-time passcode typed for this run
 * also serves refresh and destroy (which otherwise replay the answer stored in state, already used).
 */
export function secondFactorAnswers(conn: SshConnection, env: NodeJS.ProcessEnv = process.env): string[] {
    const fromEnv = (env.SPARC_HPG_MFA_ANSWERS ?? "").split(",").filter((a) => a !== "");
    return fromEnv.length > 0 ? fromEnv : (conn.keyboardInteractiveAnswers ?? []);
}

/** Extra seconds a login may take when a second factor is answered: a Duo push waits for a person (Duo gives up after 60 s). */
export function secondFactorAllowanceSeconds(conn: SshConnection): number {
    return secondFactorAnswers(conn).length > 0 ? 75 : 0;
}

/** A TCP stream to conn's host:port opened through the jump host's pooled (already authenticated) connection. */
async function jumpSocket(conn: SshConnection, jump: SshConnection): Promise<import("node:stream").Duplex> {
    const jumpClient = await clientFor(jump, entryFor(jump));
    return new Promise((resolve, reject) => {
        jumpClient.forwardOut("127.0.0.1", 0, conn.host, conn.port ?? 22, (err, stream) => {
            if (err) {
                reject(new SshConnectError(`cannot reach ${connectionLabel(conn)} through ${connectionLabel(jump)}: ${err.message}`, true));
                return;
            }
            resolve(stream);
        });
    });
}

async function dial(conn: SshConnection): Promise<Client> {
    const attempts = Math.max(1, conn.dialAttempts ?? 3);
    let last: Error | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            return await dialOnce(conn, conn.jump === undefined ? undefined : await jumpSocket(conn, conn.jump));
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
    } else if (entry.active === 0 && sshPool().idleSeconds > 0) {
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
                if (options.stdinFile !== undefined) {
                    const fs = require("node:fs") as typeof import("node:fs");
                    const file = fs.createReadStream(options.stdinFile);
                    file.on("error", (e: Error) => fail(new AmbiguousRemoteError(`reading ${options.stdinFile} for \`${argv[0]}\` on ${entry.label} failed: ${e.message}`)));
                    file.pipe(stream);
                } else {
                    stream.end(options.stdin ?? undefined);
                }
            });
        });
    } finally {
        releaseChannel(entry);
    }
}

/** Closes every pooled connection and stops the OpenSSH masters this process started (tests and benchmarks; the provider process is simply killed, and its reaper stops its masters). */
export function closeAllConnections(): void {
    for (const entry of sshPool().entries.values()) {
        if (entry.idleTimer !== undefined) {
            clearTimeout(entry.idleTimer);
        }
        entry.client?.end();
        entry.client = undefined;
    }
    sshPool().entries.clear();
    for (const master of sshPool().masters.values()) {
        stopMaster(master);
    }
    sshPool().masters.clear();
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
# sparc-deploy askpass: answers the second factor only.
line=$(printf '%s\\n' "$1" | awk 'NF { l = $0 } END { print l }')
if printf '%s' "$line" | grep -Eiq 'pass(word|phrase)'; then
  if printf '%s' "$line" | grep -Eiq 'passphrase for' && [ -n "\${SPARC_SSH_KEY_PASSPHRASE:-}" ]; then
    printf '%s\\n' "$SPARC_SSH_KEY_PASSPHRASE"; exit 0
  fi
  # Stop ssh itself: exiting 1 alone makes it send an empty answer (a failed password try at the server).
  printf 'sparc-deploy-refused-prompt: %s\\n' "$line" >&2; kill -TERM "$PPID" 2>/dev/null; exit 1
fi
if [ -n "\${SPARC_SSH_MFA_ANSWER:-}" ] && printf '%s' "$line" | grep -Eiq -- "$SPARC_SSH_MFA_PATTERN"; then
  echo 'sparc-deploy-answered-second-factor' >&2
  printf '%s\\n' "$SPARC_SSH_MFA_ANSWER"; exit 0
fi
printf 'sparc-deploy-refused-prompt: %s\\n' "$line" >&2; kill -TERM "$PPID" 2>/dev/null; exit 1
`;

/** Turns a failed master login's stderr into the error a user can act on. */
export function masterLoginError(label: string, stderr: string, pattern: string): SshConnectError {
    const refused = /sparc-deploy-refused-prompt: (.*)/.exec(stderr);
    if (refused !== null) {
        return new SshConnectError(refusedPromptMessage(`connection to ${label}`, refused[1], classifyPrompt(refused[1], pattern), pattern), false);
    }
    const plain = stderr.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("sparc-deploy-")).join("; ");
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
        return new SshConnectError(`connection to ${label} refused: the server's host key does not match connection.hostKey (hpgHostKey). ` +
            "If the cluster's key really changed, compare it with the site's published fingerprints, then update it.", false);
    }
    if (/Permission denied/.test(stderr) && stderr.includes("sparc-deploy-answered-second-factor")) {
        return new SshConnectError(`connection to ${label}: the key was accepted but the server refused the second-factor answer (${plain}); ` +
            "not retried. Check hpgMfaAnswers (connection.keyboardInteractiveAnswers): Duo \"1\"/\"push\", or a fresh passcode (a passcode works once).", false);
    }
    if (/Permission denied/.test(stderr)) {
        return new SshConnectError(`connection to ${label}: authentication failed (${plain}). Check the user, the key (hpgIdentityFile or ssh-agent) ` +
            "and, with Duo, hpgMfaAnswers; on HiPerGator key-based SSH is port 2222.", false);
    }
    return new SshConnectError(`connection to ${label} failed: ${plain === "" ? "ssh exited before logging in" : plain}`,
        /Connection refused|Connection timed out|No route to host|Could not resolve|Connection closed|reset by peer|timed out/i.test(stderr));
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
        controlPath: (conn.controlPath ?? "~/.ssh/sparc-cm-%C").replace(/^~\//, `${os.homedir()}/`),
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
    const g = globalThis as unknown as { __sparcSshSwept?: boolean };
    if (g.__sparcSshSwept === true) {
        return;
    }
    g.__sparcSshSwept = true;
    for (const name of fs.readdirSync(os.tmpdir())) {
        const owner = /^sparc-ssh-(\d+)-/.exec(name);
        if (owner === null || Number(owner[1]) === process.pid) {
            continue;
        }
        try {
            process.kill(Number(owner[1]), 0);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ESRCH") {
                fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
            }
        }
    }
}

/**
 * The one OpenSSH login of this process for conn: a master already listening on the ControlPath
 * (the user's own, e.g. `ssh -fNM hpg`) is used and left alone; otherwise one is started
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
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    sweepStaleRunDirs();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sparc-ssh-${process.pid}-`));
    const master: OpenSshMaster = { target: openSshTargetOf(conn, dir), ours: false, child: undefined, reaper: undefined, dir, ready: Promise.resolve(), active: 0, waiting: [] };
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
        fs.mkdirSync(path.dirname(master.target.controlPath), { recursive: true, mode: 0o700 });
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
    if ((await runLocal(controlArgv(master.target, "check"), process.env, 15)).code === 0) {
        master.ours = false;
        return;
    }
    const pattern = conn.mfaPromptPattern ?? DEFAULT_MFA_PROMPT_PATTERN;
    const askpass = path.join(master.dir, "askpass");
    fs.writeFileSync(askpass, ASKPASS_SCRIPT, { mode: 0o700 });
    // Always through the askpass (even without answers): a prompt nobody configured fails with a clear error instead of hanging.
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: "force",
        DISPLAY: process.env.DISPLAY ?? ":0",
        SPARC_SSH_MFA_ANSWER: secondFactorAnswers(conn)[0] ?? "",
        SPARC_SSH_MFA_PATTERN: pattern,
        SPARC_SSH_KEY_PASSPHRASE: conn.passphrase ?? "",
    };
    const connectSeconds = conn.dialTimeoutSeconds ?? 20;
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
    const reaper = spawn("sh", ["-c", "read _ignored; kill \"$1\" 2>/dev/null; rm -rf \"$2\"", "sparc-ssh-reaper", String(child.pid), master.dir], { stdio: ["pipe", "ignore", "ignore"] });
    reaper.stdin?.on("error", () => undefined);
    master.reaper = reaper;
    master.ours = true;
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const started = Date.now();
    for (;;) {
        const dead = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
        if (dead) {
            throw masterLoginError(label, Buffer.concat(errOut).toString("utf8"), pattern);
        }
        if ((await runLocal(controlArgv(master.target, "check"), process.env, 15)).code === 0) {
            break;
        }
        if (Date.now() - started > boundSeconds * 1000) {
            child.kill("SIGTERM");
            throw new SshConnectError(`connection to ${label}: the login did not complete within ${boundSeconds} s ` +
                `(connection.dialTimeoutSeconds, plus ${secondFactorAllowanceSeconds(conn)} s for the second factor)`, true);
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

/**
 * The "openssh" transport: the system ssh client, every command a multiplexed client of
 * this process's one master (openSshMaster). ssh exits 255 for its own failures; stderr
 * tells a failed login (nothing ran) from a dropped connection (the command may have run).
 */
export async function runOpenSsh(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    // A refused session never started the command, so trying again is safe (as for ssh2's refused channels).
    for (let attempt = 1; ; attempt++) {
        const master = await openSshMaster(conn);
        while (master.active >= sshPool().maxChannels) {
            await new Promise<void>((resolve) => master.waiting.push(resolve));
        }
        master.active += 1;
        try {
            return await runOpenSshOnce(conn, master, argv, options);
        } catch (err) {
            if (!(err instanceof ChannelRefusedError) || attempt >= 5) {
                throw err;
            }
        } finally {
            master.active -= 1;
            master.waiting.shift()?.();
        }
        await new Promise((r) => setTimeout(r, 250 * attempt));
    }
}

async function runOpenSshOnce(conn: SshConnection, master: OpenSshMaster, argv: readonly string[], options: RunOptions): Promise<RemoteResult> {
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    const fs = require("node:fs") as typeof import("node:fs");
    const stats = sshPool().stats;
    stats.commands[argv[0]] = (stats.commands[argv[0]] ?? 0) + 1;
    // The same output marker as the ssh2 transport: a login shell that prints cannot garble stdout.
    const full = [...muxArgv(master.target, argv).slice(0, -1), withOutputMarker(shJoin(argv))];
    const key = connectionLabel(conn);
    return new Promise<RemoteResult>((resolve, reject) => {
        const child = spawn(full[0], full.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
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
                if (/Session open refused|session request failed/.test(stderr)) {
                    reject(new ChannelRefusedError(`the server refused a session on the shared SSH connection to ${key}: ${stderr.trim()}`));
                    return;
                }
                if (/Control socket connect|ControlSocket .* already exists|mux_client/.test(stderr)) {
                    // The master is gone, so nothing was sent through it; BatchMode kept ssh from logging in by itself.
                    reject(new SshConnectError(`the shared SSH connection to ${key} was lost before \`${argv[0]}\` started: ${stderr.trim()}`, true));
                    return;
                }
                if (/Permission denied|Connection refused|Could not resolve hostname|No route to host|Connection timed out|Host key verification failed/.test(stderr)) {
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
            file.pipe(child.stdin);
        } else {
            child.stdin.end(options.stdin ?? "");
        }
    });
}
