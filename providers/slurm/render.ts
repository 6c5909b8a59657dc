// Renders a JobSpec into a batch script: #SBATCH lines, then the command body.
// Pure: only the quoting helper (providers/remote/quote.ts).
import type { JobSpec } from "./types";
import { SAFE_WORD, shQuote } from "../remote/quote";

/**
 * Quotes a value for an #SBATCH line. sbatch parses these lines itself (no shell):
 * whitespace ends an argument, an unquoted # starts a comment, and inside
 * double quotes a backslash escapes the next character (sbatch/opt.c _get_argument).
 * Newlines cannot be represented and are rejected by validation before we get here.
 */
export function sbatchDirectiveQuote(value: string): string {
    if (/[\r\n\0]/.test(value)) {
        throw new Error(`an #SBATCH value cannot contain a newline or NUL: ${JSON.stringify(value)}`);
    }
    return SAFE_WORD.test(value) ? value : `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The sbatch option behind each job field, in the order the #SBATCH lines are rendered (the order is
 * part of the script, and so of its hash in --comment: never reorder). "" = the field is not one
 * option (environment: export lines; extraArgs: one line per argument). validateSbatch.ts uses it to
 * tell where a field goes in a whole script.
 */
export const SBATCH_OPTION_OF: { readonly [K in Exclude<keyof JobSpec, "script" | "command">]-?: string } = {
    jobName: "--job-name",
    partition: "--partition",
    account: "--account",
    qos: "--qos",
    nodes: "--nodes",
    ntasks: "--ntasks",
    cpusPerTask: "--cpus-per-task",
    gpus: "--gpus",
    gpusPerTask: "--gpus-per-task",
    gres: "--gres",
    mem: "--mem",
    time: "--time",
    constraint: "--constraint",
    output: "--output",
    error: "--error",
    workdir: "--chdir",
    dependency: "--dependency",
    environment: "",
    extraArgs: "",
};

/** The #SBATCH options a JobSpec renders to, in a stable order. */
export function sbatchOptions(spec: JobSpec): string[] {
    const opts: string[] = [];
    for (const [field, flag] of Object.entries(SBATCH_OPTION_OF)) {
        const value = spec[field as keyof typeof SBATCH_OPTION_OF];
        if (flag !== "" && value !== undefined && value !== "") {
            opts.push(`${flag}=${sbatchDirectiveQuote(String(value))}`);
        }
    }
    for (const extra of spec.extraArgs ?? []) {
        const eq = extra.indexOf("=");
        opts.push(eq < 0 ? sbatchDirectiveQuote(extra) : `${extra.slice(0, eq)}=${sbatchDirectiveQuote(extra.slice(eq + 1))}`);
    }
    return opts;
}

/**
 * The whole batch script. With `script` the user's text is used as is (it must
 * start with #!); otherwise the structured fields become #SBATCH lines, the
 * environment becomes shell-quoted exports and `command` is the body.
 */
export function renderBatchScript(spec: JobSpec): string {
    if (spec.script !== undefined) {
        return spec.script.endsWith("\n") ? spec.script : `${spec.script}\n`;
    }
    const lines = ["#!/bin/bash", ...sbatchOptions(spec).map((o) => `#SBATCH ${o}`), ""];
    const env = spec.environment ?? {};
    for (const key of Object.keys(env).sort()) {
        lines.push(`export ${key}=${shQuote(env[key])}`);
    }
    if (Object.keys(env).length > 0) {
        lines.push("");
    }
    lines.push((spec.command ?? "").replace(/\n+$/, ""));
    return `${lines.join("\n")}\n`;
}
