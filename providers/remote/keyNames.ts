// How messages name a connection setting. The package only knows its own field names
// (connection.port); a calling program may say what its users know the setting as (a
// config key, a command-line flag) through connection.messages, and errors then name both.
// Pure: types only.
import type { SshConnection } from "./connection";

/** The connection fields a message may name. */
export type ConnectionField = Exclude<keyof SshConnection, "messages" | "jump">;

/**
 * Text for messages only: never part of the diff, the pool key or anything sent to the server,
 * so adding or changing it never updates or replaces a resource.
 */
export interface ConnectionMessages {
    /**
     * What the calling program's users know each field as, e.g. `{ port: "clusterPort" }` for a
     * config key: errors then say "connection.port (clusterPort)" and tell them to set clusterPort.
     */
    keyNames?: Partial<Record<ConnectionField, string>>;
    /**
     * The fix shown after "that port asked for a password instead of taking the key", e.g. the
     * site's key-login port and how to set it. Default: set the port to one where the server takes keys.
     */
    passwordPortFix?: string;
}

/** The key users set: the caller's name for it if given, else "connection.<field>". */
export function keyToSet(conn: Pick<SshConnection, "messages"> | undefined, field: ConnectionField): string {
    return conn?.messages?.keyNames?.[field] ?? `connection.${field}`;
}

/** How a message names a field: "connection.port", or "connection.port (clusterPort)" when the caller named it. */
export function keyShown(conn: Pick<SshConnection, "messages"> | undefined, field: ConnectionField): string {
    const name = conn?.messages?.keyNames?.[field];
    return name === undefined ? `connection.${field}` : `connection.${field} (${name})`;
}
