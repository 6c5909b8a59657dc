// What every SlurmJob input check shares: the preview placeholder, how a value is shown in a
// message (cut, secrets hidden), and the small typed checks. Pure (no imports).

/** What Pulumi sends for a value that is not known yet during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface ValidationFailure {
    property: string;
    reason: string;
}

export type Fail = (property: string, reason: string) => void;

export const HIDDEN = "(hidden)";
/** A value that goes into one line (an #SBATCH line, a path) cannot hold these. */
export const LINE_BREAK_OR_NUL = /[\n\r\0]/;
const MAX_SHOWN = 80;

/** JSON of a value for a message, cut to 80 characters. */
export function describeValue(v: unknown): string {
    let text: string | undefined;
    if (typeof v === "number" && !Number.isFinite(v)) {
        text = String(v); // JSON would print null
    } else {
        try {
            text = JSON.stringify(v);
        } catch {
            text = undefined;
        }
    }
    text = text ?? String(v);
    return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

export function isGiven(v: unknown): boolean {
    return v !== undefined && v !== null;
}

/** Given and known: only such values can be checked at preview. */
export function isKnown(v: unknown): boolean {
    return isGiven(v) && v !== UNKNOWN;
}

export function is(property: string, value: unknown): string {
    return `${property} = ${describeValue(value)}`;
}

export function checkPositiveInteger(fail: Fail, property: string, value: unknown): void {
    if (isKnown(value) && !(typeof value === "number" && Number.isInteger(value) && value > 0)) {
        fail(property, `${is(property, value)}: must be a positive integer such as 1; fix the number or leave ${property} out`);
    }
}

export function checkNonNegativeSeconds(fail: Fail, property: string, value: unknown): void {
    if (isKnown(value) && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
        fail(property, `${is(property, value)}: must be a finite number of seconds, 0 or more, such as 600`);
    }
}
