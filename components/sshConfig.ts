// Reads the user's ~/.ssh/config the way OpenSSH would, through the maintained `ssh-config` parser, so
// that an alias such as "hpg" gives HostName, User, Port, IdentityFile and ProxyJump to the ssh2 transport
// too, and a jump host's Port reaches the pubapps stack's -p. Shared by the hpg and pubapps targets.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import SSHConfig from "ssh-config";

/** UF RC: key-based SSH goes to port 2222 (port 22 asks for the GatorLink password); Duo follows the key. */
export const UF_KEY_SSH_PORT = 2222;

export interface ResolvedHost {
    host: string;
    user?: string;
    port?: number;
    identityFile?: string;
    proxyJump?: string;
}

function first(value: string | string[] | undefined): string | undefined {
    return Array.isArray(value) ? value[0] : value;
}

export function resolveSshHost(alias: string, configText?: string): ResolvedHost {
    const file = path.join(os.homedir(), ".ssh", "config");
    const text = configText ?? (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
    if (text === "") {
        return { host: alias };
    }
    const computed = SSHConfig.parse(text).compute(alias);
    const port = first(computed.Port);
    const proxyJump = first(computed.ProxyJump);
    return {
        host: (first(computed.HostName) ?? alias).replace(/%h/g, alias),
        user: first(computed.User),
        port: port === undefined ? undefined : Number(port),
        identityFile: first(computed.IdentityFile),
        proxyJump: proxyJump === undefined || proxyJump.toLowerCase() === "none" ? undefined : proxyJump,
    };
}
