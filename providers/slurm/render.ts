// Renders a JobSpec into a batch script: #SBATCH lines, then the command body.
// Pure and dependency-free: captured into the serialized provider.
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

/** The #SBATCH options a JobSpec renders to, in a stable order. */
export function sbatchOptions(spec: JobSpec): string[] {
    const opts: string[] = [];
    const add = (flag: string, value: string | number | undefined) => {
        if (value !== undefined && value !== "") {
            opts.push(`${flag}=${sbatchDirectiveQuote(String(value))}`);
        }
    };
    add("--job-name", spec.jobName);
    add("--partition", spec.partition);
    add("--account", spec.account);
    add("--qos", spec.qos);
    add("--nodes", spec.nodes);
    add("--ntasks", spec.ntasks);
    add("--cpus-per-task", spec.cpusPerTask);
    add("--gpus", spec.gpus);
    add("--gpus-per-task", spec.gpusPerTask);
    add("--gres", spec.gres);
    add("--mem", spec.mem);
    add("--time", spec.time);
    add("--constraint", spec.constraint);
    add("--output", spec.output);
    add("--error", spec.error);
    add("--chdir", spec.workdir);
    add("--dependency", spec.dependency);
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
