// A local journal of the jobs a create holds before their id reaches the engine.
//
// A provider process killed (SIGKILL) between sbatch and the return of the job id leaves a job that
// no state holds, and the next `up` draws a new ownership nonce for the resource (check, ownership.ts),
// so its create would leave that job alone as another state's. Each create therefore writes, before
// sbatch, one small file naming the resource's tag, the cluster login and the nonce the job carries,
// and removes it once the id goes to the engine. The next create of the same resource on this machine
// counts the nonces it finds there as its own: it adopts that job (same script) or cancels it.
// Files only, no secrets: tag, host, user, nonce, attempt, job id.
import type { SlurmJobInputs } from "./types";
import { DEPRECATED_ENV, LEGACY_JOURNAL_SUBDIR } from "../legacy";

export interface JournalEntry {
    ownerTag: string;
    host: string;
    user: string;
    nonce: string;
    attempt: string;
    jobId: string;
    at: string;
}

/** The environment variable naming the journal's directory. */
export const JOURNAL_DIR_ENV = "SLURM_PROVIDER_JOURNAL_DIR";

/**
 * Where the journal lives: SLURM_PROVIDER_JOURNAL_DIR (or its deprecated 0.1.0 name, legacy.ts),
 * else $XDG_STATE_HOME (~/.local/state)/slurm-provider/journal.
 */
export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
    const path = require("node:path") as typeof import("node:path");
    return env[JOURNAL_DIR_ENV] ?? env[DEPRECATED_ENV.journalDir] ?? path.join(stateHome(env), "slurm-provider", "journal");
}

/** The directories a leftover may be in: the journal's, and 0.1.0's default when no directory is set (a create killed under 0.1.0). */
export function journalDirs(env: NodeJS.ProcessEnv = process.env): string[] {
    const path = require("node:path") as typeof import("node:path");
    const dirs = [journalDir(env)];
    if (env[JOURNAL_DIR_ENV] === undefined && env[DEPRECATED_ENV.journalDir] === undefined) {
        dirs.push(path.join(stateHome(env), ...LEGACY_JOURNAL_SUBDIR));
    }
    return dirs;
}

function stateHome(env: NodeJS.ProcessEnv): string {
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    return env.XDG_STATE_HOME ?? path.join(os.homedir(), ".local", "state");
}

/** One resource on one cluster login: the file name prefix. */
function resourceKey(inputs: Pick<SlurmJobInputs, "ownerTag" | "connection">): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    return crypto.createHash("sha256").update(`${inputs.ownerTag}\0${inputs.connection.host}\0${inputs.connection.user}`).digest("hex").slice(0, 16);
}

/** A create's entry: written at once; setJob records the id; forget removes it (the id reached the engine). */
export interface JournalRecord {
    setJob(jobId: string): void;
    forget(): void;
}

/** Records that this create is about to submit (or holds) a job with `nonce`. Never throws: the journal is a safety net. */
export function journalRecord(inputs: SlurmJobInputs, nonce: string, attempt: string, jobId = ""): JournalRecord {
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    const dir = journalDir();
    const file = path.join(dir, `${resourceKey(inputs)}-${attempt}.json`);
    const write = (id: string) => {
        try {
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            const entry: JournalEntry = {
                ownerTag: inputs.ownerTag,
                host: inputs.connection.host,
                user: inputs.connection.user,
                nonce,
                attempt,
                jobId: id,
                at: new Date().toISOString(),
            };
            // Written whole, then renamed: a kill mid-write leaves no half file.
            fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
            fs.renameSync(`${file}.tmp`, file);
        } catch {
            // An unwritable journal only loses the safety net.
        }
    };
    write(jobId);
    return {
        setJob: (id) => write(id),
        forget: () => fs.rmSync(file, { force: true }),
    };
}

/** Entries an earlier create of this resource on this machine left (it was killed before the id reached the engine). */
export function journalLeftovers(inputs: SlurmJobInputs): { entries: JournalEntry[]; forget(): void } {
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    const prefix = `${resourceKey(inputs)}-`;
    const files: string[] = [];
    for (const dir of journalDirs()) {
        try {
            files.push(
                ...fs
                    .readdirSync(dir)
                    .filter((f) => f.startsWith(prefix) && f.endsWith(".json"))
                    .map((f) => path.join(dir, f)),
            );
        } catch {
            // No journal there.
        }
    }
    const entries: JournalEntry[] = [];
    for (const f of files) {
        try {
            const entry = JSON.parse(fs.readFileSync(f, "utf8")) as JournalEntry;
            if (entry.ownerTag === inputs.ownerTag && /^[0-9a-f]{16}$/.test(entry.nonce)) {
                entries.push(entry);
            }
        } catch {
            // Unreadable: skipped.
        }
    }
    return { entries, forget: () => files.forEach((f) => fs.rmSync(f, { force: true })) };
}
