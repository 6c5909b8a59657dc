// Pinned host keys of every type. A known_hosts/.pub line names its type; a bare base64
// blob names it too, inside (the blob starts with the length-prefixed type string), so no
// type is ever assumed. Pure: used by both transports (ssh2.ts, opensshTransport.ts) and by config checks.
import type { SshConnection } from "./connection";

/** The first word of a key line that names its type ("ssh-ed25519", "ecdsa-sha2-nistp256", "sk-ssh-ed25519@openssh.com"). */
const KEY_TYPE_WORD = /^(ssh-|ecdsa-|sk-)/;

/** The key type inside an OpenSSH public key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...); undefined if unreadable. */
export function blobKeyType(blobBase64: string): string | undefined {
    const blob = Buffer.from(blobBase64, "base64");
    if (blob.length < 4) {
        return undefined;
    }
    const len = blob.readUInt32BE(0);
    if (len === 0 || len > 64 || blob.length < 4 + len) {
        return undefined;
    }
    const type = blob.subarray(4, 4 + len).toString("latin1");
    return /^[a-z0-9@.-]+$/.test(type) ? type : undefined;
}

export interface PinnedHostKey {
    /** The type written in the blob itself. */
    type: string;
    blob: string;
}

/** Parses "type AAAA... [comment]", "[host]:port type AAAA..." (a known_hosts line) or a bare "AAAA..." blob. */
export function parsePinnedHostKey(hostKey: string): PinnedHostKey | undefined {
    const parts = hostKey.trim().split(/\s+/);
    const blob = parts.find((p) => blobKeyType(p) !== undefined);
    if (blob === undefined) {
        return undefined;
    }
    const type = blobKeyType(blob) as string;
    // A written type that disagrees with the blob is a copy-paste error: refuse it.
    const written = parts.find((p) => KEY_TYPE_WORD.test(p));
    if (written !== undefined && written !== type) {
        return undefined;
    }
    return { type, blob };
}

/**
 * Several pinned keys, one per line: a load-balanced name (e.g. HiPerGator's hpg.rc.ufl.edu) may be answered by any of its
 * nodes, each with its own key. undefined when there is none, or any line is not a key.
 */
export function parsePinnedHostKeys(hostKey: string): PinnedHostKey[] | undefined {
    const keys = hostKey
        .split(/\r?\n/)
        .filter((line) => line.trim() !== "")
        .map(parsePinnedHostKey);
    return keys.length === 0 || keys.some((k) => k === undefined) ? undefined : (keys as PinnedHostKey[]);
}

/** The algorithms to offer for several pinned keys: each key's own, in order, once. */
export function hostKeyAlgorithmsForAll(keys: readonly PinnedHostKey[]): string[] {
    return [...new Set(keys.flatMap((k) => hostKeyAlgorithmsFor(k.type)))];
}

/** Host-key algorithms to offer for a pinned key type: only that type (RSA: its SHA-2 signatures first). */
export function hostKeyAlgorithmsFor(type: string): string[] {
    return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** The base64 blob of an OpenSSH public key line ("ssh-ed25519 AAAA... comment" or just "AAAA..."). */
export function hostKeyBlob(hostKey: string): string {
    const parts = hostKey.trim().split(/\s+/);
    return parts.length >= 2 && KEY_TYPE_WORD.test(parts[0]) ? parts[1] : parts[0];
}

/** Every pinned key's blob, one per line (the pool key: a login is shared only by resources that pin the same keys). */
export function hostKeyBlobs(hostKey: string): string {
    return (parsePinnedHostKeys(hostKey)?.map((k) => k.blob) ?? [hostKeyBlob(hostKey)]).join("\n");
}

/** The error text when the server's host key is not the pinned one (both transports). */
export function hostKeyMismatchMessage(label: string, conn: Pick<SshConnection, "messages"> = {}): string {
    const named = conn.messages?.keyNames?.hostKey;
    return (
        `connection to ${label} refused: the server's host key does not match connection.hostKey (${named === undefined ? "" : `${named}; `}none of its lines). ` +
        "If the cluster's key really changed (or a load-balanced name reached another node), verify the new key " +
        "(ssh-keygen -lf; compare with the fingerprints the site publishes), then add it on a line of its own."
    );
}
