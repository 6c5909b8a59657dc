// The connection in a SlurmJob's state is the one of the machine that last ran `pulumi up`: the
// engine hands delete (and refresh) the state, never today's config. A key file path recorded there
// may not exist on another machine; this says so, and how to fix it, before any login is tried.
import type { SshConnection } from "../remote/connection";

/** Why this machine cannot use the connection recorded in state, or undefined. */
export function otherMachineProblem(conn: SshConnection, what: string): string | undefined {
    const fs = require("node:fs") as typeof import("node:fs");
    const os = require("node:os") as typeof import("node:os");
    const file = (conn.identityFile ?? "").replace(/^~\//, `${os.homedir()}/`);
    if (conn.transport !== "openssh" || file === "" || fs.existsSync(file)) {
        return undefined;
    }
    return (
        `${what}: the state's connection names the key file ${JSON.stringify(conn.identityFile)}` +
        `${conn.hostAlias ? ` and the ssh alias ${JSON.stringify(conn.hostAlias)}` : ""}, recorded by the machine that last ran \`pulumi up\`, ` +
        "and that file does not exist on this machine. Run `pulumi up` here first, with this machine's key file (and alias) " +
        "in the stack's config: it changes nothing on the cluster and records this machine's connection; then run this command again."
    );
}
