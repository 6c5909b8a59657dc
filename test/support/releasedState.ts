// Recorded states of released versions of @sparc-deploy/slurm-provider (test/e2e/states/): what
// `pulumi stack export --show-secrets` wrote after the example's `up` under that release, with
// the machine's particulars (stack, connection, job id) replaced by placeholders so that any
// test machine can put its own back and run today's code on the old state.

/** Pulumi's marker of a secret value in a deployment. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface StateParticulars {
    stackName: string;
    jobId: string;
    connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
}

const PLACEHOLDER = {
    stackName: "@STACK@",
    jobId: "@JOB_ID@",
    host: "@HOST@",
    port: "@PORT@",
    user: "@USER@",
    privateKey: "@PRIVATE_KEY@",
    hostKey: "@HOST_KEY@",
} as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isConnection(v: { [key: string]: Json }): boolean {
    return typeof v.host === "string" && "user" in v && ("privateKey" in v || "hostKey" in v);
}

/** Rewrites every value (also inside secrets, whose plaintext is JSON text) with `strings` and `connection`. */
function walk(value: Json, strings: (s: string) => string, connection: (c: { [key: string]: Json }) => { [key: string]: Json }): Json {
    if (typeof value === "string") {
        return strings(value);
    }
    if (Array.isArray(value)) {
        return value.map((v) => walk(v, strings, connection));
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (value[SECRET_SIG] !== undefined && typeof value.plaintext === "string") {
        return { ...value, plaintext: JSON.stringify(walk(JSON.parse(value.plaintext) as Json, strings, connection)) };
    }
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
        out[k] = walk(v, strings, connection);
    }
    return isConnection(out) ? connection(out) : out;
}

/** A job id in a string: the whole string, or a Slurm file name such as "slurm-1234.out". */
function replaceJobId(s: string, from: string, to: string): string {
    return s === from ? to : s.split(`-${from}.`).join(`-${to}.`);
}

/**
 * The string rewrite from one set of particulars to another: whole values (the keys, the port as
 * config text) and parts of values (the stack name in URNs and tags, the user in home paths, the
 * host in RemoteCommand ids).
 */
function rewrite(from: Record<keyof typeof PLACEHOLDER, string>, to: Record<keyof typeof PLACEHOLDER, string>): (s: string) => string {
    return (s) => {
        for (const whole of ["privateKey", "hostKey", "port"] as const) {
            // Trimmed: `pulumi config set` drops the key file's final newline.
            if (s.trim() === from[whole].trim()) {
                return to[whole];
            }
        }
        let out = replaceJobId(s, from.jobId, to.jobId);
        for (const part of ["stackName", "user", "host"] as const) {
            out = out.split(from[part]).join(to[part]);
        }
        return out;
    };
}

function actual(p: StateParticulars): Record<keyof typeof PLACEHOLDER, string> {
    return { stackName: p.stackName, jobId: p.jobId, ...p.connection, port: String(p.connection.port) };
}

/** The export of a stack whose deployment was written by a release, made portable (the secrets provider dropped). */
export function toRecorded(exported: { version: number; deployment: Record<string, unknown> }, p: StateParticulars): unknown {
    const { secrets_providers: _dropped, ...deployment } = exported.deployment;
    const connection = (c: { [key: string]: Json }) => ({ ...c, port: PLACEHOLDER.port });
    return { version: exported.version, deployment: walk(deployment as Json, rewrite(actual(p), PLACEHOLDER), connection) };
}

/** A recorded state with this machine's particulars put back: ready for `pulumi stack import`. */
export function fromRecorded(recorded: unknown, p: StateParticulars): { version: number; deployment: Record<string, unknown> } {
    const connection = (c: { [key: string]: Json }) => ({ ...c, port: p.connection.port });
    return walk(recorded as Json, rewrite(PLACEHOLDER, actual(p)), connection) as unknown as { version: number; deployment: Record<string, unknown> };
}
