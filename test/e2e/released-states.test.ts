// The compatibility promise of @sparc-deploy/slurm-provider: a state written by a released version
// refreshes and destroys under today's code. test/e2e/states/ keeps one state per release, written by
// the real engine running examples/slurm-http-server against that release's npm tarball
// (package-example.test.ts with SLURM_PROVIDER_RECORD_STATE=1). Each is imported with this machine's
// connection and a job submitted now under the recorded ownership tag; the example's directory in this
// checkout is the project, so the state's shim loads today's providers/ (the workspace package).
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { shJoin } from "../../providers";
import {
    HOST_KEY_PATH,
    jobsWithTag,
    liveJobsWithTag,
    onCluster,
    requireClusterOrSkip,
    squeueState,
    SSH_PORT,
    TEST_USER,
    USER_KEY_PATH,
} from "../support/cluster";
import { requireEngine, shouldSkipEngineTests, TestStack, type StackExport } from "../support/engine";
import { fromRecorded } from "../support/releasedState";

const SLURM_JOB_TYPE = "pulumi-nodejs:dynamic/slurm:SlurmJob";
const statesDir = path.join(__dirname, "states");
const exampleDir = path.join(__dirname, "..", "..", "examples", "slurm-http-server");
const releases = fs
    .readdirSync(statesDir)
    .filter((f) => /^slurm-provider-\d+\.\d+\.\d+\.json$/.test(f))
    .sort();
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

describe("recorded states of released versions", () => {
    it("one per release, the current version's included, and no key or machine particulars in any", () => {
        const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "providers", "package.json"), "utf8")) as { version: string }).version;
        expect(releases).toContain(`slurm-provider-${version}.json`);
        for (const file of releases) {
            const text = fs.readFileSync(path.join(statesDir, file), "utf8");
            expect(text, file).not.toContain("PRIVATE KEY");
            expect(text, file).not.toContain("ssh-ed25519 ");
            expect(text, file).toContain("@PRIVATE_KEY@");
            expect(text, file).toContain(SLURM_JOB_TYPE);
        }
    });
});

describe.skipIf(skip)("pulumi engine: today's code on the state of each release", () => {
    const stacks: TestStack[] = [];
    const tags: string[] = [];

    afterAll(async () => {
        for (const stack of stacks) {
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
            // The directory the test made, left when the import or destroy failed.
            onCluster(shJoin(["rm", "-rf", `slurm-http-server/${stack.stackName}`]));
        }
        for (const tag of tags) {
            const ids = jobsWithTag(tag);
            if (ids.length > 0) {
                onCluster(`scancel ${ids.map(Number).join(" ")}`);
            }
        }
    });

    it.each(releases)(
        "%s: refresh reads the job, destroy cancels it and runs the RemoteCommand's delete",
        async (file) => {
            const stack = await TestStack.create(requireEngine(), { programDir: exampleDir, stackName: `released-${Date.now().toString(36)}` });
            stacks.push(stack);
            const tag = `pulumi:slurm-http-server/${stack.stackName}/server`;
            tags.push(tag);
            // A job as the release would have left it: its ownership tag in --comment, running.
            const comment = `${tag} script=0000000000000000 attempt=00000000`;
            const submitted = onCluster(
                shJoin(["sbatch", "--parsable", "-J", "http-server", "-t", "30", "-o", "/dev/null", `--comment=${comment}`, "--wrap", "sleep 600"]),
            );
            expect(submitted.code, submitted.stderr).toBe(0);
            const jobId = submitted.stdout.trim().split(";")[0];
            // The directory the recorded RemoteCommand made; its delete must remove it.
            expect(onCluster(shJoin(["mkdir", "-p", `slurm-http-server/${stack.stackName}`])).code).toBe(0);

            const recorded = JSON.parse(fs.readFileSync(path.join(statesDir, file), "utf8")) as unknown;
            await stack.importState(
                fromRecorded(recorded, {
                    stackName: stack.stackName,
                    jobId,
                    connection: {
                        host: "127.0.0.1",
                        port: SSH_PORT,
                        user: TEST_USER,
                        privateKey: fs.readFileSync(USER_KEY_PATH, "utf8"),
                        hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                    },
                }),
            );

            const refreshed = await stack.refresh();
            expect(refreshed.delete ?? 0).toBe(0);
            const { deployment } = await stack.exportState();
            const job = ((deployment as StackExport).deployment.resources ?? []).find((r) => r.type === SLURM_JOB_TYPE);
            expect(job?.id).toBe(jobId);
            expect(job?.outputs?.state).toBe(squeueState(jobId));

            expect(await stack.destroy()).toMatchObject({ delete: 3 });
            expect(squeueState(jobId)).toBe("CANCELLED");
            expect(liveJobsWithTag(tag)).toEqual([]);
            expect(onCluster(`test -e slurm-http-server/${stack.stackName}`).code).toBe(1);
        },
        300_000,
    );
});
