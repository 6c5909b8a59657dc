import { describe, expect, it } from "vitest";
import { FIELD_POLICY, canonical, diffJob, scontrolUpdateArgv } from "../../../../providers/slurm/fields";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../../../providers/slurm/types";

const base: SlurmJobInputs = {
    connection: { host: "hpg.rc.ufl.edu", port: 22, user: "alice", privateKey: "KEY-1", hostKey: "ssh-ed25519 AAAA" },
    ownerTag: "pulumi:sparc-deploy/hpg/mas",
    command: "serve",
    jobName: "sparc-production-service",
    partition: "hpg-ai",
    time: "14-00:00:00",
    mem: "256gb",
    environment: { A: "1" },
    waitFor: "running",
    waitTimeoutSeconds: 600,
    waitPollSeconds: 10,
    cancelSignal: "TERM",
    cancelGraceSeconds: 30,
    deleteTimeoutSeconds: 300,
    clusterChecks: "up",
};
const state: SlurmJobOutputs = {
    ...base,
    jobId: "42",
    state: "RUNNING",
    reason: "",
    nodeList: "c1",
    submitTime: "",
    startTime: "",
    endTime: "",
    exitCode: "",
    stdoutPath: "",
    stderrPath: "",
    clusterName: "testcluster",
};

describe("diffJob: the field table", () => {
    it.each<[string, Partial<SlurmJobInputs>, Partial<ReturnType<typeof diffJob>>]>([
        ["nothing changed", {}, { replaces: [], scontrol: [], state: [] }],
        ["command replaces", { command: "other" }, { replaces: ["command"] }],
        ["partition replaces", { partition: "gpu" }, { replaces: ["partition"] }],
        ["memory replaces", { mem: "128gb" }, { replaces: ["mem"] }],
        ["environment replaces", { environment: { A: "2" } }, { replaces: ["environment"] }],
        ["environment key order does not matter", { environment: { A: "1" } }, { replaces: [] }],
        ["time changes in place", { time: "7-00:00:00" }, { replaces: [], scontrol: ["time"] }],
        ["job name changes in place", { jobName: "renamed" }, { scontrol: ["jobName"] }],
        ["removing the time limit replaces", { time: undefined }, { replaces: ["time"], scontrol: [] }],
        ["waitFor is Pulumi's business only", { waitFor: "submitted" }, { replaces: [], state: ["waitFor"] }],
        ["a new key does not touch the job", { connection: { ...base.connection, privateKey: "KEY-2" } }, { replaces: [], state: ["connection.privateKey"] }],
        [
            "another spelling of the host is recorded, not a new job (update checks the cluster)",
            { connection: { ...base.connection, host: "hpg" } },
            { replaces: [], state: ["connection.host"] },
        ],
        ["a stack rename (alias) changes the owner tag only in state", { ownerTag: "pulumi:sparc-deploy/renamed/mas" }, { replaces: [], state: ["ownerTag"] }],
        ["dropping adoptJobId after an adoption keeps the job", { adoptJobId: undefined }, { replaces: [] }],
        ["adoptJobId naming the held job keeps it", { adoptJobId: "42" }, { replaces: [], state: ["adoptJobId"] }],
        ["port 22 spelled out or not is the same", { connection: { ...base.connection, port: undefined } }, { replaces: [], state: [] }],
        [
            "another user name is recorded (update checks the job is still readable)",
            { connection: { ...base.connection, user: "bob" } },
            { replaces: [], state: ["connection.user"] },
        ],
        ["adopting another job replaces", { adoptJobId: "7" }, { replaces: ["adoptJobId"] }],
    ])("%s", (_label, change, expected) => {
        const d = diffJob(state, { ...base, ...change } as SlurmJobInputs);
        expect(d).toMatchObject(expected);
    });

    it.each(["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "PREEMPTED"])("a %s service job is replaced on the next up", (ended) => {
        expect(diffJob({ ...state, state: ended }, base).replaces).toEqual(["state"]);
    });

    it.each(["FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL"])("a job meant to complete that ended %s is submitted again", (ended) => {
        expect(diffJob({ ...state, state: ended }, { ...base, waitFor: "completed" }).replaces).toEqual(["state"]);
    });

    it("a job meant to complete that COMPLETED stays finished", () => {
        expect(diffJob({ ...state, state: "COMPLETED" }, { ...base, waitFor: "completed" }).replaces).toEqual([]);
    });

    it.each(["PENDING", "RUNNING", "SUSPENDED", "COMPLETING"])("a %s job is kept", (live) => {
        expect(diffJob({ ...state, state: live }, base).replaces).toEqual([]);
    });

    it("has a policy for every input", () => {
        const keys = Object.keys(FIELD_POLICY);
        expect(keys).toEqual(expect.arrayContaining(Object.keys(base)));
        expect(new Set(Object.values(FIELD_POLICY))).toEqual(new Set(["replace", "scontrol", "state"]));
    });
});

describe("scontrolUpdateArgv", () => {
    it("builds one update for the in-place fields", () => {
        expect(scontrolUpdateArgv("42", { ...base, time: "7-00:00:00", jobName: "a b" }, ["jobName", "time"])).toEqual([
            "scontrol",
            "update",
            "JobId=42",
            "JobName=a b",
            "TimeLimit=7-00:00:00",
        ]);
    });
    it("refuses a field scontrol cannot change", () => {
        expect(() => scontrolUpdateArgv("42", base, ["partition"])).toThrow(/cannot be changed with scontrol/);
    });
});

describe("canonical", () => {
    it.each<[unknown, unknown, boolean]>([
        [undefined, null, true],
        [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
        [{ a: 1, b: undefined }, { a: 1 }, true],
        [["x", "y"], ["y", "x"], false],
        [1, "1", false],
    ])("%j vs %j", (a, b, same) => {
        expect(canonical(a) === canonical(b)).toBe(same);
    });
});

describe("connection.messages is message text only", () => {
    const messages = { keyNames: { port: "clusterPort", hostKey: "clusterHostKey" }, passwordPortFix: "use port 2222" };
    it.each<[string, SlurmJobOutputs, SlurmJobInputs]>([
        // A state written by 0.1.0 has no messages; the first up after an upgrade passes them.
        ["added to a state that has none", state, { ...base, connection: { ...base.connection, messages } }],
        ["removed", { ...state, connection: { ...state.connection, messages } }, base],
        [
            "changed",
            { ...state, connection: { ...state.connection, messages } },
            { ...base, connection: { ...base.connection, messages: { keyNames: { port: "p" } } } },
        ],
    ])("SlurmJob: %s: no change at all (no replace, no update, so no login)", (_what, olds, news) => {
        expect(diffJob(olds, news)).toEqual({ replaces: [], scontrol: [], state: [] });
    });

    it("RemoteCommand: messages added to a recorded state: no change", async () => {
        const { remoteCommandProvider } = await import("../../../../providers/remote/remoteCommand");
        const inputs = { connection: base.connection, create: ["true"], description: "d", timeoutSeconds: 60 };
        const olds = { ...inputs, stdout: "", stderr: "", skipped: false };
        const news = { ...inputs, connection: { ...base.connection, messages } };
        expect(await remoteCommandProvider.diff!("id", olds, news)).toMatchObject({ changes: false, replaces: [] });
        expect(await remoteCommandProvider.diff!("id", olds, { ...news, description: "other" })).toMatchObject({ changes: true, replaces: [] });
    });

    it("is not part of the pool key: the same login serves a connection with and without it", async () => {
        const { connectionKey } = await import("../../../../providers/remote/connection");
        expect(connectionKey({ ...base.connection, messages })).toBe(connectionKey(base.connection));
    });
});
