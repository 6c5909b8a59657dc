// STAND-IN semantics of @pulumi/command 1.2.1 `command:local:Command` (tests only).
// Modelled on the real provider's local/commandController.go and commandOutputs.go:
// same env order, same trimming of one trailing newline, same "exit status N: running ..." error.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { isRpcSecret, specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const LOCAL_COMMAND_TYPE = "command:local:Command";
export const PROVIDER_VERSION = "1.2.1";

export const LOGGING_MODES = ["stdout", "stderr", "stdoutAndStderr", "none"] as const;
export type LoggingMode = (typeof LOGGING_MODES)[number];

/** Plain (revealed) inputs, as the command sees them. */
export interface CommandInputs {
    create?: string;
    update?: string;
    delete?: string;
    triggers?: unknown[];
    environment?: Record<string, string>;
    dir?: string;
    interpreter?: string[];
    stdin?: string;
    logging?: LoggingMode;
    addPreviousOutputInEnv?: boolean;
}

export interface CommandOutputs extends CommandInputs {
    stdout: string;
    stderr: string;
}

/** Wire values: any of them may be wrapped as a secret or be the unknown sentinel (preview). */
export type WireProps = Record<string, unknown>;

type KeyCheck = (value: unknown) => boolean;

const isString: KeyCheck = (v) => typeof v === "string";
const INPUT_CHECKS: Record<keyof CommandInputs, KeyCheck> = {
    create: isString,
    update: isString,
    delete: isString,
    dir: isString,
    stdin: isString,
    triggers: (v) => Array.isArray(v),
    environment: (v) => isPlainObject(v) && Object.values(v).every((e) => isString(reveal(e))),
    interpreter: (v) => Array.isArray(v) && v.every((e) => isString(reveal(e))),
    logging: (v) => (LOGGING_MODES as readonly unknown[]).includes(v),
    addPreviousOutputInEnv: (v) => typeof v === "boolean",
};
const INPUT_EXPECTED: Record<keyof CommandInputs, string> = {
    create: "a string",
    update: "a string",
    delete: "a string",
    dir: "a string",
    stdin: "a string",
    triggers: "an array",
    environment: "a map of strings",
    interpreter: "an array of strings",
    logging: LOGGING_MODES.join(" | "),
    addPreviousOutputInEnv: "a boolean",
};
export const INPUT_KEYS = Object.keys(INPUT_CHECKS) as (keyof CommandInputs)[];

/** Inputs the real provider has and this stand-in does not implement: refused at check. */
const UNSUPPORTED_KEYS = ["assetPaths", "archivePaths"];

export interface CheckFailure {
    property: string;
    reason: string;
}

/** Drops absent values (null), refuses wrong types and unknown keys; secrets pass through wrapped. */
export function checkInputs(news: WireProps): { inputs: WireProps; failures: CheckFailure[] } {
    const inputs: WireProps = {};
    const failures: CheckFailure[] = [];
    for (const [key, value] of Object.entries(news)) {
        if (value === null || value === undefined) {
            continue;
        }
        inputs[key] = value;
        if (UNSUPPORTED_KEYS.includes(key)) {
            failures.push({ property: key, reason: `the command provider stand-in does not implement ${key}` });
            continue;
        }
        const check = INPUT_CHECKS[key as keyof CommandInputs] as KeyCheck | undefined;
        if (check === undefined) {
            failures.push({ property: key, reason: `unknown input "${key}" for ${LOCAL_COMMAND_TYPE}` });
            continue;
        }
        const plain = reveal(value);
        if (!containsUnknown(plain) && !check(plain)) {
            failures.push({
                property: key,
                reason: `${key} must be ${INPUT_EXPECTED[key as keyof CommandInputs]}, got ${JSON.stringify(plain)}`,
            });
        }
    }
    return { inputs, failures };
}

export interface CommandDiff {
    changes: boolean;
    replaces: string[];
}

/**
 * `olds` is the recorded state (inputs plus stdout/stderr). A change to triggers replaces
 * (the SDK also sets replaceOnChanges: triggers[*]); any other input change updates.
 */
export function diffInputs(olds: WireProps, news: WireProps): CommandDiff {
    const changed = INPUT_KEYS.filter((key) => !sameValue(reveal(olds[key]), reveal(news[key])));
    return { changes: changed.length > 0, replaces: changed.filter((key) => key === "triggers") };
}

/** Outputs recorded after a run: the inputs as given (secrets stay wrapped) plus stdout/stderr. */
export function commandOutputs(inputs: WireProps, result: { stdout: string; stderr: string }): WireProps {
    // Every output depends on every input (pulumi-go-provider's default): a secret input makes them secret.
    const secret = containsSecret(inputs);
    const wrap = (s: string): unknown => (secret ? { [specialSigKey]: specialSecretSig, value: s } : s);
    return { ...inputs, stdout: wrap(result.stdout), stderr: wrap(result.stderr) };
}

/** The value with every secret wrapper removed, at any depth. */
export function reveal(value: unknown): unknown {
    if (isRpcSecret(value)) {
        return reveal((value as { value: unknown }).value);
    }
    if (Array.isArray(value)) {
        return value.map(reveal);
    }
    if (isPlainObject(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

export function containsSecret(value: unknown): boolean {
    if (isRpcSecret(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsSecret);
    }
    return isPlainObject(value) && Object.values(value).some(containsSecret);
}

function containsUnknown(value: unknown): boolean {
    if (value === unknownValue) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    return isPlainObject(value) && Object.values(value).some(containsUnknown);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(canonical);
    }
    if (isPlainObject(value)) {
        return Object.fromEntries(
            Object.keys(value)
                .sort()
                .map((k) => [k, canonical(value[k])]),
        );
    }
    return value;
}

/** Revealed inputs typed for running; check() has already refused wrong types. */
export function plainInputs(props: WireProps): CommandInputs {
    const plain = reveal(props) as Record<string, unknown>;
    const inputs: Record<string, unknown> = {};
    for (const key of INPUT_KEYS) {
        if (plain[key] !== undefined && plain[key] !== null) {
            inputs[key] = plain[key];
        }
    }
    return inputs as CommandInputs;
}

/** The environment a run sees: the provider's, then `environment`, then the previous output. */
export function commandEnvironment(
    base: NodeJS.ProcessEnv,
    inputs: CommandInputs,
    previous: { stdout?: string; stderr?: string },
): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base, ...inputs.environment };
    if (inputs.addPreviousOutputInEnv ?? true) {
        // Like the real provider: only non-empty previous output is passed on.
        if (previous.stdout) {
            env.PULUMI_COMMAND_STDOUT = previous.stdout;
        }
        if (previous.stderr) {
            env.PULUMI_COMMAND_STDERR = previous.stderr;
        }
    }
    return env;
}

export const DEFAULT_INTERPRETER = ["/bin/sh", "-c"];

/** The real provider keeps all but one trailing newline (Go: strings.TrimSuffix(s, "\n")). */
export function trimOneNewline(text: string): string {
    return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Go's error text: `exit status 7: running "false":\n<stdout and stderr interleaved>`. */
export function failureMessage(command: string, exit: { code: number | null; signal: string | null }, combined: string): string {
    const status = exit.signal !== null ? `signal: ${signalName(exit.signal)}` : `exit status ${exit.code ?? -1}`;
    return `${status}: running ${JSON.stringify(command)}:\n${combined}`;
}

function signalName(signal: string): string {
    const names: Record<string, string> = { SIGKILL: "killed", SIGTERM: "terminated", SIGINT: "interrupt" };
    return names[signal] ?? signal;
}

export interface RunResult {
    stdout: string;
    stderr: string;
}

/** Child processes still running, so cancel() can stop them. */
const running = new Set<import("node:child_process").ChildProcess>();

export function killRunning(): void {
    for (const child of running) {
        child.kill("SIGTERM");
    }
}

/** Runs `command` with the interpreter; rejects with the real provider's message on failure. */
export function runCommand(
    command: string,
    inputs: CommandInputs,
    previous: { stdout?: string; stderr?: string },
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
    const interpreter = inputs.interpreter !== undefined && inputs.interpreter.length > 0 ? inputs.interpreter : DEFAULT_INTERPRETER;
    const [program, ...args] = [...interpreter, command];
    const cwd = inputs.dir ?? options.cwd ?? process.cwd();
    // spawn() would blame the interpreter ("spawn /bin/sh ENOENT") for a missing dir.
    if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
        return Promise.reject(new Error(`chdir ${cwd}: no such file or directory`));
    }
    const hasStdin = inputs.stdin !== undefined && inputs.stdin.length > 0;
    return new Promise((resolve, reject) => {
        const child = spawn(program, args, {
            cwd,
            env: commandEnvironment(options.env ?? process.env, inputs, previous),
            stdio: [hasStdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
        running.add(child);
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
            combined += chunk;
        });
        child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
            combined += chunk;
        });
        if (hasStdin) {
            // A command that does not read stdin closes the pipe early: not an error.
            child.stdin?.on("error", () => undefined);
            child.stdin?.end(inputs.stdin);
        }
        child.on("error", (error) => {
            running.delete(child);
            reject(new Error(`${error.message}: running ${JSON.stringify(command)}`));
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            if (code === 0) {
                resolve({ stdout: trimOneNewline(stdout), stderr: trimOneNewline(stderr) });
            } else {
                reject(new Error(failureMessage(command, { code, signal }, combined)));
            }
        });
    });
}
