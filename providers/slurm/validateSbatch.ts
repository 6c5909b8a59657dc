// sbatch options SlurmJob cannot pass (arrays, other clusters, its own --parsable/--comment), in
// extraArgs or in a whole script's #SBATCH lines, and job fields that a whole script would drop. Pure.
import type { SlurmJobInputs } from "./types";
import { SBATCH_OPTION_OF } from "./render";
import { LINE_BREAK_OR_NUL, UNKNOWN, describeValue, is, isKnown, type Fail } from "./validation";

export function checkNoJobFieldsWithScript(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    if (!isKnown(inputs.script)) {
        return;
    }
    const fields = inputs as Record<string, unknown>;
    for (const [property, option] of Object.entries(SBATCH_OPTION_OF)) {
        const value = fields[property];
        if (!isKnown(value)) {
            continue;
        }
        // render.ts uses a script as is, so anything here would be silently dropped.
        const where =
            property === "environment"
                ? "export lines (export NAME=value)"
                : option === ""
                  ? "one #SBATCH line per argument"
                  : `an #SBATCH line (#SBATCH ${option}=...)`;
        fail(property, `${is(property, value)}: conflicts with script, which is used as is; put it in the script as ${where}, or drop script and use command`);
    }
}

export function checkExtraArgs(fail: Fail, extraArgs: unknown): void {
    if (!isKnown(extraArgs)) {
        return;
    }
    if (!Array.isArray(extraArgs)) {
        fail("extraArgs", `${is("extraArgs", extraArgs)}: must be a list of whole sbatch arguments, e.g. ["--exclusive"]`);
        return;
    }
    extraArgs.forEach((arg: unknown, index) => {
        const property = `extraArgs[${index}]`;
        if (arg === UNKNOWN) {
            return;
        }
        if (typeof arg !== "string" || !arg.startsWith("-")) {
            fail(property, `${is(property, arg)}: must be one whole sbatch option starting with "-", e.g. "--exclusive" or "--signal=B:TERM@120"`);
        } else if (LINE_BREAK_OR_NUL.test(arg)) {
            fail(property, `${is(property, arg)}: contains a newline, carriage return or NUL byte; remove them`);
        } else {
            const refused = refusedSbatchOption(arg);
            if (refused !== undefined) {
                fail(property, `${is(property, arg)}: ${refused}`);
            }
        }
    });
}

/**
 * Why SlurmJob cannot pass an sbatch option, or undefined. One SlurmJob is one plain job
 * whose id is an integer: arrays ("123_0"), heterogeneous jobs ("123+0") and other
 * clusters ("123;c") would be read as gone and never cancelled; the provider itself
 * sets --parsable and --comment, renders the script (no --wrap) and must submit (no --test-only).
 */
export function refusedSbatchOption(arg: string): string | undefined {
    const name = /^(--[A-Za-z-]+|-[A-Za-z])/.exec(arg)?.[1] ?? arg;
    switch (name) {
        case "--array":
        case "-a":
            return 'job arrays are not supported: their ids ("123_0") are not one job; create one SlurmJob per task instead';
        case "--clusters":
        case "-M":
            return '--clusters is not supported: the job id would be "123;cluster"; point connection at the cluster\'s own login node instead';
        case "--wrap":
            return "--wrap conflicts with the script SlurmJob renders; put the command in command instead";
        case "--test-only":
            return "--test-only submits nothing, so there would be no job to track; remove it";
        case "--parsable":
            return "SlurmJob passes --parsable itself; remove it";
        case "--comment":
            return "SlurmJob uses --comment for its ownership tag and script hash (how an interrupted submission is found again); remove it, or put notes in jobName";
        default:
            return undefined;
    }
}

/** #SBATCH lines of a whole script that SlurmJob cannot track ("hetjob" separators, --array, --clusters). */
export function checkScriptDirectives(fail: Fail, script: unknown): void {
    if (typeof script !== "string" || script === UNKNOWN) {
        return;
    }
    for (const line of script.split("\n")) {
        const m = /^#SBATCH\s+(\S+)/.exec(line);
        if (m === null) {
            continue;
        }
        const option = m[1];
        if (/^(hetjob|packjob)$/.test(option)) {
            fail(
                "script",
                `script line ${describeValue(line)}: heterogeneous jobs are not supported: their ids ("123+0") are not one job; use one SlurmJob per component`,
            );
            continue;
        }
        const refused = refusedSbatchOption(option);
        if (refused !== undefined && !/^(--parsable|--comment)/.test(option)) {
            fail("script", `script line ${describeValue(line)}: ${refused}`);
        }
    }
}
