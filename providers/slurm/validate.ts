// Input validation for SlurmJob, run in the provider's `check` so mistakes surface at
// `pulumi preview`, before anything reaches the cluster: the job's own fields and lifecycle settings
// here, sbatch options in validateSbatch.ts, the connection in validateConnection.ts. Pure modules only.
import type { SlurmJobInputs } from "./types";
import { parseSlurmMemory } from "./memory";
import { parseSlurmTime } from "./time";
import {
    HIDDEN,
    LINE_BREAK_OR_NUL,
    UNKNOWN,
    checkNonNegativeSeconds,
    checkPositiveInteger,
    describeValue,
    is,
    isGiven,
    isKnown,
    type Fail,
    type ValidationFailure,
} from "./validation";
import { checkExtraArgs, checkNoJobFieldsWithScript, checkScriptDirectives } from "./validateSbatch";
import { checkConnection } from "./validateConnection";
import { JOB_ID } from "./parse";
import { CLUSTER_CHECK_MODES, WAIT_FOR_VALUES } from "./types";

const MAX_JOB_NAME = 200;
/** logTailLines' bound: a few lines per poll are a progress report, not a copy of the log. */
const MAX_LOG_TAIL_LINES = 50;
const NAME = /^[A-Za-z0-9_.-]+$/;
const NAME_LIST = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const GPU_COUNT = /^([A-Za-z0-9_-]+:)?[1-9][0-9]*$/;
const GRES_ENTRY = "[A-Za-z0-9_]+(:[A-Za-z0-9_-]+)?(:[0-9]+)?";
const GRES = new RegExp(`^${GRES_ENTRY}(,${GRES_ENTRY})*$`);
const GRES_HAS_GPU = /(^|,)gpu(:|,|$)/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SIGNAL = /^(SIG)?[A-Z0-9]+$/;

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

function checkScriptAndCommand(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { script, command } = inputs;
    if (!isGiven(script) && !isGiven(command)) {
        fail(
            "command",
            "command = undefined and script = undefined: give one of them: command (run under #SBATCH lines built from jobName, partition, time, ...) or a whole script starting with #!",
        );
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

function checkJobFields(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { time, mem } = inputs;
    if (isKnown(time) && (typeof time !== "string" || parseSlurmTime(time) === undefined)) {
        fail(
            "time",
            `${is("time", time)}: is not a Slurm time limit; use "minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours", "days-hours:minutes" or "days-hours:minutes:seconds", e.g. "90", "2:00:00" or "14-00:00:00"`,
        );
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
        patternFix: 'must be a partition name or a comma list of them (letters, digits, "_", ".", "-")',
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
        fail(
            "gres",
            `${is("gres", gres)}: asks for GPUs and so do gpus/gpusPerTask; request GPUs one way: drop the gpu entry from gres, or drop gpus and gpusPerTask`,
        );
    }
    // sbatch 22.05: "--gpus-per-task used without either --gpus or -n/--ntasks is not allowed."
    if (typeof inputs.gpusPerTask === "string" && inputs.gpusPerTask !== UNKNOWN && !isGiven(inputs.ntasks) && !isGiven(inputs.gpus)) {
        fail(
            "gpusPerTask",
            `${is("gpusPerTask", inputs.gpusPerTask)}: Slurm refuses --gpus-per-task without --ntasks or --gpus ("--gpus-per-task used without either --gpus or -n/--ntasks is not allowed"); set ntasks (e.g. 1)`,
        );
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

function checkLifecycle(fail: Fail, inputs: Partial<SlurmJobInputs>): void {
    const { waitFor, cancelSignal, adoptJobId } = inputs;
    if (isKnown(waitFor) && !(WAIT_FOR_VALUES as readonly unknown[]).includes(waitFor)) {
        fail("waitFor", `${is("waitFor", waitFor)}: must be one of ${WAIT_FOR_VALUES.map((w) => `"${w}"`).join(", ")}`);
    }
    checkNonNegativeSeconds(fail, "waitTimeoutSeconds", inputs.waitTimeoutSeconds);
    checkNonNegativeSeconds(fail, "cancelGraceSeconds", inputs.cancelGraceSeconds);
    checkNonNegativeSeconds(fail, "deleteTimeoutSeconds", inputs.deleteTimeoutSeconds);
    const poll = inputs.waitPollSeconds;
    if (isKnown(poll) && !(typeof poll === "number" && Number.isFinite(poll) && poll >= 1)) {
        fail(
            "waitPollSeconds",
            `${is("waitPollSeconds", poll)}: must be at least 1 (second); busy clusters forbid frequent scheduler queries, so prefer 10 or more`,
        );
    }
    const checks = inputs.clusterChecks;
    if (isKnown(checks) && !(CLUSTER_CHECK_MODES as readonly unknown[]).includes(checks)) {
        fail(
            "clusterChecks",
            `${is("clusterChecks", checks)}: must be "up" (check against sinfo before submitting), "preview" (also during pulumi preview) or "off"`,
        );
    }
    checkNonNegativeSeconds(fail, "renewBeforeSeconds", inputs.renewBeforeSeconds);
    const readyTimeout = inputs.readyTimeoutSeconds;
    if (isKnown(readyTimeout) && !(typeof readyTimeout === "number" && Number.isFinite(readyTimeout) && readyTimeout >= 1)) {
        fail("readyTimeoutSeconds", `${is("readyTimeoutSeconds", readyTimeout)}: must be a number of seconds, 1 or more, such as 300`);
    }
    const tailLines = inputs.logTailLines;
    if (isKnown(tailLines) && !(typeof tailLines === "number" && Number.isInteger(tailLines) && tailLines >= 0 && tailLines <= MAX_LOG_TAIL_LINES)) {
        fail("logTailLines", `${is("logTailLines", tailLines)}: must be a whole number of lines from 0 (none) to ${MAX_LOG_TAIL_LINES}, such as 5`);
    }
    const eventFile = inputs.eventFile;
    if (isKnown(eventFile) && !(typeof eventFile === "string" && eventFile.includes("%j") && !/[\r\n\0]/.test(eventFile))) {
        fail(
            "eventFile",
            `${is("eventFile", eventFile)}: must be a path on the cluster containing %j (the job id) and no newline, such as "/blue/group/user/build_%j.done"`,
        );
    }
    const readyCheck = inputs.readyCheck;
    if (isKnown(readyCheck) && (typeof readyCheck !== "string" || readyCheck.trim() === "" || readyCheck.includes("\0"))) {
        fail("readyCheck", `${is("readyCheck", readyCheck)}: must be a non-empty bash script without NUL bytes, run on the login node once the job is RUNNING`);
    }
    if (isKnown(readyCheck) && isKnown(waitFor) && waitFor !== "running") {
        fail("readyCheck", `${is("waitFor", waitFor)}: readyCheck runs once the job is RUNNING; set waitFor to "running" or drop readyCheck`);
    }
    if (typeof inputs.renewBeforeSeconds === "number" && inputs.renewBeforeSeconds > 0 && isKnown(waitFor) && waitFor !== "running") {
        fail(
            "renewBeforeSeconds",
            `${is("renewBeforeSeconds", inputs.renewBeforeSeconds)}: renewal is for service jobs that wait for RUNNING; set waitFor to "running" or renewBeforeSeconds to 0`,
        );
    }
    const chainDir = inputs.chainDir;
    // One renewal mechanism: the chain's (chain.ts). 0.1.0 renewed by `pulumi up` without chainDir.
    if (typeof inputs.renewBeforeSeconds === "number" && inputs.renewBeforeSeconds > 0 && chainDir === undefined) {
        fail(
            "renewBeforeSeconds",
            `${is("renewBeforeSeconds", inputs.renewBeforeSeconds)} without chainDir: since 0.2.0 a job renews itself on the cluster, as a chain kept in chainDir ` +
                "(the renewal by `pulumi up` is gone); set chainDir to an absolute directory the compute nodes see, such as /blue/<group>/<user>/.chains, or renewBeforeSeconds to 0",
        );
    }
    if (isKnown(chainDir) && !(typeof chainDir === "string" && chainDir.startsWith("/") && !/[\0\n]/.test(chainDir))) {
        fail(
            "chainDir",
            `${is("chainDir", chainDir)}: must be an absolute directory on the cluster that compute nodes see, such as /blue/<group>/<user>/.chains`,
        );
    }
    if (isKnown(chainDir) && isKnown(inputs.script) && inputs.script !== undefined) {
        fail("chainDir", `${is("chainDir", chainDir)}: a chain wraps command (and the structured fields); use command instead of script, or drop chainDir`);
    }
    const chainPoll = inputs.chainPollSeconds;
    if (isKnown(chainPoll) && !(typeof chainPoll === "number" && Number.isInteger(chainPoll) && chainPoll >= 1)) {
        fail(
            "chainPollSeconds",
            `${is("chainPollSeconds", chainPoll)}: must be a whole number of seconds, 1 or more; busy clusters forbid frequent scheduler queries, so keep the default 60`,
        );
    }
    if (isKnown(cancelSignal) && !(cancelSignal === "" || (typeof cancelSignal === "string" && SIGNAL.test(cancelSignal)))) {
        fail(
            "cancelSignal",
            `${is("cancelSignal", cancelSignal)}: must be a signal name such as "TERM", "SIGTERM", "INT", "USR1" or "KILL", or "" to send none`,
        );
    }
    if (isKnown(adoptJobId) && !(typeof adoptJobId === "string" && JOB_ID.test(adoptJobId))) {
        fail("adoptJobId", `${is("adoptJobId", adoptJobId)}: must be a Slurm job id as a string of digits, e.g. "1234"`);
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
