import { describe, expect, it } from "vitest";
import { validateJobInputs } from "../../../../providers/slurm/validate";
import { UNKNOWN, describeValue } from "../../../../providers/slurm/validation";
import type { SlurmJobInputs } from "../../../../providers/slurm/types";
import { fakePrivateKey } from "../../../support/fake-key";

// Inputs as the provider's check() receives them; loose on purpose so wrong types can be tested.
type Inputs = Record<string, unknown>;

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOS+u4OQjKIgpL7/KcQEU28OdGVzdGhvc3RrZXkxMjM0";
const PRIVATE_KEY = fakePrivateKey("b3BlbnNzaC1rZXktdjEAAAAAtopsecretbody");

const connection = { host: "hpg.rc.ufl.edu", user: "gatoruser", hostKey: HOST_KEY, privateKey: PRIVATE_KEY };

const lifecycle = {
    ownerTag: "pulumi:sparc/hpg/mas",
    waitFor: "running",
    waitTimeoutSeconds: 600,
    cancelSignal: "TERM",
    cancelGraceSeconds: 30,
    deleteTimeoutSeconds: 120,
};

/** The reference HiPerGator MAS job, as structured fields (with the task count sbatch needs for --gpus-per-task). */
const referenceJob: Inputs = {
    jobName: "sparc-production-service",
    partition: "hpg-ai",
    nodes: 1,
    ntasks: 1,
    gpusPerTask: "4",
    cpusPerTask: 32,
    mem: "256gb",
    time: "14-00:00:00",
    output: "sparc_service_%j.log",
    command: "apptainer exec --nv /blue/x/mas_server.sif uvicorn main:app --host 0.0.0.0 --port 8000",
    connection,
    ...lifecycle,
};

const referenceScriptJob: Inputs = {
    script: "#!/bin/bash\n#SBATCH --job-name=sparc-production-service\n#SBATCH --partition=hpg-ai\napptainer exec --nv mas.sif uvicorn main:app\n",
    connection,
    ...lifecycle,
};

/** Apply a patch; a key patched to undefined is removed. */
function patched(base: Inputs, patch: Inputs): Partial<SlurmJobInputs> {
    const result: Inputs = { ...base, ...patch };
    for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) {
            delete result[key];
        }
    }
    return result as Partial<SlurmJobInputs>;
}

const job = (patch: Inputs): Partial<SlurmJobInputs> => patched(referenceJob, patch);
const scriptJob = (patch: Inputs): Partial<SlurmJobInputs> => patched(referenceScriptJob, patch);
const withConnection = (patch: Inputs): Partial<SlurmJobInputs> => job({ connection: { ...connection, ...patch } });

interface FailureCase {
    name: string;
    inputs: Partial<SlurmJobInputs>;
    property: string;
    reason: string;
}

const failureCases: FailureCase[] = [
    // script / command
    { name: "neither script nor command", inputs: job({ command: undefined }), property: "command", reason: "give one of them" },
    { name: "both script and command", inputs: scriptJob({ command: "echo hi" }), property: "command", reason: "conflicts with script" },
    {
        name: "script without #!",
        inputs: scriptJob({ script: "echo hi\n" }),
        property: "script",
        reason: "The first line must start with #! followed by the path to an interpreter",
    },
    { name: "script with a leading blank line", inputs: scriptJob({ script: "\n#!/bin/bash\n" }), property: "script", reason: "#!/bin/bash" },
    { name: "script not a string", inputs: scriptJob({ script: 5 }), property: "script", reason: "must be a string" },
    { name: "blank command", inputs: job({ command: "  " }), property: "command", reason: "non-empty string" },
    { name: "command with NUL", inputs: job({ command: "echo \0" }), property: "command", reason: "NUL" },
    // structured fields next to script
    { name: "partition with script", inputs: scriptJob({ partition: "hpg-ai" }), property: "partition", reason: "#SBATCH --partition=" },
    { name: "time with script", inputs: scriptJob({ time: "1:00:00" }), property: "time", reason: "drop script and use command" },
    { name: "nodes with script", inputs: scriptJob({ nodes: 1 }), property: "nodes", reason: "#SBATCH --nodes=" },
    { name: "workdir with script", inputs: scriptJob({ workdir: "/blue/x" }), property: "workdir", reason: "#SBATCH --chdir=" },
    { name: "environment with script", inputs: scriptJob({ environment: { RIVA_URI: "riva:50051" } }), property: "environment", reason: "export NAME=value" },
    { name: "extraArgs with script", inputs: scriptJob({ extraArgs: ["--exclusive"] }), property: "extraArgs", reason: "one #SBATCH line per argument" },
    // time and memory
    { name: "time abc", inputs: job({ time: "abc" }), property: "time", reason: '"abc": is not a Slurm time limit' },
    { name: "time with 4 parts", inputs: job({ time: "1:2:3:4" }), property: "time", reason: "14-00:00:00" },
    { name: "time as a number", inputs: job({ time: 90 }), property: "time", reason: "time = 90" },
    { name: "mem 1.5G", inputs: job({ mem: "1.5G" }), property: "mem", reason: '"1.5G": is not a Slurm memory size' },
    { name: "mem with a space", inputs: job({ mem: "10 G" }), property: "mem", reason: "256gb" },
    // counts
    { name: "nodes 0", inputs: job({ nodes: 0 }), property: "nodes", reason: "positive integer" },
    { name: "nodes as a string", inputs: job({ nodes: "1" }), property: "nodes", reason: 'nodes = "1"' },
    { name: "ntasks 1.5", inputs: job({ ntasks: 1.5 }), property: "ntasks", reason: "positive integer" },
    { name: "cpusPerTask -1", inputs: job({ cpusPerTask: -1 }), property: "cpusPerTask", reason: "cpusPerTask = -1" },
    // #SBATCH text fields
    { name: "empty jobName", inputs: job({ jobName: "" }), property: "jobName", reason: "is empty" },
    { name: "jobName with newline", inputs: job({ jobName: "a\nb" }), property: "jobName", reason: "newline" },
    { name: "jobName too long", inputs: job({ jobName: "x".repeat(201) }), property: "jobName", reason: "at most 200" },
    { name: "jobName not a string", inputs: job({ jobName: 7 }), property: "jobName", reason: "must be a string" },
    { name: "output with carriage return", inputs: job({ output: "a\rb.log" }), property: "output", reason: "carriage return" },
    { name: "error with NUL", inputs: job({ error: "a\0b" }), property: "error", reason: "NUL" },
    { name: "empty workdir", inputs: job({ workdir: "" }), property: "workdir", reason: "is empty" },
    { name: "constraint with newline", inputs: job({ constraint: "a100\n#SBATCH --x" }), property: "constraint", reason: "newline" },
    { name: "empty dependency", inputs: job({ dependency: "" }), property: "dependency", reason: "is empty" },
    { name: "partition with a space", inputs: job({ partition: "hpg ai" }), property: "partition", reason: "comma list" },
    { name: "partition list with empty item", inputs: job({ partition: "a,,b" }), property: "partition", reason: '"a,,b"' },
    { name: "account list", inputs: job({ account: "a,b" }), property: "account", reason: "one account name" },
    { name: "qos with a slash", inputs: job({ qos: "x/y" }), property: "qos", reason: "one qos name" },
    { name: "gpus 0", inputs: job({ gpus: "0" }), property: "gpus", reason: '"a100:4"' },
    { name: "gpusPerTask without count", inputs: job({ gpusPerTask: "a100:" }), property: "gpusPerTask", reason: "GPU count" },
    { name: "gpusPerTask 4.5", inputs: job({ gpusPerTask: "4.5" }), property: "gpusPerTask", reason: '"4.5"' },
    { name: "gres with a space", inputs: job({ gpusPerTask: undefined, gres: "gpu a100" }), property: "gres", reason: "name[:type][:count]" },
    { name: "gres gpu next to gpusPerTask", inputs: job({ gres: "gpu:a100:2" }), property: "gres", reason: "request GPUs one way" },
    {
        name: "gpusPerTask without ntasks or gpus (sbatch refuses it)",
        inputs: job({ ntasks: undefined }),
        property: "gpusPerTask",
        reason: "--gpus-per-task used without either --gpus or -n/--ntasks is not allowed",
    },
    {
        name: "gres gpu in a list next to gpus",
        inputs: job({ gpusPerTask: undefined, gpus: "2", gres: "shard:1,gpu:1" }),
        property: "gres",
        reason: "request GPUs one way",
    },
    // environment
    { name: "environment key starting with a digit", inputs: job({ environment: { "1BAD": "x" } }), property: "environment", reason: '"1BAD"' },
    { name: "environment key with a dash", inputs: job({ environment: { "MY-VAR": "x" } }), property: "environment", reason: "shell variable name" },
    { name: "environment value with NUL", inputs: job({ environment: { TOKEN: "a\0b" } }), property: "environment.TOKEN", reason: "NUL byte at index 1" },
    { name: "environment value not a string", inputs: job({ environment: { PORT: 8000 } }), property: "environment.PORT", reason: "must be a string" },
    { name: "environment as a list", inputs: job({ environment: ["A=1"] }), property: "environment", reason: 'NAME: "value" pairs' },
    // extraArgs
    { name: "extraArgs item without dash", inputs: job({ extraArgs: ["exclusive"] }), property: "extraArgs[0]", reason: 'starting with "-"' },
    { name: "extraArgs item with newline", inputs: job({ extraArgs: ["--ok", "--comment=a\nb"] }), property: "extraArgs[1]", reason: "newline" },
    { name: "extraArgs as a string", inputs: job({ extraArgs: "--exclusive" }), property: "extraArgs", reason: "must be a list" },
    // lifecycle
    { name: "waitFor done", inputs: job({ waitFor: "done" }), property: "waitFor", reason: '"submitted", "running", "completed"' },
    { name: "negative waitTimeoutSeconds", inputs: job({ waitTimeoutSeconds: -1 }), property: "waitTimeoutSeconds", reason: "0 or more" },
    {
        name: "infinite cancelGraceSeconds",
        inputs: job({ cancelGraceSeconds: Infinity }),
        property: "cancelGraceSeconds",
        reason: "cancelGraceSeconds = Infinity",
    },
    { name: "NaN deleteTimeoutSeconds", inputs: job({ deleteTimeoutSeconds: NaN }), property: "deleteTimeoutSeconds", reason: "deleteTimeoutSeconds = NaN" },
    { name: "lower-case signal", inputs: job({ cancelSignal: "term" }), property: "cancelSignal", reason: '"TERM"' },
    { name: "signal with a space", inputs: job({ cancelSignal: "SIG TERM" }), property: "cancelSignal", reason: '"SIG TERM"' },
    { name: "adoptJobId not digits", inputs: job({ adoptJobId: "abc" }), property: "adoptJobId", reason: "string of digits" },
    { name: "adoptJobId 0", inputs: job({ adoptJobId: "0" }), property: "adoptJobId", reason: '"0"' },
    { name: "adoptJobId as a number", inputs: job({ adoptJobId: 1234 }), property: "adoptJobId", reason: "adoptJobId = 1234" },
    // connection
    { name: "no connection", inputs: job({ connection: undefined }), property: "connection", reason: "host, user and hostKey" },
    { name: "connection as a string", inputs: job({ connection: "hpg" }), property: "connection", reason: "(hidden) (a string)" },
    { name: "empty host", inputs: withConnection({ host: "" }), property: "connection.host", reason: "without spaces" },
    { name: "host with a space", inputs: withConnection({ host: "hpg .rc" }), property: "connection.host", reason: '"hpg .rc"' },
    { name: "missing host", inputs: withConnection({ host: undefined }), property: "connection.host", reason: "connection.host = undefined" },
    { name: "user starting with a digit", inputs: withConnection({ user: "1user" }), property: "connection.user", reason: '"1user"' },
    { name: "user with a space", inputs: withConnection({ user: "a b" }), property: "connection.user", reason: "user name on the cluster" },
    { name: "port 0", inputs: withConnection({ port: 0 }), property: "connection.port", reason: "1 to 65535" },
    { name: "messages as text", inputs: withConnection({ messages: "hpgPort" }), property: "connection.messages", reason: "keyNames" },
    {
        name: "messages.keyNames not text",
        inputs: withConnection({ messages: { keyNames: { port: 2222 } } }),
        property: "connection.messages",
        reason: "clusterPort",
    },
    { name: "port 70000", inputs: withConnection({ port: 70000 }), property: "connection.port", reason: "70000" },
    { name: "port as a string", inputs: withConnection({ port: "22" }), property: "connection.port", reason: '"22"' },
    {
        name: "missing hostKey",
        inputs: withConnection({ hostKey: undefined }),
        property: "connection.hostKey",
        reason: "ssh-keyscan -t ed25519 hpg.rc.ufl.edu",
    },
    {
        name: "missing hostKey says to compare fingerprints",
        inputs: withConnection({ hostKey: undefined }),
        property: "connection.hostKey",
        reason: "fingerprints the site publishes",
    },
    {
        name: "missing hostKey, insecure false",
        inputs: withConnection({ hostKey: undefined, insecureIgnoreHostKey: false }),
        property: "connection.hostKey",
        reason: "insecureIgnoreHostKey: true",
    },
    {
        name: "hostKey as ssh-keyscan prints it",
        inputs: withConnection({ hostKey: `hpg.rc.ufl.edu ${HOST_KEY}` }),
        property: "connection.hostKey",
        reason: "without the leading host name",
    },
    { name: "hostKey not base64", inputs: withConnection({ hostKey: "not a key!" }), property: "connection.hostKey", reason: '"not a key!"' },
    {
        name: "hostKey with unknown type word",
        inputs: withConnection({ hostKey: "ed25519 AAAAC3Nza" }),
        property: "connection.hostKey",
        reason: '"TYPE BASE64"',
    },
    {
        name: "insecureIgnoreHostKey as a string",
        inputs: withConnection({ insecureIgnoreHostKey: "yes" }),
        property: "connection.insecureIgnoreHostKey",
        reason: "true or false",
    },
    {
        name: "privateKey is a path",
        inputs: withConnection({ privateKey: "/home/me/.ssh/id_ed25519" }),
        property: "connection.privateKey",
        reason: "connection.privateKey = (hidden)",
    },
    {
        name: "passphrase not a string",
        inputs: withConnection({ passphrase: 1234 }),
        property: "connection.passphrase",
        reason: "connection.passphrase = (hidden)",
    },
    { name: "empty agentSocket", inputs: withConnection({ agentSocket: "" }), property: "connection.agentSocket", reason: "SSH_AUTH_SOCK" },
    {
        name: "keyboard answers as a string",
        inputs: withConnection({ keyboardInteractiveAnswers: "push" }),
        property: "connection.keyboardInteractiveAnswers",
        reason: "(hidden)",
    },
    { name: "dialAttempts 0", inputs: withConnection({ dialAttempts: 0 }), property: "connection.dialAttempts", reason: "positive integer" },
    { name: "dialTimeoutSeconds 0", inputs: withConnection({ dialTimeoutSeconds: 0 }), property: "connection.dialTimeoutSeconds", reason: "above 0" },
    { name: "empty readyCheck", inputs: job({ readyCheck: " " }), property: "readyCheck", reason: "non-empty bash script" },
    {
        name: "readyCheck without waiting for RUNNING",
        inputs: job({ readyCheck: "true", waitFor: "submitted" }),
        property: "readyCheck",
        reason: 'set waitFor to "running"',
    },
    { name: "readyTimeoutSeconds 0", inputs: job({ readyTimeoutSeconds: 0 }), property: "readyTimeoutSeconds", reason: "1 or more" },
    { name: "negative renewBeforeSeconds", inputs: job({ renewBeforeSeconds: -1 }), property: "renewBeforeSeconds", reason: "0 or more" },
    {
        name: "renewal of a job that is waited for to completion",
        inputs: job({ renewBeforeSeconds: 3600, waitFor: "completed", chainDir: "/blue/g/u/.chains" }),
        property: "renewBeforeSeconds",
        reason: 'set waitFor to "running"',
    },
    {
        // 0.1.0's renewal by `pulumi up`, gone in 0.2.0: the error says what to set instead.
        name: "renewal without chainDir",
        inputs: job({ renewBeforeSeconds: 3600 }),
        property: "renewBeforeSeconds",
        reason: "renewBeforeSeconds = 3600 without chainDir: since 0.2.0 a job renews itself on the cluster, as a chain kept in chainDir",
    },
];

describe("validateJobInputs: one failure per broken rule", () => {
    it.each(failureCases)("$name -> $property", ({ inputs, property, reason }) => {
        const failures = validateJobInputs(inputs);
        expect(failures).toHaveLength(1);
        expect(failures[0]?.property).toBe(property);
        expect(failures[0]?.reason).toContain(reason);
        // Every reason names its field.
        expect(failures[0]?.reason).toContain(property);
    });
});

describe("validateJobInputs: valid inputs", () => {
    it.each([
        { name: "the reference HiPerGator job", inputs: job({}) },
        { name: "the reference job as a whole script", inputs: scriptJob({}) },
        {
            name: "connection.messages (a caller's key names and fix)",
            inputs: withConnection({ messages: { keyNames: { port: "clusterPort" }, passwordPortFix: "use 2222" } }),
        },
        {
            name: "every optional job field",
            inputs: job({
                account: "ufl",
                qos: "ufl-b",
                constraint: "a100&el9",
                dependency: "afterok:123",
                error: "err_%j.log",
                workdir: "/blue/x",
                ntasks: 1,
                gpus: "a100:4",
                environment: { A_1: "x y", _B: "" },
                extraArgs: ["--exclusive", "--signal=B:TERM@120"],
                adoptJobId: "1234",
            }),
        },
        { name: "a partition list", inputs: job({ partition: "hpg-ai,hpg-default" }) },
        { name: "gres without GPUs asked elsewhere", inputs: job({ gpusPerTask: undefined, gres: "gpu:a100:2" }) },
        { name: "non-GPU gres next to gpusPerTask", inputs: job({ gres: "shard:2" }) },
        { name: "gpus and gpusPerTask together", inputs: job({ gpus: "8" }) },
        { name: "UNLIMITED time, memory in T", inputs: job({ time: "UNLIMITED", mem: "1T" }) },
        { name: "no cancel signal", inputs: job({ cancelSignal: "" }) },
        { name: "SIG-prefixed signal", inputs: job({ cancelSignal: "SIGUSR1" }) },
        { name: "zero timeouts", inputs: job({ waitTimeoutSeconds: 0, cancelGraceSeconds: 0, deleteTimeoutSeconds: 0 }) },
        { name: "only the connection and command (the resource class fills the rest)", inputs: { command: "true", connection } as Partial<SlurmJobInputs> },
        { name: "bare base64 host key", inputs: withConnection({ hostKey: HOST_KEY.split(" ")[1] }) },
        { name: "host key from a .pub file, comment and newline", inputs: withConnection({ hostKey: `${HOST_KEY} root@vm\n` }) },
        { name: "ecdsa host key", inputs: withConnection({ hostKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=" }) },
        { name: "no host key with insecureIgnoreHostKey", inputs: withConnection({ hostKey: undefined, insecureIgnoreHostKey: true }) },
        {
            name: "agent instead of a key, port and MFA answers",
            inputs: withConnection({
                privateKey: undefined,
                agentSocket: "/run/agent.sock",
                port: 2222,
                keyboardInteractiveAnswers: ["push"],
                dialAttempts: 3,
                dialTimeoutSeconds: 20,
            }),
        },
        { name: "the test cluster's user", inputs: withConnection({ host: "127.0.0.1", user: "hpcuser" }) },
        {
            name: "a service job with readiness and renewal",
            inputs: job({ readyCheck: "curl -fsS http://$2/health", readyTimeoutSeconds: 300, renewBeforeSeconds: 172_800, chainDir: "/blue/g/u/.chains" }),
        },
        { name: "renewal off", inputs: job({ renewBeforeSeconds: 0 }) },
    ])("$name", ({ inputs }) => {
        expect(validateJobInputs(inputs)).toEqual([]);
    });
});

describe("validateJobInputs: values unknown at preview are skipped", () => {
    it.each([
        { name: "script unknown, no command", inputs: scriptJob({ script: UNKNOWN }) },
        { name: "script unknown next to job fields", inputs: job({ script: UNKNOWN }) },
        { name: "command unknown", inputs: job({ command: UNKNOWN }) },
        {
            name: "every job field unknown",
            inputs: job({
                jobName: UNKNOWN,
                partition: UNKNOWN,
                account: UNKNOWN,
                qos: UNKNOWN,
                time: UNKNOWN,
                nodes: UNKNOWN,
                ntasks: UNKNOWN,
                cpusPerTask: UNKNOWN,
                mem: UNKNOWN,
                gpus: UNKNOWN,
                gpusPerTask: UNKNOWN,
                gres: UNKNOWN,
                constraint: UNKNOWN,
                output: UNKNOWN,
                error: UNKNOWN,
                workdir: UNKNOWN,
                dependency: UNKNOWN,
                extraArgs: UNKNOWN,
                environment: UNKNOWN,
            }),
        },
        { name: "unknown gres next to gpusPerTask", inputs: job({ gres: UNKNOWN }) },
        { name: "gres gpu next to unknown gpusPerTask", inputs: job({ gres: "gpu:1", gpusPerTask: UNKNOWN }) },
        { name: "unknown environment values and extraArgs items", inputs: job({ environment: { IMAGE: UNKNOWN }, extraArgs: [UNKNOWN, "--exclusive"] }) },
        {
            name: "lifecycle unknown",
            inputs: job({
                waitFor: UNKNOWN,
                waitTimeoutSeconds: UNKNOWN,
                cancelSignal: UNKNOWN,
                cancelGraceSeconds: UNKNOWN,
                deleteTimeoutSeconds: UNKNOWN,
                adoptJobId: UNKNOWN,
            }),
        },
        { name: "whole connection unknown", inputs: job({ connection: UNKNOWN }) },
        {
            name: "every connection field unknown",
            inputs: job({
                connection: {
                    host: UNKNOWN,
                    user: UNKNOWN,
                    port: UNKNOWN,
                    hostKey: UNKNOWN,
                    privateKey: UNKNOWN,
                    passphrase: UNKNOWN,
                    agentSocket: UNKNOWN,
                    insecureIgnoreHostKey: UNKNOWN,
                    keyboardInteractiveAnswers: UNKNOWN,
                    dialAttempts: UNKNOWN,
                    dialTimeoutSeconds: UNKNOWN,
                },
            }),
        },
        { name: "no hostKey while insecureIgnoreHostKey is unknown", inputs: withConnection({ hostKey: undefined, insecureIgnoreHostKey: UNKNOWN }) },
    ])("$name", ({ inputs }) => {
        expect(validateJobInputs(inputs)).toEqual([]);
    });

    it("still checks the known fields next to unknown ones", () => {
        const failures = validateJobInputs(job({ partition: UNKNOWN, time: "abc" }));
        expect(failures.map((f) => f.property)).toEqual(["time"]);
    });
});

describe("validateJobInputs never reveals secrets", () => {
    it("keeps private key, passphrase, MFA answers and environment values out of every reason", () => {
        const secrets = ["NOT-A-KEY-but-secret-4711", "pass-secret-0815", "otp-secret-2468", "env-secret-1357"];
        const failures = validateJobInputs(
            job({
                environment: { API_KEY: `${secrets[3]}\0` },
                connection: {
                    host: "hpg.rc.ufl.edu",
                    user: "gatoruser",
                    privateKey: secrets[0],
                    passphrase: { value: secrets[1] },
                    keyboardInteractiveAnswers: [secrets[2], 5],
                },
            }),
        );
        expect(failures.map((f) => f.property).sort()).toEqual(
            ["connection.hostKey", "connection.keyboardInteractiveAnswers", "connection.passphrase", "connection.privateKey", "environment.API_KEY"].sort(),
        );
        const text = JSON.stringify(failures);
        for (const secret of secrets) {
            expect(text).not.toContain(secret);
        }
    });

    it("does not print a malformed connection that holds a key", () => {
        const failures = validateJobInputs(job({ connection: [{ privateKey: PRIVATE_KEY }] }));
        expect(failures).toHaveLength(1);
        expect(JSON.stringify(failures)).not.toContain("topsecretbody");
        expect(failures[0]?.reason).toContain("(hidden) (an array)");
    });
});

describe("describeValue", () => {
    it.each([
        { value: "abc", text: '"abc"' },
        { value: 5, text: "5" },
        { value: undefined, text: "undefined" },
        { value: null, text: "null" },
        { value: Infinity, text: "Infinity" },
        { value: NaN, text: "NaN" },
        { value: ["a"], text: '["a"]' },
        { value: "a\nb", text: '"a\\nb"' },
        { value: 10n, text: "10" },
    ])("$text", ({ value, text }) => {
        expect(describeValue(value)).toBe(text);
    });

    it("cuts long values to 80 characters", () => {
        const text = describeValue("x".repeat(500));
        expect(text).toHaveLength(80);
        expect(text.startsWith('"xxx')).toBe(true);
        expect(text.endsWith("...")).toBe(true);
        expect(describeValue("x".repeat(78))).toHaveLength(80);
    });
});
