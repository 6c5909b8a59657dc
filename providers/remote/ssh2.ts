// The "ssh2" transport: one pooled in-process connection per user@host:port (and credentials),
// shared by every SlurmJob and RemoteCommand in the provider process. HiPerGator asks for Duo
// MFA at each login, so one `pulumi up` must cost one handshake per host, not one per resource.
//
// Runtime libraries (ssh2, node:fs) are require()d at call time; the pool lives on globalThis
// (connection.ts), so every loaded copy of this module shares it.
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { shJoin } from "./quote";
import {
    DEFAULT_MFA_PROMPT_PATTERN,
    classifyPrompt,
    refusedAnswerMessage,
    refusedPromptMessage,
    secondFactorAllowanceSeconds,
    secondFactorAnswers,
} from "./prompts";
import { progressLine, secondFactorNotice, uploadProgress } from "./progress";
import { keyToSet } from "./keyNames";
import { hostKeyAlgorithmsForAll, hostKeyBlob, hostKeyMismatchMessage, parsePinnedHostKeys } from "./hostKey";
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

/** One ssh2 connection of the pool. */
export interface PoolEntry {
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
    /** Set while the connection is being asked whether it still answers (after a command timed out): new commands wait for the verdict. */
    probing?: Promise<void>;
}

/**
 * One login. Through a jump host (jumpClient: its pooled, already authenticated connection) the
 * forwarded channel is opened inside the same bound as the key exchange and authentication: a jump
 * host that logs us in and then never answers the forward must not hang the dial.
 */
function dialOnce(conn: SshConnection, jumpClient?: Client): Promise<Client> {
    const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
    const stats = sshPool().stats;
    const label = connectionLabel(conn);
    // Each attempt is a new login, and with an answer configured a new Duo push: say so first.
    const notice = secondFactorNotice(conn);
    if (notice !== undefined) {
        progressLine(undefined, notice);
    }
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
                // ssh2 may still emit "error" for an abandoned client (its own readyTimeout, then
                // "Connection lost before handshake" when the socket closes): with no listener left
                // that would be an uncaught exception in the provider process.
                client.on("error", () => undefined);
                client.end();
                rejectPromise(err);
            }
        };
        // ssh2's readyTimeout is cleared when the socket closes, and a close before "ready"
        // emits no "error": both the bound and the close handler below are needed, or a
        // connection cut during the handshake leaves this promise pending forever.
        // The second factor may wait for a person (a Duo push): the bound allows for it.
        const seconds = dialBoundSeconds(conn) + secondFactorAllowanceSeconds(conn);
        bound = setTimeout(
            () =>
                reject(
                    new SshConnectError(
                        `connection to ${label} did not complete (TCP, key exchange and authentication) within ${seconds} s ` +
                            `(connection.dialTimeoutSeconds${secondFactorAllowanceSeconds(conn) > 0 ? `, plus ${secondFactorAllowanceSeconds(conn)} s for the second factor` : ""})`,
                        true,
                    ),
                ),
            seconds * 1000,
        );
        let refusedPrompt: SshConnectError | undefined;
        let answered = 0;
        // Offer only the pinned key's type: otherwise the server may present another of its keys
        // (ed25519 first) and a correctly pinned ECDSA or RSA key looks like a mismatch.
        const pinned = conn.hostKey === undefined || conn.insecureIgnoreHostKey === true ? undefined : parsePinnedHostKeys(conn.hostKey);
        // parsePinnedHostKeys also reads known_hosts lines ("[host]:port type blob"); several = any of them.
        const expected = conn.hostKey === undefined ? [] : (pinned?.map((k) => k.blob) ?? [hostKeyBlob(conn.hostKey)]);
        const config: ConnectConfig = {
            host: conn.host,
            port: conn.port ?? 22,
            username: conn.user,
            readyTimeout: seconds * 1000,
            keepaliveInterval: 15_000,
            keepaliveCountMax: 4,
            ...(pinned !== undefined
                ? { algorithms: { serverHostKey: hostKeyAlgorithmsForAll(pinned) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] } }
                : {}),
            hostVerifier: (key: Buffer) => {
                if (conn.insecureIgnoreHostKey === true) {
                    return true;
                }
                hostKeyMismatch = !expected.includes(key.toString("base64"));
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
                reject(
                    new SshConnectError(
                        `connection to ${label}: no privateKey is set and no SSH agent is available (SSH_AUTH_SOCK is empty). ` +
                            "Set connection.privateKey (as a secret) or start ssh-agent and add your key.",
                        false,
                    ),
                );
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
                        refusedPrompt = new SshConnectError(
                            refusedPromptMessage(`connection to ${connectionLabel(conn)}`, p.prompt, verdict, pattern, conn),
                            false,
                        );
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
                reject(new SshConnectError(hostKeyMismatchMessage(label, conn), false));
            } else if (err.level === "client-authentication" && answered > 0) {
                // Not retried: each try is another Duo prompt, and a one-time code cannot be used twice.
                reject(new SshConnectError(refusedAnswerMessage(label, err.message, conn), false));
            } else if (err.level === "client-authentication") {
                reject(
                    new SshConnectError(
                        `connection to ${label}: authentication failed (${err.message}). ` +
                            `Check ${keyToSet(conn, "user")} and the key (${keyToSet(conn, "privateKey")} or ssh-agent); with a second factor set ${keyToSet(conn, "keyboardInteractiveAnswers")}.`,
                        false,
                    ),
                );
            } else {
                reject(new SshConnectError(`connection to ${label} failed: ${err.message}`, true));
            }
        });
        const connect = (sock?: import("node:stream").Duplex) => {
            if (settled) {
                sock?.destroy();
                return;
            }
            try {
                client.connect(sock === undefined ? config : { ...config, sock });
            } catch (err) {
                // ssh2 parses the key up front: a wrong passphrase or a malformed key lands here.
                reject(
                    new SshConnectError(
                        `connection to ${label}: cannot use connection.privateKey ` + `(${(err as Error).message}); check the key and connection.passphrase`,
                        false,
                    ),
                );
            }
        };
        if (jumpClient === undefined || conn.jump === undefined) {
            connect();
        } else {
            const jumpLabel = connectionLabel(conn.jump);
            jumpClient.forwardOut("127.0.0.1", 0, conn.host, conn.port ?? 22, (err, stream) => {
                if (err) {
                    reject(new SshConnectError(`cannot reach ${label} through ${jumpLabel}: ${err.message}`, true));
                    return;
                }
                connect(stream);
            });
        }
    });
}

async function dial(conn: SshConnection): Promise<Client> {
    const attempts = Math.max(1, conn.dialAttempts ?? 3);
    let last: Error | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            // The jump host's own login (and second factor) has its own bound; the forward is inside ours.
            const jumpClient = conn.jump === undefined ? undefined : await clientFor(conn.jump, entryFor(conn.jump));
            return await dialOnce(conn, jumpClient);
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
        entry = {
            key,
            label: connectionLabel(conn),
            client: undefined,
            connecting: undefined,
            active: 0,
            waiting: [],
            idleTimer: undefined,
            inflight: new Map(),
        };
        pool.entries.set(key, entry);
    }
    return entry;
}

async function clientFor(conn: SshConnection, entry: PoolEntry): Promise<Client> {
    if (entry.probing !== undefined) {
        await entry.probing;
    }
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

/** Runs argv over the pooled ssh2 connection (see remote.ts's runRemote); a refused channel is tried again. */
export async function runSsh2(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    return retryRefusedChannel(() => runOnce(conn, argv, options));
}

async function runOnce(conn: SshConnection, argv: readonly string[], options: RunOptions): Promise<RemoteResult> {
    const command = shJoin(argv);
    const entry = entryFor(conn);
    await acquireChannel(entry);
    try {
        const client = await clientFor(conn, entry);
        countCommand(argv);
        return await new Promise<RemoteResult>((resolve, reject) => {
            let settled = false;
            let timedOut = false;
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
            fail = (err: Error) =>
                finish(() => {
                    channel?.close();
                    reject(err);
                });
            const timeoutSeconds = commandBoundSeconds(conn, options);
            timer = setTimeout(() => {
                // Only this command's channel is closed (fail does it). The connection may be the
                // reason (a network that went silent; keepalive notices only after a minute): it is
                // asked once, and dropped only when it does not answer, so the other commands on it
                // and the next ones keep the login (a new one is a new Duo prompt).
                timedOut = true;
                fail(new AmbiguousRemoteError(`\`${argv[0]}\` on ${entry.label} did not finish within ${timeoutSeconds} s`));
                dropIfSilent(entry, client);
            }, timeoutSeconds * 1000);
            entry.inflight.set(fail, client);
            client.exec(withOutputMarker(command), (err, stream) => {
                if (err) {
                    // The channel was refused before the command started.
                    fail(new ChannelRefusedError(`cannot open an SSH channel on ${entry.label}: ${err.message}`));
                    return;
                }
                channel = stream;
                if (timedOut) {
                    // The bound passed while the channel was being opened: close it, run nothing more on it.
                    stream.close();
                    return;
                }
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
                    finish(() =>
                        resolve({
                            command,
                            code: typeof code === "number" ? code : -1,
                            signal: signal ?? "",
                            stdout: afterOutputMarker(Buffer.concat(out).toString("utf8")),
                            stderr: afterOutputMarker(Buffer.concat(errOut).toString("utf8")),
                        }),
                    );
                });
                if (options.stdinFile !== undefined) {
                    const fs = require("node:fs") as typeof import("node:fs");
                    const file = fs.createReadStream(options.stdinFile);
                    file.on("error", (e: Error) =>
                        fail(new AmbiguousRemoteError(`reading ${options.stdinFile} for \`${argv[0]}\` on ${entry.label} failed: ${e.message}`)),
                    );
                    const report = uploadProgress(options.stdinFile, entry.label);
                    let sent = 0;
                    file.on("data", (d: Buffer | string) => report((sent += d.length)));
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

/** How long a connection has to answer after one of its commands timed out, in seconds. */
const PROBE_SECONDS = 10;

/**
 * After a command timed out: asks the connection itself with a global request that sshd answers
 * without starting anything (cancel-tcpip-forward of a forward that does not exist: any reply, even a
 * refusal, shows it works), so a busy login node cannot fake a dead link. No reply within
 * PROBE_SECONDS drops the connection, which fails the commands still on it as "may have run"; new
 * commands wait for the verdict instead of piling onto a dead link.
 */
function dropIfSilent(entry: PoolEntry, client: Client): void {
    if (entry.probing !== undefined || entry.client !== client) {
        return;
    }
    entry.probing = (async () => {
        const answered = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), PROBE_SECONDS * 1000);
            try {
                client.unforwardIn("127.0.0.1", 1, () => {
                    clearTimeout(timer);
                    // A reply, unless it is ssh2 failing the request because the connection closed.
                    resolve(entry.client === client);
                });
            } catch {
                clearTimeout(timer);
                resolve(false);
            }
        });
        if (!answered) {
            if (entry.client === client) {
                entry.client = undefined;
            }
            client.end();
        }
    })().finally(() => {
        entry.probing = undefined;
    });
}

/** Closes every pooled ssh2 connection (tests and benchmarks; the provider process is simply killed). */
export function closeSsh2Connections(): void {
    for (const entry of sshPool().entries.values()) {
        if (entry.idleTimer !== undefined) {
            clearTimeout(entry.idleTimer);
        }
        entry.client?.end();
        entry.client = undefined;
    }
    sshPool().entries.clear();
}
