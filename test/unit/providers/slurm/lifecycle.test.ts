// The SlurmJob lifecycle markers, without a cluster: the resource's ownership nonce (drawn by
// check for a new resource, kept from the old inputs after), the goalPending marker that makes
// diff ask for an update that waits again, and read()'s notice of a requeued job (requeue.ts).
import { describe, expect, it } from "vitest";
import { slurmJobProvider } from "../../../../providers/slurm/provider";
import { jobMoved } from "../../../../providers/slurm/requeue";
import { isOwnerNonce } from "../../../../providers/slurm/ownership";
import { JOURNAL_DIR_ENV, journalDir, journalDirs, journalLeftovers, journalRecord } from "../../../../providers/slurm/journal";
import type { JobStatusFields, SlurmJobInputs, SlurmJobOutputs } from "../../../../providers/slurm/types";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;

const inputs = {
    command: "serve",
    ownerTag: "pulumi:p/s/svc",
    connection: { host: "hpg.rc.ufl.edu", user: "u", hostKey: "ssh-ed25519 AAAA" },
    waitFor: "running",
    clusterChecks: "up",
} as SlurmJobInputs;

describe("check: the ownership nonce", () => {
    it("draws one for a new resource, a different one for each", async () => {
        const a = (await provider.check({} as SlurmJobInputs, inputs)).inputs as SlurmJobInputs;
        const b = (await provider.check({} as SlurmJobInputs, inputs)).inputs as SlurmJobInputs;
        expect(isOwnerNonce(a.ownerNonce)).toBe(true);
        expect(b.ownerNonce).not.toBe(a.ownerNonce);
    });

    it.each<[string, unknown, boolean]>([
        ["kept from the old inputs", "0123456789abcdef", true],
        ["drawn for a state from before the nonce", undefined, false],
        ["drawn when the old one is not a nonce", "not-a-nonce", false],
    ])("%s", async (_label, old, kept) => {
        const olds = { ...inputs, ownerNonce: old } as SlurmJobInputs;
        const out = (await provider.check(olds, { ...inputs, ownerNonce: undefined })).inputs as SlurmJobInputs;
        expect(isOwnerNonce(out.ownerNonce)).toBe(true);
        expect(out.ownerNonce === old).toBe(kept);
    });

    it("a new nonce on a state from before it is recorded by an update, never a replace", async () => {
        const olds = { ...inputs, jobId: "7", state: "RUNNING" } as SlurmJobOutputs;
        expect(await provider.diff("7", olds, { ...inputs, ownerNonce: "0123456789abcdef" })).toEqual({
            changes: true,
            replaces: [],
            deleteBeforeReplace: true,
        });
    });
});

describe("diff: goalPending", () => {
    const nonce = { ownerNonce: "0123456789abcdef" };
    it.each<[string, Partial<SlurmJobOutputs>, boolean]>([
        ["a job short of its goal (init failure, then a refresh): update", { goalPending: true, state: "RUNNING" }, true],
        ["a job that reached its goal: nothing", { goalPending: false, state: "RUNNING" }, false],
        ["a state from before the marker: nothing", { state: "RUNNING" }, false],
    ])("%s", async (_label, over, changes) => {
        const olds = { ...inputs, ...nonce, jobId: "7", ...over } as SlurmJobOutputs;
        expect(await provider.diff("7", olds, { ...inputs, ...nonce })).toEqual({ changes, replaces: [], deleteBeforeReplace: true });
    });
});

describe("jobMoved: a requeued job", () => {
    const rec: Partial<JobStatusFields> = { state: "RUNNING", startTime: "2026-12-04T02:00:00", nodeList: "c1" };
    const now = (over: Partial<JobStatusFields>): JobStatusFields => ({
        jobId: "7",
        state: "RUNNING",
        reason: "None",
        nodeList: "c1",
        submitTime: "2026-12-04T01:59:00",
        startTime: "2026-12-04T02:00:00",
        endTime: "2026-12-04T03:00:00",
        exitCode: "0:0",
        ...over,
    });
    it.each<[string, Partial<JobStatusFields>, JobStatusFields, RegExp | ""]>([
        ["still running where it was", rec, now({}), ""],
        ["pending again", rec, now({ state: "PENDING", reason: "BeginTime", startTime: "Unknown" }), /left RUNNING for PENDING \(BeginTime\)/],
        [
            "running again, on another node",
            rec,
            now({ startTime: "2026-12-04T02:30:00", nodeList: "c2" }),
            /started again at 2026-12-04T02:30:00 on c2 \(was .* on c1/,
        ],
        ["ended: not a move (diff replaces an ended service)", rec, now({ state: "CANCELLED" }), ""],
        ["recorded PENDING: its start was only an estimate", { ...rec, state: "PENDING" }, now({ startTime: "2026-12-04T02:30:00" }), ""],
        ["recorded without a start time (older state)", { state: "RUNNING" }, now({}), ""],
    ])("%s", (_label, recorded, status, expected) => {
        const moved = jobMoved(recorded, status);
        if (expected === "") {
            expect(moved).toBe("");
        } else {
            expect(moved).toMatch(expected);
        }
    });
});

describe("journal: jobs a create holds before their id reaches the engine", () => {
    it("a record is found by the next create of the same resource on this machine until forgotten; other resources never see it", () => {
        const fs = require("node:fs") as typeof import("node:fs");
        const os = require("node:os") as typeof import("node:os");
        const path = require("node:path") as typeof import("node:path");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-journal-"));
        const before = process.env[JOURNAL_DIR_ENV];
        process.env[JOURNAL_DIR_ENV] = dir;
        try {
            const record = journalRecord(inputs, "0123456789abcdef", "deadbeef");
            record.setJob("42");
            const found = journalLeftovers(inputs);
            expect(found.entries).toMatchObject([
                { ownerTag: inputs.ownerTag, host: "hpg.rc.ufl.edu", user: "u", nonce: "0123456789abcdef", attempt: "deadbeef", jobId: "42" },
            ]);
            expect(journalLeftovers({ ...inputs, ownerTag: "pulumi:p/s/other" }).entries).toEqual([]);
            expect(journalLeftovers({ ...inputs, connection: { ...inputs.connection, user: "v" } }).entries).toEqual([]);
            // No secret goes into the journal.
            expect(
                fs
                    .readdirSync(dir)
                    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
                    .join(""),
            ).not.toContain("hostKey");
            found.forget();
            expect(journalLeftovers(inputs).entries).toEqual([]);
            journalRecord(inputs, "0123456789abcdef", "cafef00d").forget();
            expect(fs.readdirSync(dir)).toEqual([]);
        } finally {
            if (before === undefined) {
                delete process.env[JOURNAL_DIR_ENV];
            } else {
                process.env[JOURNAL_DIR_ENV] = before;
            }
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it.each<[string, NodeJS.ProcessEnv, string, string[]]>([
        [
            "default: under XDG_STATE_HOME, and 0.1.0's directory searched for leftovers too",
            { XDG_STATE_HOME: "/s" },
            "/s/slurm-provider/journal",
            ["/s/slurm-provider/journal", "/s/sparc-deploy/slurm-journal"],
        ],
        ["SLURM_PROVIDER_JOURNAL_DIR: only there", { XDG_STATE_HOME: "/s", SLURM_PROVIDER_JOURNAL_DIR: "/j" }, "/j", ["/j"]],
        ["0.1.0's SPARC_SLURM_JOURNAL_DIR (deprecated): still honoured", { XDG_STATE_HOME: "/s", SPARC_SLURM_JOURNAL_DIR: "/old" }, "/old", ["/old"]],
        ["the new name wins", { SLURM_PROVIDER_JOURNAL_DIR: "/j", SPARC_SLURM_JOURNAL_DIR: "/old" }, "/j", ["/j"]],
    ])("where: %s", (_what, env, dir, searched) => {
        expect(journalDir(env)).toBe(dir);
        expect(journalDirs(env)).toEqual(searched);
    });
});
