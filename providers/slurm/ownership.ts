// What SlurmJob writes into a job's --comment, and how it reads it back: the ownership
// tag, a hash of the rendered script and the submission attempt. Recovery adopts a job
// only when all of these say it is the one this resource meant to submit.
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

/** The --comment: "<ownerTag> script=<hash> attempt=<id>". */
export function jobComment(ownerTag: string, hash: string, attempt: string): string {
    return `${ownerTag} script=${hash} attempt=${attempt}`;
}

export interface ParsedComment {
    ownerTag: string;
    /** "" when the comment carries no hash (a job of an older version, or not ours). */
    scriptHash: string;
    attempt: string;
}

/** Reads a comment written by jobComment; a bare tag (older versions) gives empty hash and attempt. */
export function parseJobComment(comment: string): ParsedComment {
    const m = /^(.*) script=([0-9a-f]{16}) attempt=([0-9a-f]{8})$/.exec(comment);
    return m === null ? { ownerTag: comment, scriptHash: "", attempt: "" } : { ownerTag: m[1], scriptHash: m[2], attempt: m[3] };
}
