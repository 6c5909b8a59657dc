// The package as a user gets it: `npm pack` of providers/ (@sparc-deploy/slurm-provider), installed
// from the tarball with the example's package.json into a fresh directory outside this repository,
// type-checked there, and the example (examples/slurm-http-server: a Python HTTP server as a Slurm
// job with a readiness check, and its page written by a RemoteCommand) run by the real engine
// against the test cluster: up, refresh, destroy, and no job left behind.
// With SLURM_PROVIDER_RECORD_STATE=1 it also records the state this release wrote into
// test/e2e/states/ (see released-states.test.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    HOST_KEY_PATH,
    jobsWithTag,
    liveJobsWithTag,
    onCluster,
    requireClusterOrSkip,
    squeueState,
    TEST_USER,
    USER_KEY_PATH,
    SSH_PORT,
} from "../support/cluster";
import { run } from "../support/spawn";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";
import { toRecorded } from "../support/releasedState";
import { freePort } from "../support/ports";

const repoRoot = path.resolve(__dirname, "..", "..");
const packageDir = path.join(repoRoot, "providers");
const exampleDir = path.join(repoRoot, "examples", "slurm-http-server");
const EXAMPLE_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"];
const skip = shouldSkipEngineTests() || !requireClusterOrSkip();

async function mustRun(file: string, args: string[], cwd: string, timeoutMs = 600_000): Promise<string> {
    const r = await run(file, args, { cwd, timeoutMs });
    if (r.status !== 0) {
        throw new Error(`${file} ${args.join(" ")} in ${cwd} exited ${r.status}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
    }
    return r.stdout;
}

describe.skipIf(skip)("the package from its npm tarball, and the example program on the test cluster", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "slurm-provider-example-"));
    const appDir = path.join(work, "app");
    let tarball = "";
    let stack: TestStack | undefined;
    let tag = "";

    beforeAll(async () => {
        // --json: the tarball's name and its file list; prepack builds dist/ first.
        const packed = JSON.parse(await mustRun("npm", ["pack", "--json", "--ignore-scripts=false", "--pack-destination", work], packageDir)) as {
            filename: string;
            size: number;
            unpackedSize: number;
            files: { path: string }[];
        }[];
        tarball = path.join(work, packed[0].filename);
        console.log(`npm pack: ${packed[0].filename}, ${packed[0].size} bytes packed, ${packed[0].unpackedSize} unpacked, ${packed[0].files.length} files`);
        fs.mkdirSync(appDir);
        for (const file of EXAMPLE_FILES) {
            fs.copyFileSync(path.join(exampleDir, file), path.join(appDir, file));
        }
        await mustRun("npm", ["install", "--no-audit", "--no-fund", tarball], appDir);
    }, 900_000);

    afterAll(async () => {
        if (stack !== undefined) {
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        }
        const left = tag === "" ? [] : jobsWithTag(tag);
        if (left.length > 0) {
            onCluster(`scancel ${left.map(Number).join(" ")}`);
        }
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("installs from the tarball alone: compiled JavaScript and .d.ts, nothing from this repository", async () => {
        const installed = path.join(appDir, "node_modules", "@sparc-deploy", "slurm-provider");
        expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
        const files = fs.readdirSync(installed, { recursive: true }).map(String);
        expect(files).toContain(path.join("dist", "index.js"));
        expect(files).toContain(path.join("dist", "index.d.ts"));
        // Compiled code only; the one .ts is the example program shipped for reading and copying (example/).
        expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([path.join("example", "index.ts")]);
        // Resolved from the fresh directory, loaded without ts-node (not installed there).
        const probe =
            "const p = require('@sparc-deploy/slurm-provider'); console.log(require.resolve('@sparc-deploy/slurm-provider'), typeof p.SlurmJob, typeof p.RemoteCommand, typeof p.slurmJobProvider, require.extensions['.ts'] === undefined)";
        const out = (await mustRun(process.execPath, ["-e", probe], appDir)).trim();
        expect(out).toBe(`${path.join(installed, "load.js")} function function object true`);
        expect(fs.existsSync(path.join(appDir, "node_modules", "ts-node"))).toBe(false);
        // The program type-checks against the shipped declarations (strict, no skipLibCheck).
        await mustRun(path.join(appDir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "tsconfig.json"], appDir);
    });

    it("pulumi up runs the server as a Slurm job until it answers, refresh keeps it, destroy cancels it and removes the page", async () => {
        stack = await TestStack.create(requireEngine(), { programDir: appDir, stackName: `example-${Date.now().toString(36)}` });
        tag = `pulumi:slurm-http-server/${stack.stackName}/server`;
        await stack.setConfig("host", "127.0.0.1");
        await stack.setConfig("port", String(SSH_PORT));
        await stack.setConfig("user", TEST_USER);
        await stack.setConfig("hostKey", fs.readFileSync(HOST_KEY_PATH, "utf8").trim());
        await stack.setConfig("privateKey", fs.readFileSync(USER_KEY_PATH, "utf8"), { secret: true });
        await stack.setConfig("httpPort", String(await freePort()));

        expect(await stack.up()).toEqual({ create: 3 });
        const outputs = await stack.outputs();
        console.log(`example outputs after up: ${JSON.stringify(outputs)}`);
        const jobId = String(outputs.jobId);
        expect(outputs).toMatchObject({ state: "RUNNING", readyReport: `hello from ${stack.stackName}` });
        expect(liveJobsWithTag(tag)).toEqual([jobId]);
        // The server answers from its node, as the readiness check saw.
        const page = onCluster(
            `python3 -c 'import urllib.request; print(urllib.request.urlopen("${String(outputs.url)}", timeout=10).read().decode().strip())'`,
        );
        expect(page.stdout.trim()).toBe(`hello from ${stack.stackName}`);

        if (process.env.SLURM_PROVIDER_RECORD_STATE === "1") {
            const version = (JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string }).version;
            const { deployment } = await stack.exportState({ showSecrets: true });
            const recorded = toRecorded(deployment as unknown as { version: number; deployment: Record<string, unknown> }, {
                stackName: stack.stackName,
                jobId,
                connection: {
                    host: "127.0.0.1",
                    port: SSH_PORT,
                    user: TEST_USER,
                    privateKey: fs.readFileSync(USER_KEY_PATH, "utf8"),
                    hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                },
            });
            const text = `${JSON.stringify(recorded, null, 2)}\n`;
            expect(text).not.toContain("PRIVATE KEY");
            fs.writeFileSync(path.join(__dirname, "states", `slurm-provider-${version}.json`), text);
        }

        expect(await stack.refresh()).toEqual({ same: 3 });
        expect(String((await stack.outputs()).jobId)).toBe(jobId);
        expect(await stack.destroy()).toEqual({ delete: 3 });
        expect(squeueState(jobId)).toBe("CANCELLED");
        expect(liveJobsWithTag(tag)).toEqual([]);
        expect(onCluster(`test -e slurm-http-server/${stack.stackName}`).code).toBe(1);
    }, 600_000);
});
