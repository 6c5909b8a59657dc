// A production install (`npm ci --omit=dev`, also with --omit=optional, as a deploy machine or CI image makes it) can still
// load the SlurmJob provider: the shim in state requires @sparc-deploy/slurm-provider by name, whose
// load.js compiles the .ts sources with ts-node and typescript, so both are runtime dependencies.
// Installs package.json + package-lock.json + providers/ into a temporary copy, then, from there and
// with only what that install holds, runs the provider's check and a delete against the real cluster.
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { clusterAvailable, testConnection } from "../support/cluster";

const root = path.resolve(__dirname, "../..");
const copies: string[] = [];
afterAll(() => copies.forEach((copy) => fs.rmSync(copy, { recursive: true, force: true })));

/** What the dynamic-provider host does with the shim: require the package by name, call the provider. */
const CALLER = `
const { slurmJobProvider } = require("@sparc-deploy/slurm-provider");
(async () => {
    const check = await slurmJobProvider.check({}, { command: "true", extraArgs: ["--array=1-2"] });
    const report = { failures: check.failures.map((f) => f.property) };
    if (process.env.SPARC_CONNECTION) {
        const props = { ...check.inputs, ownerTag: "pulumi:omit-dev/test/job", connection: JSON.parse(process.env.SPARC_CONNECTION) };
        // A job id the cluster never had: delete reads it (squeue, sacct) and finds nothing to cancel.
        await slurmJobProvider.delete("999999999", props);
        report.deleted = true;
    }
    console.log(JSON.stringify(report));
    require("@sparc-deploy/slurm-provider").closeAllConnections();
})().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
`;

describe("a production install", () => {
    // npm 11 keeps ts-node and typescript under --omit=dev alone when they are only devDependencies
    // (they are also @pulumi/pulumi's optional peers: "devOptional" in the lock); --omit=optional, as
    // slim images add, then drops them and the provider no longer loads.
    it.each([[["--omit=dev"]], [["--omit=dev", "--omit=optional"]]])("npm ci %j: the provider's package loads, checks and deletes", (omit) => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-omit-dev-"));
        copies.push(copy);
        for (const file of ["package.json", "package-lock.json"]) {
            fs.copyFileSync(path.join(root, file), path.join(copy, file));
        }
        fs.cpSync(path.join(root, "providers"), path.join(copy, "providers"), { recursive: true });
        const started = Date.now();
        const install = spawnSync("npm", ["ci", ...omit, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], {
            cwd: copy,
            encoding: "utf8",
            timeout: 300_000,
        });
        expect(install.status, install.stderr).toBe(0);
        console.log(`npm ci ${omit.join(" ")}: ${Math.round((Date.now() - started) / 1000)} s`);
        // Dev-only packages are really absent, so the run below sees a production install.
        expect(fs.existsSync(path.join(copy, "node_modules/vitest"))).toBe(false);

        fs.writeFileSync(path.join(copy, "caller.js"), CALLER);
        const withCluster = clusterAvailable();
        const run = spawnSync(process.execPath, ["caller.js"], {
            cwd: copy,
            encoding: "utf8",
            timeout: 120_000,
            env: { ...process.env, NODE_PATH: "", SPARC_CONNECTION: withCluster ? JSON.stringify(testConnection()) : "" },
        });
        expect(run.stderr).not.toMatch(/Cannot find module/);
        expect(run.status, run.stderr).toBe(0);
        const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as { failures: string[]; deleted?: boolean };
        expect(report.failures).toContain("extraArgs[0]");
        if (withCluster) {
            expect(report.deleted).toBe(true);
        } else if (process.env.CI === "true") {
            throw new Error("the Slurm test cluster is not running: `bash test/cluster/setup.sh` must run first");
        }
    });
});
