// Shared by the config loaders (components/podConfig.ts, components/*/config.ts): one vocabulary for every
// config problem, `project:key = value: what is wrong. Fix: how` (problemMessage), collected so one preview
// reports them all, and thrown as a pulumi.RunError (the CLI prints its message without a stack trace).
// One reader per shape a key can have (a port, seconds, an SSH target's host key, identity file and
// second-factor answers), so the same shape is read and refused the same way in every stack.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parsePinnedHostKeys, secondFactorAnswersFromEnv } from "../providers";

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

/**
 * The one message builder: `project:key = value: what. Fix: how`, `project:key is not set. Fix: how` (value
 * undefined), or `project:key: what. Fix: how` (shown undefined and what given: an error without a value).
 */
export function problemMessage(keyName: string, problem: { shown?: string; what?: string; fix: string }): string {
    if (problem.what === undefined) {
        return `${keyName} is not set. Fix: ${problem.fix}`;
    }
    return problem.shown === undefined
        ? `${keyName}: ${problem.what}. Fix: ${problem.fix}`
        : `${keyName} = ${problem.shown}: ${problem.what}. Fix: ${problem.fix}`;
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
        this.add(key, problemMessage(this.keyName(key), { shown: showValue(value), what, fix: howToFix }));
    }

    /** A required key left at its "" default. */
    unset(key: string, howToFix: string): void {
        this.add(key, problemMessage(this.keyName(key), { fix: howToFix }));
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
                problemMessage(this.keyName(key), sdk === null ? { what: message, fix: howToFix } : { shown: rawShown(sdk[1]), what: sdk[2], fix: howToFix }),
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

    /**
     * A TCP port (a whole number, 1-65535). `zeroMeans`: what 0 stands for (e.g. "the Port of ~/.ssh/config"),
     * which makes 0 a valid value; without it 0 is refused (a key whose default 0 means "not set yet").
     */
    port(key: string, fallback: number, opts: { zeroMeans?: string; fix?: string } = {}): number {
        const fix = opts.fix ?? `pulumi config set ${key} <1-65535${opts.zeroMeans === undefined ? "" : `, or 0 for ${opts.zeroMeans}`}>`;
        const value = this.read(key, fix, fallback, () => this.config.getNumber(key, { min: 0, max: 65535 }));
        if (!Number.isInteger(value) || (value === 0 && opts.zeroMeans === undefined)) {
            this.bad(key, value, "not a port", fix);
        }
        return value;
    }

    /** A whole number of seconds within [min, max] (no max: unbounded); `zeroMeans` says what 0 does when min is 0. */
    seconds(key: string, fallback: number, opts: { min: number; max?: number; zeroMeans?: string }): number {
        const range = opts.max === undefined ? `seconds >= ${opts.min}` : `${opts.min}-${opts.max}`;
        const fix = `pulumi config set ${key} <${range}${opts.zeroMeans === undefined ? "" : `; 0 = ${opts.zeroMeans}`}>`;
        const value = this.read(key, fix, fallback, () =>
            this.config.getNumber(key, opts.max === undefined ? { min: opts.min } : { min: opts.min, max: opts.max }),
        );
        if (!Number.isInteger(value)) {
            this.bad(key, value, "must be a whole number of seconds", fix);
        }
        return value;
    }

    /**
     * An SSH target's pinned host key (one or more OpenSSH public key lines): refused when it is not one, and
     * required unless `insecure` (the insecureIgnoreHostKey key) is set. `keyscan` is the ssh-keyscan line that
     * prints it; `unsetFix` tells how to get and check it.
     */
    hostKey(key: string, opts: { insecure: boolean; keyscan: string; unsetFix: string }): string {
        const value = this.text(key) ?? "";
        if (value !== "" && parsePinnedHostKeys(value) === undefined) {
            this.bad(
                key,
                value,
                "is not an OpenSSH public key",
                `give a line of \`${opts.keyscan}\` without the host name, e.g. "ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA..." or "ssh-rsa AAAA..."`,
            );
        }
        if (value === "" && !opts.insecure) {
            this.unset(key, opts.unsetFix);
        }
        return value;
    }

    /** An SSH target's private key file (~ expanded; `fallback` e.g. ~/.ssh/config's IdentityFile); "" = ssh-agent. */
    identityFile(key: string, fallback = ""): string {
        const file = expandHome(this.text(key) ?? fallback);
        if (file !== "" && !fs.existsSync(file)) {
            this.bad(key, file, "no such file", 'give the path of your private key, or "" to use ssh-agent');
        }
        return file;
    }

    /**
     * An SSH target's second-factor answers (Duo: "push", "1", a passcode), read once, as a secret. One rule
     * for every stack: the environment (SLURM_PROVIDER_MFA_ANSWERS) wins over the config key. The provider
     * applies the same rule at each login (providers/remote/prompts.ts secondFactorAnswers), because refresh
     * and destroy otherwise replay the answer stored in state, and a one-time passcode typed for this run
     * must serve this run; the program follows it so what it passes is what the login uses. Undefined when
     * neither the key nor the environment gives any.
     */
    secondFactorAnswers(key: string, env: NodeJS.ProcessEnv): pulumi.Output<string[]> | undefined {
        const fromConfig = this.config.getSecretObject<string[]>(key);
        const fromEnv = secondFactorAnswersFromEnv(env);
        if (fromConfig === undefined && fromEnv.length === 0) {
            return undefined;
        }
        return pulumi.secret(pulumi.output(fromConfig ?? []).apply((a) => (fromEnv.length > 0 ? fromEnv : a)));
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
