// What both transports share: the connection settings, the process-wide pool, how a connection
// is keyed and named, the errors that tell "did not run" from "may have run", and the output
// marker. The transports are ssh2.ts (in-process, pooled) and opensshTransport.ts (the system ssh with one
// ControlMaster); remote.ts dispatches between them.
//
// Runtime libraries are require()d inside function bodies (the providers' rule), and the pool
// lives on globalThis: every loaded copy of these modules shares one pool, one login per host.
import type { PoolEntry } from "./ssh2";
import type { OpenSshMaster } from "./opensshTransport";
import { hostKeyBlobs } from "./hostKey";
import type { ConnectionMessages } from "./keyNames";
import { SHARED_GLOBALS } from "../legacy";

/** How the provider reaches the cluster's login node. */
export interface SshConnection {
    host: string;
    /** Default 22. */
    port?: number;
    user: string;
    /** OpenSSH private key text. Use a secret; never logged, never stored in plaintext. */
    privateKey?: string;
    /** Passphrase of `privateKey`. */
    passphrase?: string;
    /** Path of the ssh-agent socket; default $SSH_AUTH_SOCK when no privateKey is given. */
    agentSocket?: string;
    /**
     * The server's public host key as in a known_hosts / .pub line: "ssh-ed25519 AAAA..." (the key type is optional).
     * Required unless insecureIgnoreHostKey is true.
     */
    hostKey?: string;
    /** Skip host-key checking. Only for throwaway test clusters. */
    insecureIgnoreHostKey?: boolean;
    /**
     * Answers for the second factor's keyboard-interactive prompts (Duo MFA: "push", "1", a passcode), in order.
     * Given only to prompts matching mfaPromptPattern; a password or passphrase prompt fails the login instead.
     */
    keyboardInteractiveAnswers?: string[];
    /** Which prompts are the second factor (case-insensitive regex, POSIX ERE syntax); default DEFAULT_MFA_PROMPT_PATTERN. */
    mfaPromptPattern?: string;
    /**
     * Reach this host through another one (a jump host, e.g. HiPerGator for a PubApps instance): its
     * connection is opened (one login, one second factor) and pooled first, and this one is tunnelled
     * through it (ssh2: a direct-tcpip channel; openssh: ProxyCommand `ssh -W` through its master).
     */
    jump?: SshConnection;
    /** Dial attempts before giving up (default 3). */
    dialAttempts?: number;
    /** Bound on one whole dial (TCP connect, key exchange, authentication), in seconds (default 20). */
    dialTimeoutSeconds?: number;
    /**
     * Bound on remote commands that have no bound of their own, in seconds: it replaces a caller's
     * default (60 s for Slurm queries, 120 s for sbatch), never a bound the caller set explicitly (a
     * RemoteCommand's timeoutSeconds, a readyCheck's). A command past its bound has an unknown outcome.
     */
    commandTimeoutSeconds?: number;
    /**
     * "ssh2" (default): a pooled in-process connection. "openssh": run the system `ssh` with a
     * ControlMaster socket, honouring ~/.ssh/config (ProxyJump, ...) and sharing one login with
     * every other ssh/scp of the run, so HiPerGator's Duo prompt comes once.
     */
    transport?: "ssh2" | "openssh";
    /**
     * openssh transport: the name given to ssh instead of host, e.g. a ~/.ssh/config alias such as "cluster", so the
     * user's Host block (ProxyJump, User, ControlPath...) applies in full; host stays the resolved name.
     */
    hostAlias?: string;
    /**
     * openssh transport: private key file ("" or absent = agent / ~/.ssh/config); an encrypted one is unlocked with passphrase.
     */
    identityFile?: string;
    /**
     * openssh transport: where the user's own master is looked for (default "~/.ssh/slurm-cm-%C"); one that
     * answers there is used. Otherwise this process starts its own, listening in its run directory.
     */
    controlPath?: string;
    /**
     * Text for error messages only (what the calling program's users call each setting, a site's fix for a
     * password prompt): never compared by diff, never part of the pool key, never sent anywhere.
     */
    messages?: ConnectionMessages;
}

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
    /** Bound on the whole command, in seconds, set for this command (e.g. an upload's): nothing overrides it. */
    timeoutSeconds?: number;
    /** The caller's usual bound for this kind of command, in seconds: connection.commandTimeoutSeconds replaces it. */
    defaultTimeoutSeconds?: number;
}

/** Bound on one command when neither the caller nor connection.commandTimeoutSeconds gives one. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 120;

/**
 * The bound on one command: the caller's explicit timeoutSeconds, else connection.commandTimeoutSeconds,
 * else the caller's defaultTimeoutSeconds, else 120 s. An explicit bound wins because it is set for
 * what that command needs (an upload of a large archive); a connection-wide one would cut it, and a
 * command cut short has an unknown outcome.
 */
export function commandBoundSeconds(conn: SshConnection, options: RunOptions): number {
    return options.timeoutSeconds ?? conn.commandTimeoutSeconds ?? options.defaultTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS;
}

/** Counters read by the benchmark and the tests. */
export interface SshStats {
    /** Logins made: ssh2 handshakes plus OpenSSH masters started. */
    handshakes: number;
    commands: Record<string, number>;
}

export interface PoolState {
    /** ssh2 transport: one connection per connection key. */
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

/** The process-wide pool (globalThis, so every loaded copy of the providers shares it). */
export function sshPool(): PoolState {
    // Under the frozen providers' key (legacy.ts): such a copy in the same process shares the pool.
    const g = globalThis as unknown as Record<typeof SHARED_GLOBALS.sshPool, PoolState | undefined>;
    const pool = (g[SHARED_GLOBALS.sshPool] ??= {
        entries: new Map(),
        stats: { handshakes: 0, commands: {} },
        maxChannels: 4,
        idleSeconds: 0,
        masters: new Map(),
    });
    pool.masters ??= new Map();
    return pool;
}

/** Counts one command by its program name for the benchmarks (the program run by `env NAME=value ...`, not env). */
export function countCommand(argv: readonly string[]): void {
    const stats = sshPool().stats;
    const program = argv[0] === "env" ? (argv.slice(1).find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) ?? "env") : argv[0];
    stats.commands[program] = (stats.commands[program] ?? 0) + 1;
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
    const g = globalThis as unknown as { __slurmProviderKeySalt?: Buffer };
    g.__slurmProviderKeySalt ??= crypto.randomBytes(32);
    const identity = JSON.stringify([
        conn.transport ?? "ssh2",
        conn.host,
        conn.port ?? 22,
        conn.user,
        conn.hostKey === undefined ? null : hostKeyBlobs(conn.hostKey),
        conn.insecureIgnoreHostKey === true,
        conn.privateKey ?? null,
        conn.passphrase ?? null,
        conn.agentSocket ?? null,
        conn.keyboardInteractiveAnswers ?? [],
        conn.identityFile ?? null,
        conn.controlPath ?? null,
        conn.mfaPromptPattern ?? null,
        conn.hostAlias ?? null,
        // Through another host is another path to the peer: its own connection.
        conn.jump === undefined ? null : connectionKey(conn.jump),
    ]);
    const digest = crypto.createHmac("sha256", g.__slurmProviderKeySalt).update(identity).digest("hex").slice(0, 32);
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
    constructor(
        message: string,
        readonly retryable: boolean,
    ) {
        super(message);
        this.name = "SshConnectError";
    }
}

/** The server refused to open a channel (e.g. sshd's MaxSessions); nothing ran. */
export class ChannelRefusedError extends SshConnectError {
    constructor(message: string) {
        super(message, true);
        this.name = "ChannelRefusedError";
    }
}

/**
 * Runs `attempt` again while the server refuses the session (ChannelRefusedError: nothing ran, so
 * trying again is safe), up to 5 tries with growing pauses; both transports use it.
 */
export async function retryRefusedChannel<T>(attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
        try {
            return await attempt();
        } catch (err) {
            if (!(err instanceof ChannelRefusedError) || tries >= 5) {
                throw err;
            }
        }
        await new Promise((r) => setTimeout(r, 250 * tries));
    }
}

/** Printed just before the command runs, on stdout and stderr. */
export const OUTPUT_MARKER = "__slurm_provider_output_follows__";

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
