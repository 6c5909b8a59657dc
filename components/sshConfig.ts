// Reads the user's ~/.ssh/config the way OpenSSH would, through the maintained `ssh-config` parser, so
// that an alias such as "hpg" gives HostName, User, Port, IdentityFile and ProxyJump to the ssh2 transport
// too, and a jump host's Port reaches the pubapps stack's -p. Shared by the hpg and pubapps targets.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import SSHConfig from "ssh-config";

/** UF RC: key-based SSH goes to port 2222 (port 22 asks for the GatorLink password); Duo follows the key. */
export const UF_KEY_SSH_PORT = 2222;

/**
 * The fix for a UF RC login that asked for a password: port 22 asks for the GatorLink password, keys go to
 * 2222 (UF's federated users are the exception: keys on 22). `portKey` is the config key that chose the port.
 */
export function ufKeyPortFix(portKey: string): string {
    return (
        `\`pulumi config set ${portKey} ${UF_KEY_SSH_PORT}\` (UF RC takes key logins on port ${UF_KEY_SSH_PORT}; its port 22 asks for the GatorLink password), ` +
        "or 0 to use the Port of your ~/.ssh/config; UF federated users log in with a key on port 22"
    );
}

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
