// Slurm time limits. No imports: captured into the provider's serialized closure.

// sbatch --time forms: "minutes", "minutes:seconds", "hours:minutes:seconds",
// "days-hours", "days-hours:minutes", "days-hours:minutes:seconds".
const MINUTES = /^(\d+)$/;
const MINUTES_SECONDS = /^(\d+):(\d+)$/;
const HOURS_MINUTES_SECONDS = /^(\d+):(\d+):(\d+)$/;
const DAYS_HOURS = /^(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?$/;
// squeue/sinfo %l output: "[D-]H:MM:SS" or "M:SS".
const DURATION_OUTPUT = /^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)$/;
const NO_LIMIT = /^(UNLIMITED|INFINITE)$/i;

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

function toSeconds(days: string | undefined, hours: string | undefined, minutes: string | undefined, seconds: string | undefined): number {
    return Number(days ?? 0) * DAY + Number(hours ?? 0) * HOUR + Number(minutes ?? 0) * MINUTE + Number(seconds ?? 0);
}

/**
 * Parse an sbatch `--time` value into seconds. `Infinity` for UNLIMITED/INFINITE; 0 for "0"
 * (which Slurm reads as "no limit"); `undefined` when sbatch would not accept the form.
 */
export function parseSlurmTime(value: string): number | undefined {
    if (NO_LIMIT.test(value)) {
        return Infinity;
    }
    let m = MINUTES.exec(value);
    if (m) {
        return toSeconds(undefined, undefined, m[1], undefined);
    }
    m = MINUTES_SECONDS.exec(value);
    if (m) {
        return toSeconds(undefined, undefined, m[1], m[2]);
    }
    m = HOURS_MINUTES_SECONDS.exec(value);
    if (m) {
        return toSeconds(undefined, m[1], m[2], m[3]);
    }
    m = DAYS_HOURS.exec(value);
    if (m) {
        return toSeconds(m[1], m[2], m[3], m[4]);
    }
    return undefined;
}

/**
 * Parse a time limit as squeue/sinfo print it (`%l`): "5:00" is 5 minutes (M:SS), "1:00:00" one
 * hour, "1-00:00:00" one day. `Infinity` for UNLIMITED; `undefined` for "INVALID" or anything else.
 */
export function parseSlurmDuration(output: string): number | undefined {
    const value = output.trim();
    if (NO_LIMIT.test(value)) {
        return Infinity;
    }
    const m = DURATION_OUTPUT.exec(value);
    if (!m) {
        return undefined;
    }
    return toSeconds(m[1], m[2], m[3], m[4]);
}

function twoDigits(n: number): string {
    return String(n).padStart(2, "0");
}

/** Format seconds for sbatch: "D-HH:MM:SS" from one day up, else "HH:MM:SS"; Infinity is "UNLIMITED". */
export function formatSlurmTime(seconds: number): string {
    if (seconds === Infinity) {
        return "UNLIMITED";
    }
    if (!Number.isFinite(seconds) || seconds < 0) {
        throw new RangeError(`formatSlurmTime: expected a non-negative number of seconds, got ${seconds}`);
    }
    // Slurm counts whole seconds; a fraction must not shorten the limit.
    const total = Math.ceil(seconds);
    const days = Math.floor(total / DAY);
    const hours = Math.floor((total % DAY) / HOUR);
    const minutes = Math.floor((total % HOUR) / MINUTE);
    const rest = total % MINUTE;
    const clock = `${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(rest)}`;
    return days > 0 ? `${days}-${clock}` : clock;
}
