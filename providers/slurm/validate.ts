// Input validation for SlurmJob, run in the provider's `check` so mistakes surface at
// `pulumi preview`, before anything reaches the cluster. No imports except local pure modules:
// captured into the provider's serialized closure.

import type { SlurmJobInputs } from "./types";
import { parseSlurmMemory } from "./memory";
import { parseSlurmTime } from "./time";

/** What Pulumi sends for a value that is not known yet during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface ValidationFailure {
    property: string;
    reason: string;
}

type Fail = (property: string, reason: string) => void;

const MAX_SHOWN = 80;
const HIDDEN = "(hidden)";
const MAX_JOB_NAME = 200;
const POSITIVE_ID = /^[1-9][0-9]*$/;
const LINE_BREAK_OR_NUL = /[\n\r\0]/;
const NAME = /^[A-Za-z0-9_.-]+$/;
const NAME_LIST = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const GPU_COUNT = /^([A-Za-z0-9_-]+:)?[1-9][0-9]*$/;
const GRES_ENTRY = "[A-Za-z0-9_]+(:[A-Za-z0-9_-]+)?(:[0-9]+)?";
const GRES = new RegExp(`^${GRES_ENTRY}(,${GRES_ENTRY})*$`);
const GRES_HAS_GPU = /(^|,)gpu(:|,|$)/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SIGNAL = /^(SIG)?[A-Z0-9]+$/;
const SSH_USER = /^[a-z_][a-z0-9_.-]*$/i;
const HOST_KEY_WITH_TYPE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp[0-9]+) [A-Za-z0-9+/]+={0,2}( [^\n]*)?$/;
const HOST_KEY_BARE = /^[A-Za-z0-9+/]+={0,2}$/;
const WAIT_FOR = ["submitted", "running", "completed"];

/** The sbatch option behind each job field ("" = none); with `script` they must live in the script instead. */
const SBATCH_OPTION_OF: Readonly<Record<string, string>> = {
    jobName: "--job-name",
    partition: "--partition",
    account: "--account",
    qos: "--qos",
    time: "--time",
    nodes: "--nodes",
    ntasks: "--ntasks",
    cpusPerTask: "--cpus-per-task",
    mem: "--mem",
    gpus: "--gpus",
    gpusPerTask: "--gpus-per-task",
    gres: "--gres",
    constraint: "--constraint",
    output: "--output",
    error: "--error",
    workdir: "--chdir",
    environment: "",
    dependency: "--dependency",
    extraArgs: "",
};

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

function isGiven(v: unknown): boolean {
    return v !== undefined && v !== null;
}

/** Given and known: only such values can be checked at preview. */
function isKnown(v: unknown): boolean {
    return isGiven(v) && v !== UNKNOWN;
}

function is(property: string, value: unknown): string {
    return `${property} = ${describeValue(value)}`;
}

interface TextRule {
    pattern?: RegExp;
    patternFix?: string;
    maxLength?: number;
}

/** A string that ends up in an #SBATCH line: non-empty, one line, optionally a pattern. */
function checkSbatchText(fail: Fail, property: string, value: unknown, rule: TextRule): void {
    if (!isKnown(value)) {
        return;
    }
    if (typeof value !== "string") {
        fail(property, `${is(property, value)}: must be a string; quote it, e.g. "${String(value)}"`);
        return;
    }
    if (value === "") {
        fail(property, `${is(property, value)}: is empty; give a value or leave ${property} out`);
        return;
    }
    if (LINE_BREAK_OR_NUL.test(value)) {
        fail(property, `${is(property, value)}: contains a newline, carriage return or NUL byte, but it goes into one #SBATCH line; remove them`);
        return;
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
        fail(property, `${is(property, value)}: is ${value.length} characters long; shorten it to at most ${rule.maxLength}`);
        return;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
        fail(property, `${is(property, value)}: ${rule.patternFix ?? `must match ${String(rule.pattern)}`}`);
    }
}

function checkPositiveInteger(fail: Fail, property: string, value: unknown): void {
    if (isKnown(value) && !(typeof value === "number" && Number.isInteger(value) && value > 0)) {
        fail(property, `${is(property, value)}: must be a positive integer such as 1; fix the number or leave ${property} out`);
    }
}

function checkNonNegativeSeconds(fail: Fail, property: string, value: unknown): void {
    if (isKnown(value) && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
        fail(property, `${is(property, value)}: must be a finite number of seconds, 0 or more, such as 600`);
    }
}

function checkScriptAndCommand(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { script, command } = inputs;
    if (!isGiven(script) && !isGiven(command)) {
        fail("command", "command = undefined and script = undefined: give one of them: command (run under #SBATCH lines built from jobName, partition, time, ...) or a whole script starting with #!");
    }
    if (isKnown(script) && isKnown(command)) {
        fail("command", `${is("command", command)}: conflicts with script; give either a whole script or command with the job fields, not both`);
    }
    if (isKnown(script)) {
        if (typeof script !== "string") {
            fail("script", `${is("script", script)}: must be a string holding the whole batch script`);
        } else if (!script.startsWith("#!")) {
            fail(
                "script",
                `${is("script", script)}: sbatch rejects it ("This does not look like a batch script. The first line must start with #! followed by the path to an interpreter. For instance: #!/bin/sh"); make the first line e.g. #!/bin/bash`,
            );
        }
    }
    if (isKnown(command)) {
        if (typeof command !== "string" || command.trim() === "") {
            fail("command", `${is("command", command)}: must be a non-empty string holding the shell command the job runs`);
        } else if (command.includes("\0")) {
            fail("command", `${is("command", command)}: contains a NUL byte, which no shell script can carry; remove it`);
        }
    }
}

function checkNoJobFieldsWithScript(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
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
        const where = property === "environment" ? "export lines (export NAME=value)" : option === "" ? "one #SBATCH line per argument" : `an #SBATCH line (#SBATCH ${option}=...)`;
        fail(property, `${is(property, value)}: conflicts with script, which is used as is; put it in the script as ${where}, or drop script and use command`);
    }
}

function checkJobFields(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { time, mem } = inputs;
    if (isKnown(time) && (typeof time !== "string" || parseSlurmTime(time) === undefined)) {
        fail("time", `${is("time", time)}: is not a Slurm time limit; use "minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours", "days-hours:minutes" or "days-hours:minutes:seconds", e.g. "90", "2:00:00" or "14-00:00:00"`);
    }
    if (isKnown(mem) && (typeof mem !== "string" || parseSlurmMemory(mem) === undefined)) {
        fail("mem", `${is("mem", mem)}: is not a Slurm memory size; use an integer with an optional unit K, M, G or T, e.g. "4096M", "100G" or "256gb"`);
    }
    checkPositiveInteger(fail, "nodes", inputs.nodes);
    checkPositiveInteger(fail, "ntasks", inputs.ntasks);
    checkPositiveInteger(fail, "cpusPerTask", inputs.cpusPerTask);

    checkSbatchText(fail, "jobName", inputs.jobName, { maxLength: MAX_JOB_NAME });
    checkSbatchText(fail, "partition", inputs.partition, {
        pattern: NAME_LIST,
        patternFix: 'must be a partition name or a comma list of them (letters, digits, "_", ".", "-"), e.g. "hpg-ai"',
    });
    for (const property of ["account", "qos"] as const) {
        checkSbatchText(fail, property, inputs[property], {
            pattern: NAME,
            patternFix: `must be one ${property} name (letters, digits, "_", ".", "-")`,
        });
    }
    for (const property of ["gpus", "gpusPerTask"] as const) {
        checkSbatchText(fail, property, inputs[property], {
            pattern: GPU_COUNT,
            patternFix: 'must be a GPU count, optionally with a type: e.g. "4" or "a100:4"',
        });
    }
    checkSbatchText(fail, "gres", inputs.gres, {
        pattern: GRES,
        patternFix: 'must be a GRES list name[:type][:count], e.g. "gpu:a100:2" or "gpu:1"',
    });
    for (const property of ["constraint", "dependency", "output", "error", "workdir"] as const) {
        checkSbatchText(fail, property, inputs[property], {});
    }

    const gres = inputs.gres;
    if (typeof gres === "string" && gres !== UNKNOWN && GRES_HAS_GPU.test(gres) && (isKnown(inputs.gpus) || isKnown(inputs.gpusPerTask))) {
        fail("gres", `${is("gres", gres)}: asks for GPUs and so do gpus/gpusPerTask; request GPUs one way: drop the gpu entry from gres, or drop gpus and gpusPerTask`);
    }
    // sbatch 22.05: "--gpus-per-task used without either --gpus or -n/--ntasks is not allowed."
    if (typeof inputs.gpusPerTask === "string" && inputs.gpusPerTask !== UNKNOWN && !isGiven(inputs.ntasks) && !isGiven(inputs.gpus)) {
        fail("gpusPerTask", `${is("gpusPerTask", inputs.gpusPerTask)}: Slurm refuses --gpus-per-task without --ntasks or --gpus ("--gpus-per-task used without either --gpus or -n/--ntasks is not allowed"); set ntasks (e.g. 1)`);
    }
}

function checkEnvironment(fail: Fail, environment: unknown): void {
    if (!isKnown(environment)) {
        return;
    }
    if (typeof environment !== "object" || Array.isArray(environment)) {
        fail("environment", `${is("environment", environment)}: must be an object of NAME: "value" pairs`);
        return;
    }
    for (const [name, value] of Object.entries(environment as Record<string, unknown>)) {
        if (!ENV_NAME.test(name)) {
            fail("environment", `environment key ${describeValue(name)}: is not a shell variable name; use letters, digits and "_", not starting with a digit`);
        }
        if (value === UNKNOWN) {
            continue;
        }
        // Environment values may be secrets (API keys), so they are never shown.
        const property = `environment.${name}`;
        if (typeof value !== "string") {
            fail(property, `${property} = ${HIDDEN} (a ${typeof value}): must be a string; quote it`);
        } else if (value.includes("\0")) {
            fail(property, `${property} = ${HIDDEN}: contains a NUL byte at index ${value.indexOf("\0")}, which no shell variable can hold; remove it`);
        }
    }
}

function checkExtraArgs(fail: Fail, extraArgs: unknown): void {
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
            return "job arrays are not supported: their ids (\"123_0\") are not one job; create one SlurmJob per task instead";
        case "--clusters":
        case "-M":
            return "--clusters is not supported: the job id would be \"123;cluster\"; point connection at the cluster's own login node instead";
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
function checkScriptDirectives(fail: Fail, script: unknown): void {
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
            fail("script", `script line ${describeValue(line)}: heterogeneous jobs are not supported: their ids ("123+0") are not one job; use one SlurmJob per component`);
            continue;
        }
        const refused = refusedSbatchOption(option);
        if (refused !== undefined && !/^(--parsable|--comment)/.test(option)) {
            fail("script", `script line ${describeValue(line)}: ${refused}`);
        }
    }
}

function checkLifecycle(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { waitFor, cancelSignal, adoptJobId } = inputs;
    if (isKnown(waitFor) && !WAIT_FOR.includes(waitFor as string)) {
        fail("waitFor", `${is("waitFor", waitFor)}: must be one of ${WAIT_FOR.map((w) => `"${w}"`).join(", ")}`);
    }
    checkNonNegativeSeconds(fail, "waitTimeoutSeconds", inputs.waitTimeoutSeconds);
    checkNonNegativeSeconds(fail, "cancelGraceSeconds", inputs.cancelGraceSeconds);
    checkNonNegativeSeconds(fail, "deleteTimeoutSeconds", inputs.deleteTimeoutSeconds);
    const poll = inputs.waitPollSeconds;
    if (isKnown(poll) && !(typeof poll === "number" && Number.isFinite(poll) && poll >= 1)) {
        fail("waitPollSeconds", `${is("waitPollSeconds", poll)}: must be at least 1 (second); busy clusters such as HiPerGator forbid frequent scheduler queries, so prefer 10 or more`);
    }
    const checks = inputs.clusterChecks;
    if (isKnown(checks) && !["up", "preview", "off"].includes(checks as string)) {
        fail("clusterChecks", `${is("clusterChecks", checks)}: must be "up" (check against sinfo before submitting), "preview" (also during pulumi preview) or "off"`);
    }
    checkNonNegativeSeconds(fail, "renewBeforeSeconds", inputs.renewBeforeSeconds);
    const readyTimeout = inputs.readyTimeoutSeconds;
    if (isKnown(readyTimeout) && !(typeof readyTimeout === "number" && Number.isFinite(readyTimeout) && readyTimeout >= 1)) {
        fail("readyTimeoutSeconds", `${is("readyTimeoutSeconds", readyTimeout)}: must be a number of seconds, 1 or more, such as 300`);
    }
    const readyCheck = inputs.readyCheck;
    if (isKnown(readyCheck) && (typeof readyCheck !== "string" || readyCheck.trim() === "" || readyCheck.includes("\0"))) {
        fail("readyCheck", `${is("readyCheck", readyCheck)}: must be a non-empty bash script without NUL bytes, run on the login node once the job is RUNNING`);
    }
    if (isKnown(readyCheck) && isKnown(waitFor) && waitFor !== "running") {
        fail("readyCheck", `${is("waitFor", waitFor)}: readyCheck runs once the job is RUNNING; set waitFor to "running" or drop readyCheck`);
    }
    if (typeof inputs.renewBeforeSeconds === "number" && inputs.renewBeforeSeconds > 0 && isKnown(waitFor) && waitFor !== "running") {
        fail("renewBeforeSeconds", `${is("renewBeforeSeconds", inputs.renewBeforeSeconds)}: renewal is for service jobs that wait for RUNNING; set waitFor to "running" or renewBeforeSeconds to 0`);
    }
    if (isKnown(cancelSignal) && !(cancelSignal === "" || (typeof cancelSignal === "string" && SIGNAL.test(cancelSignal)))) {
        fail("cancelSignal", `${is("cancelSignal", cancelSignal)}: must be a signal name such as "TERM", "SIGTERM", "INT", "USR1" or "KILL", or "" to send none`);
    }
    if (isKnown(adoptJobId) && !(typeof adoptJobId === "string" && POSITIVE_ID.test(adoptJobId))) {
        fail("adoptJobId", `${is("adoptJobId", adoptJobId)}: must be a Slurm job id as a string of digits, e.g. "1234"`);
    }
}

function checkConnection(fail: Fail, connection: unknown): void {
    if (connection === UNKNOWN) {
        return;
    }
    if (!isGiven(connection) || typeof connection !== "object" || Array.isArray(connection)) {
        // Never print the value: a malformed connection may still hold the private key.
        const shown = isGiven(connection) ? `${HIDDEN} (${Array.isArray(connection) ? "an array" : `a ${typeof connection}`})` : "undefined";
        fail("connection", `connection = ${shown}: give an object with host, user and hostKey (and privateKey or an ssh-agent) for the cluster's login node`);
        return;
    }
    const c = connection as Record<string, unknown>;
    const { host, user, port, hostKey, insecureIgnoreHostKey, privateKey, passphrase, agentSocket, keyboardInteractiveAnswers } = c;

    if (host !== UNKNOWN && (typeof host !== "string" || host === "" || /\s/.test(host))) {
        fail("connection.host", `${is("connection.host", host)}: must be the login node's host name or address without spaces, e.g. "hpg.rc.ufl.edu"`);
    }
    if (user !== UNKNOWN && !(typeof user === "string" && SSH_USER.test(user))) {
        fail("connection.user", `${is("connection.user", user)}: must be your user name on the cluster, e.g. "gatorlink_id"`);
    }
    if (isKnown(port) && !(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) {
        fail("connection.port", `${is("connection.port", port)}: must be a TCP port from 1 to 65535; leave it out for 22`);
    }
    if (isKnown(insecureIgnoreHostKey) && typeof insecureIgnoreHostKey !== "boolean") {
        fail("connection.insecureIgnoreHostKey", `${is("connection.insecureIgnoreHostKey", insecureIgnoreHostKey)}: must be true or false`);
    }
    const hostForHint = typeof host === "string" && host !== "" && host !== UNKNOWN ? host : "HOST";
    if (!isGiven(hostKey) && insecureIgnoreHostKey !== true && insecureIgnoreHostKey !== UNKNOWN) {
        fail(
            "connection.hostKey",
            `connection.hostKey = undefined: required to pin the login node's identity; get it with \`ssh-keyscan -t ed25519 ${hostForHint}\`, compare its fingerprint (\`ssh-keygen -lf\`) with the fingerprints the site publishes, and pass the "ssh-ed25519 AAAA..." part; set insecureIgnoreHostKey: true only for a throwaway test cluster`,
        );
    } else if (isKnown(hostKey)) {
        const key = typeof hostKey === "string" ? hostKey.trim() : "";
        if (!(HOST_KEY_WITH_TYPE.test(key) || HOST_KEY_BARE.test(key))) {
            fail(
                "connection.hostKey",
                `${is("connection.hostKey", hostKey)}: must be a public host key "TYPE BASE64" such as "ssh-ed25519 AAAAC3Nza...", or the base64 part alone; take it from \`ssh-keyscan -t ed25519 ${hostForHint}\` without the leading host name`,
            );
        }
    }
    if (isKnown(privateKey) && !(typeof privateKey === "string" && privateKey.includes("PRIVATE KEY"))) {
        fail("connection.privateKey", `connection.privateKey = ${HIDDEN}: does not contain "PRIVATE KEY"; give the private key file's text itself (its first line is a BEGIN ... PRIVATE KEY header), not its path or the public key`);
    }
    if (isKnown(passphrase) && typeof passphrase !== "string") {
        fail("connection.passphrase", `connection.passphrase = ${HIDDEN}: must be a string`);
    }
    if (isKnown(agentSocket) && (typeof agentSocket !== "string" || agentSocket === "")) {
        fail("connection.agentSocket", `${is("connection.agentSocket", agentSocket)}: must be the path of the ssh-agent socket; leave it out to use $SSH_AUTH_SOCK`);
    }
    if (isKnown(keyboardInteractiveAnswers) && !(Array.isArray(keyboardInteractiveAnswers) && keyboardInteractiveAnswers.every((a) => typeof a === "string"))) {
        // Answers can be one-time passcodes: never shown.
        fail("connection.keyboardInteractiveAnswers", `connection.keyboardInteractiveAnswers = ${HIDDEN}: must be a list of strings, e.g. ["push"]`);
    }
    const transport = c["transport"];
    if (isKnown(transport) && transport !== "ssh2" && transport !== "openssh") {
        fail("connection.transport", `${is("connection.transport", transport)}: must be "ssh2" (in-process, pooled) or "openssh" (the system ssh with a shared ControlMaster login, honours ~/.ssh/config)`);
    }
    for (const pathKey of ["identityFile", "controlPath"]) {
        const value = c[pathKey];
        if (isKnown(value) && (typeof value !== "string" || LINE_BREAK_OR_NUL.test(value))) {
            fail(`connection.${pathKey}`, `${is(`connection.${pathKey}`, value)}: must be a file path on this machine`);
        }
    }
    checkPositiveInteger(fail, "connection.dialAttempts", c["dialAttempts"]);
    const commandTimeout = c["commandTimeoutSeconds"];
    if (isKnown(commandTimeout) && !(typeof commandTimeout === "number" && Number.isFinite(commandTimeout) && commandTimeout >= 5)) {
        fail("connection.commandTimeoutSeconds", `${is("connection.commandTimeoutSeconds", commandTimeout)}: must be a number of seconds, at least 5 (a busy slurmctld answers within MessageTimeout, 10 s by default); leave it out for 60 s per query and 120 s for sbatch`);
    }
    const dialTimeout = c["dialTimeoutSeconds"];
    if (isKnown(dialTimeout) && !(typeof dialTimeout === "number" && Number.isFinite(dialTimeout) && dialTimeout > 0)) {
        fail("connection.dialTimeoutSeconds", `${is("connection.dialTimeoutSeconds", dialTimeout)}: must be a number of seconds above 0, e.g. 20`);
    }
}

/**
 * Everything wrong with a SlurmJob's inputs, one entry per problem; [] when they are fine.
 * Values still UNKNOWN at preview are skipped. Secrets are never echoed.
 */
export function validateJobInputs(inputs: Partial<SlurmJobInputs>): ValidationFailure[] {
    const failures: ValidationFailure[] = [];
    const fail: Fail = (property, reason) => {
        failures.push({ property, reason });
    };
    checkScriptAndCommand(fail, inputs);
    checkNoJobFieldsWithScript(fail, inputs);
    checkScriptDirectives(fail, inputs.script);
    checkJobFields(fail, inputs);
    checkEnvironment(fail, inputs.environment);
    checkExtraArgs(fail, inputs.extraArgs);
    checkLifecycle(fail, inputs);
    checkConnection(fail, inputs.connection);
    return failures;
}
