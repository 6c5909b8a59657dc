// What SlurmJob writes into a job's --comment, and how it reads it back: the ownership
// tag, a hash of the rendered script, the submission attempt and the resource's nonce.
// Recovery adopts a job only when all of these say it is the one this resource meant to
// submit. The tag names a project/stack/resource, which two states (two machines, a lost
// local backend) can share; the nonce, drawn once per resource and kept in its state,
// tells their jobs apart.
// Pure (node:crypto is required at call time): captured into the serialized provider.

/** SHA-256 of the rendered batch script, first 16 hex digits. */
export function scriptHash(script: string): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    return crypto.createHash("sha256").update(script, "utf8").digest("hex").slice(0, 16);
}

/** A fresh attempt id (8 hex digits): which create submitted a job. */
export function newAttemptId(): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    return crypto.randomBytes(4).toString("hex");
}

/** A fresh ownership nonce (16 hex digits): which deployment (state) a resource's jobs belong to. */
export function newOwnerNonce(): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    return crypto.randomBytes(8).toString("hex");
}

/** True for a nonce newOwnerNonce could have drawn. */
export function isOwnerNonce(value: unknown): value is string {
    return typeof value === "string" && /^[0-9a-f]{16}$/.test(value);
}

/** The --comment: "<ownerTag> script=<hash> attempt=<id>", then " nonce=<nonce>" when the resource has one. */
export function jobComment(ownerTag: string, hash: string, attempt: string, nonce = ""): string {
    return `${ownerTag} script=${hash} attempt=${attempt}${nonce === "" ? "" : ` nonce=${nonce}`}`;
}

export interface ParsedComment {
    ownerTag: string;
    /** "" when the comment carries no hash (a job of an older version, or not ours). */
    scriptHash: string;
    attempt: string;
    /** "" when the comment carries no nonce (a job of an older version, or not ours). */
    nonce: string;
}

/** Reads a comment written by jobComment; a bare tag (older versions) gives empty hash, attempt and nonce. */
export function parseJobComment(comment: string): ParsedComment {
    const m = /^(.*) script=([0-9a-f]{16}) attempt=([0-9a-f]{8})(?: nonce=([0-9a-f]{16}))?$/.exec(comment);
    return m === null ? { ownerTag: comment, scriptHash: "", attempt: "", nonce: "" } : { ownerTag: m[1], scriptHash: m[2], attempt: m[3], nonce: m[4] ?? "" };
}
