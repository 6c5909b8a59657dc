// OpenSSH (ssh) command lines for a login node: one ControlMaster connection per run that every
// command goes through as a multiplexed client (one login, one Duo prompt on HiPerGator). Pure: the
// openssh transport (opensshTransport.ts) and the components' own ssh/scp lines are built from these.
import { shJoin } from "./quote";
import { hostKeyAlgorithmsForAll, parsePinnedHostKeys } from "./hostKey";

/** How this machine reaches the login node with OpenSSH. */
export interface OpenSshTarget {
    /** Destination as given to ssh: a host name or a ~/.ssh/config alias (the user's Host block applies in full). */
    host: string;
    /** -p; undefined = the Port of ~/.ssh/config (else 22). */
    port?: number;
    /** -l; "" = the User of ~/.ssh/config (else the local user). */
    user: string;
    /** Pinned key, any type ("ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA...", a bare blob); "" only with insecureIgnoreHostKey. */
    hostKey: string;
    insecureIgnoreHostKey: boolean;
    /** Private key file; "" = ssh-agent or ~/.ssh/config. */
    identityFile: string;
    /** ControlMaster socket path (ssh expands %C etc.). */
    controlPath: string;
    /**
     * known_hosts file written for the run holding knownHostsLine(): a file, not KnownHostsCommand,
     * so OpenSSH older than 8.5 (Ubuntu 20.04, RHEL 8) works the same.
     */
    knownHostsFile: string;
    /** ProxyCommand reaching host through another target's master (a jump host); "" or absent = none. */
    proxyCommand?: string;
}

/**
 * The known_hosts line for the pinned key, named by HostKeyAlias = the destination as given,
 * so it matches whatever HostName, port or ProxyJump the user's ~/.ssh/config resolves to.
 */
/** Where the shared master's socket lives unless configured (%C: ssh's hash of host, port and user). */
export const DEFAULT_CONTROL_PATH = "~/.ssh/slurm-cm-%C";

export function knownHostsLine(t: Pick<OpenSshTarget, "host" | "hostKey">): string {
    const pinned = parsePinnedHostKeys(t.hostKey);
    if (pinned === undefined) {
        throw new Error(
            `host key for ${t.host} is not an OpenSSH public key ("ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA...", "ssh-rsa AAAA..."): ${JSON.stringify(t.hostKey.slice(0, 40))}`,
        );
    }
    // One line per pinned key (a load-balanced name: any of its nodes' keys is accepted).
    return pinned.map((k) => `${t.host} ${k.type} ${k.blob}`).join("\n");
}

/** "user@host" or just the alias when the user comes from ~/.ssh/config. */
export function destination(t: Pick<OpenSshTarget, "host" | "user">): string {
    return t.user === "" ? t.host : `${t.user}@${t.host}`;
}

/** Options shared by every ssh invocation of a target (the same everywhere, so ssh computes the same %C). */
export function openSshOptions(t: OpenSshTarget): string[] {
    const pinned = t.insecureIgnoreHostKey ? undefined : parsePinnedHostKeys(t.hostKey);
    const hostKeyOptions = t.insecureIgnoreHostKey
        ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        : // The key comes from config, not from ~/.ssh/known_hosts: a mismatch refuses the connection.
          [
              "-o",
              "StrictHostKeyChecking=yes",
              "-o",
              `UserKnownHostsFile=${t.knownHostsFile}`,
              "-o",
              "GlobalKnownHostsFile=/dev/null",
              "-o",
              `HostKeyAlias=${t.host}`,
              ...(pinned !== undefined ? ["-o", `HostKeyAlgorithms=${hostKeyAlgorithmsForAll(pinned).join(",")}`] : []),
          ];
    return [
        ...(t.port !== undefined ? ["-p", String(t.port)] : []),
        ...(t.identityFile !== "" ? ["-i", t.identityFile, "-o", "IdentitiesOnly=yes"] : []),
        ...hostKeyOptions,
        ...(t.proxyCommand !== undefined && t.proxyCommand !== "" ? ["-o", `ProxyCommand=${t.proxyCommand}`] : []),
        "-o",
        `ControlPath=${t.controlPath}`,
        // Key, then the second factor; never a password; one try of the second factor (no retry storm).
        "-o",
        "PreferredAuthentications=publickey,keyboard-interactive",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "NumberOfPasswordPrompts=1",
        // Keepalives: an idle wait (a job pending for minutes) must not let a firewall drop the login.
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
        "-o",
        "LogLevel=ERROR",
    ];
}

/**
 * The master: logs in once (key, then the second factor through SSH_ASKPASS), runs nothing,
 * and lives in the foreground as long as the process that started it (ControlPersist=no).
 */
export function masterArgv(t: OpenSshTarget, connectTimeoutSeconds: number): string[] {
    return ["ssh", "-M", "-N", "-o", "ControlPersist=no", "-o", `ConnectTimeout=${connectTimeoutSeconds}`, ...openSshOptions(t), destination(t)];
}

/**
 * Printed (by the ProxyCommand below) when a client could not reach the master's socket: the
 * command was never handed to a master, so nothing ran and logging in again is safe.
 */
export const MASTER_UNREACHABLE_MARKER = "slurm-provider-master-unreachable";

/**
 * A client of the master and nothing else: if the master is gone or refuses, ssh must not open a
 * connection of its own (a ProxyCommand that only prints the marker and ends, first on the line so
 * it wins over a ProxyJump or ProxyCommand from config; BatchMode so it could never prompt anyway).
 */
const MUX_ONLY = ["-o", "ControlMaster=no", "-o", "BatchMode=yes", "-o", `ProxyCommand=sh -c 'echo ${MASTER_UNREACHABLE_MARKER} >&2'`];

/**
 * The longest ControlPath a master can listen on here: the socket address holds sun_path bytes
 * (104 on macOS and the BSDs, 108 on Linux) with its NUL, and OpenSSH first binds a temporary name,
 * the path plus 17 characters (".XXXXXXXXXXXXXXXX"), and renames it.
 */
export function maxControlPathBytes(platform: string = process.platform): number {
    const sunPath = platform === "linux" ? 108 : 104;
    return sunPath - 1 - 17;
}

/**
 * A command through the master. BatchMode: if the master is gone this ssh must fail at once
 * instead of logging in again by itself (a new login is a new Duo prompt; the transport decides).
 */
export function muxArgv(t: OpenSshTarget, remote: readonly string[]): string[] {
    return ["ssh", ...MUX_ONLY, ...openSshOptions(t), destination(t), "--", shJoin(remote)];
}

/**
 * `ssh -W host:port` through the master only: one TCP stream to host:port, forwarded by the login
 * node, on a new channel of the existing login (no new login, so no second-factor prompt).
 */
export function forwardArgv(t: OpenSshTarget, host: string, port: number): string[] {
    return ["ssh", ...MUX_ONLY, ...openSshOptions(t), "-W", `${host}:${port}`, destination(t)];
}

/** `ssh -O check|exit`: is a master listening on the ControlPath / stop it. */
export function controlArgv(t: OpenSshTarget, op: "check" | "exit"): string[] {
    return ["ssh", "-O", op, "-o", "BatchMode=yes", ...openSshOptions(t), destination(t)];
}

/** ProxyCommand that reaches %h:%p through jump's master (no second login to the jump host). */
export function proxyThroughMaster(jump: OpenSshTarget): string {
    // ssh expands %-tokens in ProxyCommand with the *target's* values: the jump's own (%C in its
    // ControlPath) are escaped as %%, so the inner ssh expands them for the jump host.
    const inner = ["ssh", ...MUX_ONLY, ...openSshOptions(jump)].map((a) => a.replace(/%/g, "%%"));
    return shJoin([...inner, "-W", "%h:%p", destination(jump).replace(/%/g, "%%")]);
}

/** Kept for callers of the old name: a command through the shared master. */
export const sshArgv = muxArgv;
