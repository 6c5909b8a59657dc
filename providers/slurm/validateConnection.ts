// Checks of a SlurmJob's (or RemoteCommand's) connection input at preview: host, user, port, the
// pinned host key, credentials (never shown) and the transport settings. Pure.
import { HIDDEN, LINE_BREAK_OR_NUL, UNKNOWN, checkPositiveInteger, is, isGiven, isKnown, type Fail } from "./validation";

const SSH_USER = /^[a-z_][a-z0-9_.-]*$/i;
const HOST_KEY_WITH_TYPE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp[0-9]+) [A-Za-z0-9+/]+={0,2}( [^\n]*)?$/;
const HOST_KEY_BARE = /^[A-Za-z0-9+/]+={0,2}$/;

export function checkConnection(fail: Fail, connection: unknown): void {
    if (connection === UNKNOWN) {
        return;
    }
    if (!isGiven(connection) || typeof connection !== "object" || Array.isArray(connection)) {
        // Never print the value: a malformed connection may still hold the private key.
        const shown = isGiven(connection) ? `${HIDDEN} (${Array.isArray(connection) ? "an array" : `a ${typeof connection}`})` : "undefined";
        fail("connection", `connection = ${shown}: give an object with host, user and hostKey (and privateKey or an ssh-agent) for the cluster's login node`);
        return;
    }
    const c = connection as Record<string, unknown>;
    const { host, user, port, hostKey, insecureIgnoreHostKey, privateKey, passphrase, agentSocket, keyboardInteractiveAnswers } = c;

    if (host !== UNKNOWN && (typeof host !== "string" || host === "" || /\s/.test(host))) {
        fail(
            "connection.host",
            `${is("connection.host", host)}: must be the login node's host name or address without spaces, e.g. "login.cluster.example.edu"`,
        );
    }
    if (user !== UNKNOWN && !(typeof user === "string" && SSH_USER.test(user))) {
        fail("connection.user", `${is("connection.user", user)}: must be your user name on the cluster, e.g. "jdoe"`);
    }
    if (isKnown(port) && !(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) {
        fail("connection.port", `${is("connection.port", port)}: must be a TCP port from 1 to 65535; leave it out for 22`);
    }
    if (isKnown(insecureIgnoreHostKey) && typeof insecureIgnoreHostKey !== "boolean") {
        fail("connection.insecureIgnoreHostKey", `${is("connection.insecureIgnoreHostKey", insecureIgnoreHostKey)}: must be true or false`);
    }
    const hostForHint = typeof host === "string" && host !== "" && host !== UNKNOWN ? host : "HOST";
    if (!isGiven(hostKey) && insecureIgnoreHostKey !== true && insecureIgnoreHostKey !== UNKNOWN) {
        fail(
            "connection.hostKey",
            `connection.hostKey = undefined: required to pin the login node's identity; get it with \`ssh-keyscan -t ed25519 ${hostForHint}\`, compare its fingerprint (\`ssh-keygen -lf\`) with the fingerprints the site publishes, and pass the "ssh-ed25519 AAAA..." part; set insecureIgnoreHostKey: true only for a throwaway test cluster`,
        );
    } else if (isKnown(hostKey)) {
        // Several keys, one per line: a load-balanced login name may answer with any of its nodes' keys.
        const keys = (typeof hostKey === "string" ? hostKey : "")
            .split(/\r?\n/)
            .map((k) => k.trim())
            .filter((k) => k !== "");
        if (keys.length === 0 || !keys.every((key) => HOST_KEY_WITH_TYPE.test(key) || HOST_KEY_BARE.test(key))) {
            fail(
                "connection.hostKey",
                `${is("connection.hostKey", hostKey)}: must be a public host key "TYPE BASE64" such as "ssh-ed25519 AAAAC3Nza...", or the base64 part alone; take it from \`ssh-keyscan -t ed25519 ${hostForHint}\` without the leading host name`,
            );
        }
    }
    if (isKnown(privateKey) && !(typeof privateKey === "string" && privateKey.includes("PRIVATE KEY"))) {
        fail(
            "connection.privateKey",
            `connection.privateKey = ${HIDDEN}: does not contain "PRIVATE KEY"; give the private key file's text itself (its first line is a BEGIN ... PRIVATE KEY header), not its path or the public key`,
        );
    }
    if (isKnown(passphrase) && typeof passphrase !== "string") {
        fail("connection.passphrase", `connection.passphrase = ${HIDDEN}: must be a string`);
    }
    if (isKnown(agentSocket) && (typeof agentSocket !== "string" || agentSocket === "")) {
        fail(
            "connection.agentSocket",
            `${is("connection.agentSocket", agentSocket)}: must be the path of the ssh-agent socket; leave it out to use $SSH_AUTH_SOCK`,
        );
    }
    if (isKnown(keyboardInteractiveAnswers) && !(Array.isArray(keyboardInteractiveAnswers) && keyboardInteractiveAnswers.every((a) => typeof a === "string"))) {
        // Answers can be one-time passcodes: never shown.
        fail("connection.keyboardInteractiveAnswers", `connection.keyboardInteractiveAnswers = ${HIDDEN}: must be a list of strings, e.g. ["push"]`);
    }
    const transport = c["transport"];
    if (isKnown(transport) && transport !== "ssh2" && transport !== "openssh") {
        fail(
            "connection.transport",
            `${is("connection.transport", transport)}: must be "ssh2" (in-process, pooled) or "openssh" (the system ssh with a shared ControlMaster login, honours ~/.ssh/config)`,
        );
    }
    for (const pathKey of ["identityFile", "controlPath"]) {
        const value = c[pathKey];
        if (isKnown(value) && (typeof value !== "string" || LINE_BREAK_OR_NUL.test(value))) {
            fail(`connection.${pathKey}`, `${is(`connection.${pathKey}`, value)}: must be a file path on this machine`);
        }
    }
    checkPositiveInteger(fail, "connection.dialAttempts", c["dialAttempts"]);
    const commandTimeout = c["commandTimeoutSeconds"];
    if (isKnown(commandTimeout) && !(typeof commandTimeout === "number" && Number.isFinite(commandTimeout) && commandTimeout >= 5)) {
        fail(
            "connection.commandTimeoutSeconds",
            `${is("connection.commandTimeoutSeconds", commandTimeout)}: must be a number of seconds, at least 5 (a busy slurmctld answers within MessageTimeout, 10 s by default); leave it out for 60 s per query and 120 s for sbatch`,
        );
    }
    const messages = c["messages"];
    if (isKnown(messages)) {
        const m = messages as Record<string, unknown> | null;
        const keyNames = typeof m === "object" && m !== null && !Array.isArray(m) ? m["keyNames"] : undefined;
        const fix = typeof m === "object" && m !== null ? m["passwordPortFix"] : undefined;
        const textMap = (v: unknown) =>
            v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((n) => typeof n === "string"));
        if (typeof m !== "object" || m === null || Array.isArray(m) || !textMap(keyNames) || !(fix === undefined || typeof fix === "string")) {
            fail(
                "connection.messages",
                `${is("connection.messages", messages)}: must be an object with keyNames (field -> the name your users know it by, e.g. { port: "clusterPort" }) and/or passwordPortFix (text)`,
            );
        }
    }
    const dialTimeout = c["dialTimeoutSeconds"];
    if (isKnown(dialTimeout) && !(typeof dialTimeout === "number" && Number.isFinite(dialTimeout) && dialTimeout > 0)) {
        fail("connection.dialTimeoutSeconds", `${is("connection.dialTimeoutSeconds", dialTimeout)}: must be a number of seconds above 0, e.g. 20`);
    }
}
