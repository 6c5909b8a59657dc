// OpenSSH (ssh/scp) command lines for the login node: a pinned host key through
// KnownHostsCommand and a ControlMaster socket, so that every command of a run
// shares one login (one Duo prompt on HiPerGator). Pure: captured into the
// serialized SlurmJob provider for its "openssh" transport.
import { shJoin } from "./quote";

/** How this machine reaches the login node with OpenSSH (ssh/scp). */
export interface OpenSshTarget {
    host: string;
    port: number;
    user: string;
    /** "ssh-ed25519 AAAA...": pinned through KnownHostsCommand; "" only with insecureIgnoreHostKey. */
    hostKey: string;
    insecureIgnoreHostKey: boolean;
    /** Private key file; "" = ssh-agent or ~/.ssh/config. */
    identityFile: string;
    /** ControlMaster socket path: one login (one Duo prompt) is shared by every command of a run. */
    controlPath: string;
    /** Seconds the master connection stays up after the last command. */
    controlPersistSeconds: number;
    /**
     * A host to go through (ssh -J), e.g. HiPerGator in front of a PubApps instance. Its host key is
     * pinned the same way; the jump login belongs to the master connection, so it is made once per run.
     */
    jump?: OpenSshJump;
}

/** The jump host of an OpenSshTarget: reached with its own pinned key, no master of its own. */
export type OpenSshJump = Pick<OpenSshTarget, "host" | "port" | "user" | "hostKey" | "insecureIgnoreHostKey" | "identityFile">;

/** known_hosts line for the pinned key ("[host]:port" for a port other than 22). */
export function knownHostsLine(t: Pick<OpenSshTarget, "host" | "port" | "hostKey">): string {
    const name = t.port === 22 ? t.host : `[${t.host}]:${t.port}`;
    const parts = t.hostKey.trim().split(/\s+/);
    const typed = parts.length >= 2 ? `${parts[0]} ${parts[1]}` : `ssh-ed25519 ${parts[0]}`;
    return `${name} ${typed}`;
}

function hostKeyOptions(t: OpenSshJump): string[] {
    return t.insecureIgnoreHostKey
        ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        // The key comes from config, not from ~/.ssh/known_hosts: a mismatch refuses the connection.
        : ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", `KnownHostsCommand=/bin/echo ${knownHostsLine(t)}`];
}

function identityOptions(t: OpenSshJump): string[] {
    return t.identityFile !== "" ? ["-i", t.identityFile, "-o", "IdentitiesOnly=yes"] : [];
}

/**
 * ProxyCommand for the jump host (rather than -J, whose ssh would not get the pinned key and
 * identity): `ssh ... -W [%h]:%p user@jump`, quoted by the one helper; %h/%p are ssh's tokens.
 */
export function proxyCommandOption(j: OpenSshJump): string[] {
    const argv = ["ssh", "-p", String(j.port), ...identityOptions(j), ...hostKeyOptions(j),
        "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "LogLevel=ERROR", "-W", "[%h]:%p", `${j.user}@${j.host}`];
    return ["-o", `ProxyCommand=${shJoin(argv)}`];
}

/** OpenSSH options shared by ssh and scp. */
export function openSshOptions(t: OpenSshTarget, portFlag: "-p" | "-P"): string[] {
    return [
        portFlag, String(t.port),
        ...identityOptions(t),
        ...hostKeyOptions(t),
        ...(t.jump !== undefined ? proxyCommandOption(t.jump) : []),
        "-o", "ControlMaster=auto",
        "-o", `ControlPath=${t.controlPath}`,
        "-o", `ControlPersist=${t.controlPersistSeconds}`,
        "-o", "ServerAliveInterval=15",
        "-o", "LogLevel=ERROR",
    ];
}

/** `ssh ... user@host -- <remote argv>`: the remote argv is quoted for the remote shell. */
export function sshArgv(t: OpenSshTarget, remote: readonly string[]): string[] {
    return ["ssh", ...openSshOptions(t, "-p"), `${t.user}@${t.host}`, "--", shJoin(remote)];
}

