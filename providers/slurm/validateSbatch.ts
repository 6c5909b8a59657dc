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
        } else if (/\s/.test(arg.split("=")[0] as string)) {
            // render.ts quotes only the value after "=": a blank before it would end the option on the
            // #SBATCH line and start another one there (sbatch reads every word of the line).
            fail(
                property,
                `${is(property, arg)}: one entry is one option; a blank before "=" would start a second option on its #SBATCH line. ` +
                    'Put each option in its own entry, in the form "--name=value" (e.g. ["--exclusive", "--job-name=my job"])',
            );
        } else {
            const refused = refusedSbatchOption(arg);
            if (refused !== undefined) {
                fail(property, `${is(property, arg)}: ${refused}`);
            }
        }
    });
}

/** A refused sbatch option: its full name (e.g. "--array") and why SlurmJob cannot pass it. */
export interface RefusedOption {
    option: string;
    reason: string;
}

// Why each option is refused. One SlurmJob is one plain job whose id is an integer: arrays ("123_0"),
// heterogeneous jobs ("123+0") and other clusters ("123;c") would be read as gone and never cancelled;
// the provider itself sets --parsable and --comment, renders the script (no --wrap) and must submit
// (no --test-only). Slurm 22.05 has both --cluster and --clusters (-M).
const REFUSED_LONG: readonly [string, string][] = [
    ["array", 'job arrays are not supported: their ids ("123_0") are not one job; create one SlurmJob per task instead'],
    ["clusters", '--clusters is not supported: the job id would be "123;cluster"; point connection at the cluster\'s own login node instead'],
    ["cluster", '--cluster is not supported: the job id would be "123;cluster"; point connection at the cluster\'s own login node instead'],
    ["wrap", "--wrap conflicts with the script SlurmJob renders; put the command in command instead"],
    ["test-only", "--test-only submits nothing, so there would be no job to track; remove it"],
    ["parsable", "SlurmJob passes --parsable itself; remove it"],
    [
        "comment",
        "SlurmJob uses --comment for its ownership tag and script hash (how an interrupted submission is found again); remove it, or put notes in jobName",
    ],
];
const REFUSED_SHORT: Readonly<Record<string, string>> = { a: "array", M: "clusters" };
// sbatch's short options that take no argument (sbatch --help, 22.05): in a bundle such as "-HMc"
// the next letter is another option. Any other letter takes the rest of the word as its value.
const SHORT_WITHOUT_ARGUMENT = new Set(["H", "O", "Q", "s", "v", "W", "h", "V"]);

function refusedLong(name: string): RefusedOption | undefined {
    const entry = REFUSED_LONG.find(([n]) => n === name) ?? REFUSED_LONG.find(([n]) => name !== "" && n.startsWith(name));
    if (entry === undefined) {
        return undefined;
    }
    const [full, reason] = entry;
    // sbatch (getopt_long) takes any unambiguous prefix of a long option as that option ("--arr=1-3" is --array).
    return { option: `--${full}`, reason: full === name ? reason : `"--${name}" is sbatch's abbreviation of --${full} (or ambiguous): ${reason}` };
}

/**
 * Why SlurmJob cannot pass one sbatch argument, or undefined: the refused options by their full
 * names, their aliases, any prefix sbatch would take for them, and short options, also inside a
 * bundle of flags ("-Ha1-3" is --hold --array=1-3), as the real sbatch reads them.
 */
export function refusedSbatchArgument(arg: string): RefusedOption | undefined {
    if (arg.startsWith("--")) {
        return refusedLong(arg.slice(2).split("=")[0] as string);
    }
    if (!arg.startsWith("-")) {
        return undefined;
    }
    for (const letter of arg.slice(1)) {
        const long = REFUSED_SHORT[letter];
        if (long !== undefined) {
            const found = refusedLong(long) as RefusedOption;
            return {
                option: found.option,
                reason: arg.length > 2 && arg[1] !== letter ? `"-${letter}" inside "${arg}" is ${found.option}: ${found.reason}` : found.reason,
            };
        }
        if (!SHORT_WITHOUT_ARGUMENT.has(letter)) {
            return undefined;
        }
    }
    return undefined;
}

/** Why SlurmJob cannot pass one sbatch argument (refusedSbatchArgument's reason), or undefined. */
export function refusedSbatchOption(arg: string): string | undefined {
    return refusedSbatchArgument(arg)?.reason;
}

/**
 * The words of an #SBATCH line as sbatch reads them (sbatch/opt.c _get_argument): blanks separate
 * words, an unquoted "#" ends the line, double quotes group and a backslash inside them escapes.
 */
export function sbatchLineWords(rest: string): string[] {
    const words: string[] = [];
    let i = 0;
    while (i < rest.length) {
        while (i < rest.length && /\s/.test(rest[i] as string)) {
            i++;
        }
        if (i >= rest.length || rest[i] === "#") {
            break;
        }
        let word = "";
        let quoted = false;
        for (; i < rest.length; i++) {
            const ch = rest[i] as string;
            if (quoted && ch === "\\" && i + 1 < rest.length) {
                word += rest[++i];
            } else if (ch === '"') {
                quoted = !quoted;
            } else if (!quoted && (/\s/.test(ch) || ch === "#")) {
                break;
            } else {
                word += ch;
            }
        }
        words.push(word);
    }
    return words;
}

/** #SBATCH lines of a whole script that SlurmJob cannot track ("hetjob" separators, --array, --clusters), every word of each line. */
export function checkScriptDirectives(fail: Fail, script: unknown): void {
    if (typeof script !== "string" || script === UNKNOWN) {
        return;
    }
    for (const line of script.split("\n")) {
        // sbatch reads the words right after "#SBATCH", with or without a blank ("#SBATCH--array=1-2" is an array).
        const m = /^#SBATCH(.*)$/.exec(line);
        if (m === null) {
            continue;
        }
        const words = sbatchLineWords(m[1] ?? "");
        if (/^(hetjob|packjob)$/.test(words[0] ?? "")) {
            fail(
                "script",
                `script line ${describeValue(line)}: heterogeneous jobs are not supported: their ids ("123+0") are not one job; use one SlurmJob per component`,
            );
            continue;
        }
        for (const word of words) {
            const refused = refusedSbatchArgument(word);
            // sbatch's command line (the provider's own --parsable and --comment) wins over a script's.
            if (refused !== undefined && refused.option !== "--parsable" && refused.option !== "--comment") {
                fail("script", `script line ${describeValue(line)}: ${refused.reason}`);
                break;
            }
        }
    }
}
