// The SlurmJob provider's diff near a job's end: renewal is the chain's own, on the cluster
// (chain.ts), so diff never plans one (0.1.0's create-before-delete renewal by `pulumi up` is gone).
// No remote call.
import { describe, expect, it } from "vitest";
import { slurmJobProvider } from "../../../../providers/slurm/provider";
import type { SlurmJobInputs, SlurmJobOutputs } from "../../../../providers/slurm/types";

const provider = slurmJobProvider as Required<typeof slurmJobProvider>;

const inputs = {
    command: "serve",
    jobName: "svc",
    time: "14-00:00:00",
    ownerTag: "pulumi:p/s/svc",
    connection: { host: "hpg.rc.ufl.edu", user: "u", hostKey: "ssh-ed25519 AAAA" },
    waitFor: "running",
    waitTimeoutSeconds: 600,
    waitPollSeconds: 15,
    cancelSignal: "TERM",
    cancelGraceSeconds: 30,
    deleteTimeoutSeconds: 300,
    clusterChecks: "up",
    readyCheck: "check",
    readyTimeoutSeconds: 300,
    renewBeforeSeconds: 48 * 3600,
    chainDir: "/blue/g/u/.chains",
} as SlurmJobInputs;
const nowSeconds = Math.floor(Date.now() / 1000);
const running = (endsIn: number, over: Partial<SlurmJobOutputs> = {}) =>
    ({
        ...inputs,
        jobId: "7",
        state: "RUNNING",
        endsAt: nowSeconds + endsIn,
        chainPath: "/blue/g/u/.chains/chain-0123456789abcdef-fedcba9876543210",
        ...over,
    }) as SlurmJobOutputs;

describe("SlurmJob diff with renewBeforeSeconds: never a renewal", () => {
    it.each<[string, SlurmJobOutputs, Partial<SlurmJobInputs>, { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }]>([
        ["inside the window: the chain renews itself, no change", running(3600), {}, { changes: false, replaces: [], deleteBeforeReplace: true }],
        // A state of 0.1.0 (no chainPath) inside the window: never renewed by `up` (check refuses renewBeforeSeconds without chainDir).
        ["inside the window, a 0.1.0 job", running(3600, { chainPath: undefined }), {}, { changes: false, replaces: [], deleteBeforeReplace: true }],
        ["not yet due: nothing changes", running(72 * 3600), {}, { changes: false, replaces: [], deleteBeforeReplace: true }],
        ["renewal off", running(3600), { renewBeforeSeconds: 0 }, { changes: true, replaces: [], deleteBeforeReplace: true }],
        // A changed job replaces as before: the old job goes first (it holds the GPUs).
        ["due, but the command changed", running(3600), { command: "serve --v2" }, { changes: true, replaces: ["command"], deleteBeforeReplace: true }],
        // An ended job is resubmitted as before, not renewed.
        ["ended", running(-60, { state: "TIMEOUT" }), {}, { changes: true, replaces: ["state"], deleteBeforeReplace: true }],
        ["end unknown (state from an older version)", running(0, { endsAt: undefined }), {}, { changes: false, replaces: [], deleteBeforeReplace: true }],
    ])("%s", async (_label, olds, news, expected) => {
        expect(await provider.diff("7", olds, { ...inputs, ...news })).toEqual(expected);
    });
});
