import { describe, expect, it } from "vitest";
import { isOwnerNonce, jobComment, newAttemptId, newOwnerNonce, parseJobComment, scriptHash } from "../../../../providers/slurm/ownership";
import { POLL_FLOOR_AFTER_SECONDS, POLL_FLOOR_SECONDS, nextPollPause } from "../../../../providers/slurm/polling";
import { parseClusterName } from "../../../../providers/slurm/parse";
import { afterOutputMarker, OUTPUT_MARKER, withOutputMarker } from "../../../../providers/remote/connection";
import { validateJobInputs } from "../../../../providers/slurm/validate";
import { refusedSbatchOption } from "../../../../providers/slurm/validateSbatch";

describe("ownership comment", () => {
    it.each<[string, ReturnType<typeof parseJobComment>]>([
        [
            "pulumi:p/s/mas script=0123456789abcdef attempt=deadbeef",
            { ownerTag: "pulumi:p/s/mas", scriptHash: "0123456789abcdef", attempt: "deadbeef", nonce: "" },
        ],
        [
            "pulumi:p/s/mas script=0123456789abcdef attempt=deadbeef nonce=00112233445566ff",
            { ownerTag: "pulumi:p/s/mas", scriptHash: "0123456789abcdef", attempt: "deadbeef", nonce: "00112233445566ff" },
        ],
        [
            "pulumi:p/s/a name with spaces script=0123456789abcdef attempt=00000000",
            { ownerTag: "pulumi:p/s/a name with spaces", scriptHash: "0123456789abcdef", attempt: "00000000", nonce: "" },
        ],
        // A job of an older version: the bare tag.
        ["pulumi:p/s/mas", { ownerTag: "pulumi:p/s/mas", scriptHash: "", attempt: "", nonce: "" }],
        ["", { ownerTag: "", scriptHash: "", attempt: "", nonce: "" }],
        ["pulumi:p/s/mas script=XYZ attempt=1", { ownerTag: "pulumi:p/s/mas script=XYZ attempt=1", scriptHash: "", attempt: "", nonce: "" }],
        // A malformed nonce is not a nonce: the comment is not ours.
        [
            "pulumi:p/s/mas script=0123456789abcdef attempt=deadbeef nonce=xyz",
            { ownerTag: "pulumi:p/s/mas script=0123456789abcdef attempt=deadbeef nonce=xyz", scriptHash: "", attempt: "", nonce: "" },
        ],
    ])("%j", (comment, parsed) => {
        expect(parseJobComment(comment)).toEqual(parsed);
    });

    it("round-trips, and the hash follows the script", () => {
        const hash = scriptHash("#!/bin/bash\ntrue\n");
        expect(hash).toMatch(/^[0-9a-f]{16}$/);
        expect(scriptHash("#!/bin/bash\nfalse\n")).not.toBe(hash);
        const attempt = newAttemptId();
        expect(attempt).toMatch(/^[0-9a-f]{8}$/);
        expect(newAttemptId()).not.toBe(attempt);
        expect(parseJobComment(jobComment("pulumi:p/s/n", hash, attempt))).toEqual({ ownerTag: "pulumi:p/s/n", scriptHash: hash, attempt, nonce: "" });
        const nonce = newOwnerNonce();
        expect(isOwnerNonce(nonce)).toBe(true);
        expect(newOwnerNonce()).not.toBe(nonce);
        expect(parseJobComment(jobComment("pulumi:p/s/n", hash, attempt, nonce))).toEqual({ ownerTag: "pulumi:p/s/n", scriptHash: hash, attempt, nonce });
    });
});

describe("polling policy", () => {
    it.each<[number, number, number, number]>([
        // previous pause, elapsed, max -> next
        [1, 0, 60, 1.5],
        [4, 10, 60, 6],
        [40, 10, 60, 60],
        [1, 59.5, 60, POLL_FLOOR_SECONDS],
        [2, 70, 60, POLL_FLOOR_SECONDS],
        [100, 300, 120, 120],
        [0.1, 0, 60, 1],
    ])("after %s s, %s s into the wait (max %s) -> %s s", (previous, elapsed, max, next) => {
        expect(nextPollPause(previous, elapsed, max)).toBe(next);
    });

    it("a 300 s delete wait never queries more often than every 10 s after the first minute", () => {
        let t = 0;
        let pause = 1;
        const times: number[] = [];
        while (t < 300) {
            t += pause;
            times.push(t);
            pause = nextPollPause(pause, t, 60);
        }
        const late = times.filter((x) => x > POLL_FLOOR_AFTER_SECONDS);
        for (let i = 1; i < late.length; i++) {
            expect(late[i] - late[i - 1]).toBeGreaterThanOrEqual(POLL_FLOOR_SECONDS);
        }
        // Measured with this table: queries in a full 300 s wait.
        expect(times.length).toBeLessThanOrEqual(15);
    });
});

describe("ClusterName", () => {
    it("reads it from scontrol show config", () => {
        expect(
            parseClusterName(
                "Configuration data as of 2026-11-30T22:00:00\nAccountingStorageBackupHost = (null)\nClusterName             = testcluster\nCompleteWait = 0 sec\n",
            ),
        ).toBe("testcluster");
        expect(() => parseClusterName("nothing here")).toThrow(/no ClusterName line/);
    });
});

describe("output marker (login shells that print)", () => {
    it("drops what the login shell printed before the command", () => {
        expect(withOutputMarker("'sbatch' '--parsable'")).toBe(
            `printf '%s\\n' ${OUTPUT_MARKER}; printf '%s\\n' ${OUTPUT_MARKER} >&2; exec 'sbatch' '--parsable'`,
        );
        expect(afterOutputMarker(`Welcome!\n${OUTPUT_MARKER}\n1234\n`)).toBe("1234\n");
        expect(afterOutputMarker("1234\n")).toBe("1234\n");
    });
});

describe("sbatch options SlurmJob refuses", () => {
    it.each<[string, RegExp | undefined]>([
        ["--array=1-4", /job arrays/],
        ["-a1-4", /job arrays/],
        ["--clusters=a", /--clusters/],
        ["-Mother", /--clusters/],
        ["--wrap=x", /--wrap/],
        ["--test-only", /--test-only/],
        ["--parsable", /--parsable/],
        ["--comment=x", /--comment/],
        ["--exclusive", undefined],
        ["--signal=B:TERM@120", undefined],
        ["--begin=now+1hour", undefined],
        ["--account=a", undefined],
    ])("%s", (arg, reason) => {
        const refused = refusedSbatchOption(arg);
        if (reason === undefined) {
            expect(refused).toBeUndefined();
        } else {
            expect(refused).toMatch(reason);
        }
    });
});

describe("connection.commandTimeoutSeconds", () => {
    it.each<[unknown, boolean]>([
        [8, true],
        [120, true],
        [4, false],
        [0, false],
        ["10", false],
        [Infinity, false],
    ])("%s accepted: %s", (value, ok) => {
        const failures = validateJobInputs({
            command: "true",
            connection: { host: "h", user: "u", insecureIgnoreHostKey: true, commandTimeoutSeconds: value as number },
        });
        expect(failures.filter((f) => f.property === "connection.commandTimeoutSeconds").length === 0).toBe(ok);
    });
});
