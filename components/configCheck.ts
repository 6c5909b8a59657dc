// Shared by the config loaders (components/*/config.ts): one vocabulary for every config problem,
// `project:key = value: what is wrong. Fix: how`, collected so one preview reports them all, and
// thrown as a pulumi.RunError (the CLI prints its message without a stack trace).
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

const MAX_SHOWN = 80;

/** A value as a message shows it: JSON, cut to 80 characters. */
export function showValue(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

export function expandHome(p: string): string {
    return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/** The SDK's own refusals ("Configuration 'p:k' value 'v' is outside of ...") carry the raw text; numbers and booleans show unquoted. */
function rawShown(raw: string): string {
    return /^-?\d+(\.\d+)?$|^(true|false)$/.test(raw) ? raw : showValue(raw);
}

export class ConfigProblems {
    private readonly problems: string[] = [];
    /** Keys already reported: a later check of the same key (e.g. the provider's) does not repeat it. */
    private readonly reported = new Set<string>();

    constructor(readonly config: pulumi.Config) {}

    /** "project:key", as `pulumi config` names it. */
    keyName(key: string): string {
        return `${this.config.name}:${key}`;
    }

    has(key: string): boolean {
        return this.reported.has(key);
    }

    /** `project:key = value: what. Fix: howToFix`. */
    bad(key: string, value: unknown, what: string, howToFix: string): void {
        this.add(key, `${this.keyName(key)} = ${showValue(value)}: ${what}. Fix: ${howToFix}`);
    }

    /** A required key left at its "" default. */
    unset(key: string, howToFix: string): void {
        this.add(key, `${this.keyName(key)} is not set. Fix: ${howToFix}`);
    }

    /** The value of a required key; unset ("" or undefined) is reported, and "" returned so reading goes on. */
    required(key: string, value: string | undefined, howToFix: string): string {
        if (value === undefined || value === "") {
            this.unset(key, howToFix);
            return "";
        }
        return value;
    }

    /** A problem message already in the form (e.g. mapped from the SlurmJob provider's check). */
    add(key: string, message: string): void {
        this.reported.add(key);
        this.problems.push(message);
    }

    /**
     * Read a key through the SDK's validation (allowedValues, pattern, min/max); a refused value is
     * reported in the form above with the fix, and the fallback is used so that reading goes on.
     */
    read<T>(key: string, howToFix: string, fallback: T, read: () => T | undefined): T {
        try {
            return read() ?? fallback;
        } catch (err) {
            const message = (err as Error).message;
            const sdk = /^Configuration '[^']*' value '([\s\S]*)' (is [\s\S]*|does [\s\S]*)$/.exec(message);
            this.add(
                key,
                sdk === null ? `${this.keyName(key)}: ${message}. Fix: ${howToFix}` : `${this.keyName(key)} = ${rawShown(sdk[1])}: ${sdk[2]}. Fix: ${howToFix}`,
            );
            return fallback;
        }
    }

    oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
        return this.read(key, `pulumi config set ${key} ${allowed.join("|")}`, fallback, () => this.config.get<T>(key, { allowedValues: [...allowed] }));
    }

    /** A whole number within [min, max]. */
    count(key: string, fallback: number, min: number, max?: number): number {
        const howToFix = `pulumi config set ${key} <whole number >= ${min}${max === undefined ? "" : ` and <= ${max}`}>`;
        const value = this.read(key, howToFix, fallback, () => this.config.getNumber(key, max === undefined ? { min } : { min, max }));
        if (!Number.isInteger(value)) {
            this.bad(key, value, "is not a whole number", howToFix);
            return fallback;
        }
        return value;
    }

    boolean(key: string, fallback: boolean): boolean {
        return this.read<boolean>(key, `pulumi config set ${key} true|false`, fallback, () => this.config.getBoolean(key));
    }

    /** A JSON list of strings (Pulumi.yaml type: array of string). */
    stringList(key: string, fallback: readonly string[], howToFix?: string): string[] {
        const fix = howToFix ?? `pulumi config set --path '${key}[0]' <value> (or edit the stack YAML), e.g. ${JSON.stringify(fallback)}`;
        const value = this.read<unknown>(key, fix, [...fallback], () => this.config.getObject<unknown>(key));
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
            this.bad(key, value, "must be a list of strings", fix);
            return [...fallback];
        }
        return value;
    }

    /** Pulumi.yaml gives every key a default (a key without one would be required on every stack): "" means unset. */
    text(key: string): string | undefined {
        const value = this.config.get(key);
        return value === "" ? undefined : value;
    }

    /** Throw every collected problem at once, as a RunError (no stack trace for users). */
    throwIfAny(what: string): void {
        if (this.problems.length > 0) {
            throw new pulumi.RunError(`${what} configuration has ${this.problems.length} problem(s):\n  - ${this.problems.join("\n  - ")}`);
        }
    }
}
