// runRemote: one command on a remote host over the connection's transport, and the public face
// of this module (after pulumi-command's remote package: connection.go = connection.ts, the
// runners = ssh2.ts / opensshTransport.ts). Every SlurmJob and RemoteCommand of a deployment goes through
// here, so they share one pool and one login per host.
import { closeOpenSshMasters, runOpenSsh } from "./opensshTransport";
import { closeSsh2Connections, runSsh2 } from "./ssh2";
import type { RemoteResult, RunOptions, SshConnection } from "./connection";

export {
    AmbiguousRemoteError,
    ChannelRefusedError,
    SshConnectError,
    connectionKey,
    connectionLabel,
    sshPool,
    type RemoteResult,
    type RunOptions,
    type SshConnection,
    type SshStats,
} from "./connection";

/**
 * Runs argv on the host: every argument goes through shJoin; stdin (e.g. a batch script) is
 * written to the command. Resolves with the exit status, whatever it is; rejects with
 * SshConnectError (did not run) or AmbiguousRemoteError (may have run).
 */
export async function runRemote(conn: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    return conn.transport === "openssh" ? runOpenSsh(conn, argv, options) : runSsh2(conn, argv, options);
}

/** Closes every pooled connection and stops the OpenSSH masters this process started (tests and benchmarks; the provider process is simply killed, and its reaper stops its masters). */
export function closeAllConnections(): void {
    closeSsh2Connections();
    closeOpenSshMasters();
}
