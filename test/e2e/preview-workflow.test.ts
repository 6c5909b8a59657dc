// The pull-request workflow (.github/workflows/preview.yml) run on this machine as a clean GitHub runner
// runs it: the steps are read from the YAML, so a change there changes what runs here. Each step runs in a
// private mount namespace where /run is empty (no Podman socket, no munge or sshd sockets), the test
// cluster's keys (/var/lib/slurm-test) are gone, HOME is empty (no ~/.ssh, no agent), and the environment
// holds only the runner's variables plus the secrets and repository variables the workflow names, which
// each case gives or leaves out. The checkout is the repository's files as git would commit them.
//
// What stands in for the runner here, and why:
// - the runner's Docker daemon at /var/run/docker.sock: the machine's Podman socket bind-mounted there
//   (Podman's Docker API; this machine has no Docker). The preview only connects to it.
// - pulumi/actions: its install step is the engine built by scripts/pulumi-engine/build.sh (the test checks
//   the version the workflow pins), and its preview step is the `pulumi preview` it runs; the runner
//   downloads the docker and command plugins, here they are linked from the engine (no internet).
// - actions/setup-node: this process's Node; its npm cache: the machine's ~/.npm.
// - the team's backend: a file:// backend in a temp dir, with a passphrase.
// Steps before the CLI is installed that name no matrix value, secret or variable (npm ci, type-check and
// lint) run once, in the first job, on the shared checkout: they would give the same result in every job (the
// jobs' env differs only in PULUMI_* backend variables, which those tools do not read).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PINNED_CLI_VERSION, requireEngine, shouldSkipEngineTests, type Engine } from "../support/engine";
import { run, type RunResult } from "../support/spawn";

const root = path.resolve(__dirname, "../..");
const workflowFile = path.join(root, ".github/workflows/preview.yml");
const PODMAN_SOCKET = "/run/podman/podman.sock";

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, string | number | boolean>;
    env?: Record<string, string>;
}
interface Job {
    env?: Record<string, string>;
    strategy?: { matrix?: Record<string, unknown[]> };
    steps: Step[];
}
const workflow = load(fs.readFileSync(workflowFile, "utf8")) as { jobs: Record<string, Job> };

/** What a run is given: the secrets and repository variables present, and whether the runner has Docker. */
interface Given {
    secrets: Record<string, string>;
    vars: Record<string, string>;
    docker: boolean;
}

/** `${{ matrix.x }}`, `${{ secrets.X }}`, `${{ vars.X }}`; any other expression fails the test (extend it then). */
function evaluate(text: string, matrix: Record<string, unknown>, given: Given): string {
    return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_all, expr: string) => {
        const m = /^(matrix|secrets|vars)\.([A-Za-z_][A-Za-z0-9_-]*)$/.exec(expr);
        if (m === null) {
            throw new Error(`preview.yml uses the expression \${{ ${expr} }}, which this test does not evaluate: extend evaluate()`);
        }
        const context = m[1] === "matrix" ? matrix : m[1] === "secrets" ? given.secrets : given.vars;
        // GitHub gives "" for a secret or variable that is not set.
        return String(context[m[2]] ?? "");
    });
}

function evaluateAll(values: Record<string, unknown> | undefined, matrix: Record<string, unknown>, given: Given): Record<string, string> {
    return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, evaluate(String(v), matrix, given)]));
}

/** Each job's runs: one per matrix combination (the workflow's matrices have one axis). */
function jobRuns(): { job: string; matrix: Record<string, unknown> }[] {
    return Object.entries(workflow.jobs).flatMap(([job, spec]) => {
        const axes = Object.entries(spec.strategy?.matrix ?? {});
        expect(axes.length, `${job}: at most one matrix axis`).toBeLessThanOrEqual(1);
        if (axes.length === 0) {
            return [{ job, matrix: {} }];
        }
        const [axis, values] = axes[0];
        return values.map((value) => ({ job, matrix: { [axis]: value } }));
    });
}

/** The stack a run previews: its pulumi/actions preview step's stack-name. */
function stackOf(job: string, matrix: Record<string, unknown>): string {
    const preview = workflow.jobs[job].steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview");
    expect(preview, `${job} has a pulumi/actions preview step`).toBeDefined();
    return evaluate(String(preview?.with?.["stack-name"]), matrix, { secrets: {}, vars: {}, docker: true });
}

interface StepResult {
    step: string;
    result: RunResult;
}

class Runner {
    readonly temp = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-preview-wf-"));
    readonly workspace = path.join(this.temp, "workspace");
    private readonly sharedDone = new Map<string, RunResult>();

    constructor(private readonly engine: Engine) {
        // actions/checkout: the files git would commit (tracked, and new ones not ignored), as they are now.
        const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
            .split("\0")
            .filter((f) => f !== "" && fs.existsSync(path.join(root, f)) && fs.lstatSync(path.join(root, f)).isFile());
        for (const file of files) {
            fs.mkdirSync(path.dirname(path.join(this.workspace, file)), { recursive: true });
            fs.copyFileSync(path.join(root, file), path.join(this.workspace, file));
        }
        expect(fs.existsSync(path.join(this.workspace, "node_modules")), "the checkout has no node_modules").toBe(false);
    }

    /** A fresh job: its own HOME and RUNNER_TEMP, and the stack files as checked out. */
    newJob(name: string): { home: string; runnerTemp: string } {
        const jobDir = fs.mkdtempSync(path.join(this.temp, `${name}-`));
        const home = path.join(jobDir, "home");
        const runnerTemp = path.join(jobDir, "runner-temp");
        fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
        fs.mkdirSync(runnerTemp);
        // The plugins a runner's CLI would download on first use.
        fs.symlinkSync(path.join(this.engine.home, "plugins"), path.join(home, ".pulumi", "plugins"));
        for (const file of fs.readdirSync(root).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f))) {
            const tracked = execFileSync("git", ["ls-files", "--", file], { cwd: root, encoding: "utf8" }).trim() !== "";
            if (tracked) {
                fs.copyFileSync(path.join(root, file), path.join(this.workspace, file));
            }
        }
        return { home, runnerTemp };
    }

    /** Runs argv inside the clean-runner namespace, with only `env`. */
    exec(argv: string[], env: Record<string, string>, given: Given): Promise<RunResult> {
        const dockerFile = path.join(this.temp, "docker.sock");
        fs.writeFileSync(dockerFile, "");
        const setup = [
            "set -e",
            // Keep the Podman socket reachable under the runner's Docker path only (when the case gives Docker).
            given.docker ? `mount --bind ${PODMAN_SOCKET} ${dockerFile}` : "true",
            "mount -t tmpfs -o size=4m tmpfs /run",
            given.docker ? `touch /run/docker.sock && mount --bind ${dockerFile} /run/docker.sock` : "true",
            "mount -t tmpfs -o size=1m tmpfs /var/lib/slurm-test",
            'exec "$@"',
        ].join("\n");
        return run("unshare", ["-m", "--", "bash", "-c", setup, "bash", ...argv], { env, cwd: this.workspace, timeoutMs: 600_000 });
    }

    /** One job of the workflow, step by step, until a step fails. */
    async runJob(job: string, matrix: Record<string, unknown>, given: Given): Promise<StepResult[]> {
        const spec = workflow.jobs[job];
        const { home, runnerTemp } = this.newJob(`${job}-${Object.values(matrix).join("-") || "job"}`);
        const nodeBin = path.dirname(process.execPath);
        let pathDirs = [nodeBin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
        const base = (): Record<string, string> => ({
            PATH: pathDirs.join(":"),
            HOME: home,
            // The CLI finds ~/.pulumi through the passwd entry (root's home here), not $HOME: named, so the
            // job's logins, plugins and workspaces stay in its own home, as on a runner.
            PULUMI_HOME: path.join(home, ".pulumi"),
            RUNNER_TEMP: runnerTemp,
            CI: "true",
            GITHUB_ACTIONS: "true",
            LANG: "C.UTF-8",
            // actions/setup-node's npm cache, restored: this machine's.
            npm_config_cache: path.join(os.homedir(), ".npm"),
            // No internet to pulumi.com here: no update check, no plugin download (the plugins are linked above).
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            NO_COLOR: "1",
        });
        const results: StepResult[] = [];
        const firstPulumiStep = spec.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        for (const [i, step] of spec.steps.entries()) {
            const label = step.name ?? step.uses ?? `step ${i}`;
            const env = { ...base(), ...evaluateAll(spec.env, matrix, given), ...evaluateAll(step.env, matrix, given) };
            const withs = evaluateAll(step.with, matrix, given);
            let result: RunResult;
            if (step.uses?.startsWith("actions/checkout@")) {
                continue; // the workspace is the checkout
            } else if (step.uses?.startsWith("actions/setup-node@")) {
                expect(Number(withs["node-version"]), "the workflow's Node").toBe(Number(process.versions.node.split(".")[0]));
                continue;
            } else if (step.uses?.startsWith("pulumi/actions@") && withs.command === undefined) {
                // Install only: the pinned CLI is the one this machine's engine is.
                expect(withs["pulumi-version"], "the workflow pins the CLI the engine tests use").toBe(PINNED_CLI_VERSION);
                pathDirs = [this.engine.binDir, ...pathDirs];
                continue;
            } else if (step.uses?.startsWith("pulumi/actions@")) {
                expect(withs.command, `${label}: only preview is run here`).toBe("preview");
                const argv = ["pulumi", "preview", "--stack", withs["stack-name"], "--non-interactive"];
                if (withs.diff === "true") {
                    argv.push("--diff");
                }
                result = await this.exec(argv, env, given);
            } else if (step.run !== undefined) {
                const script = evaluate(step.run, matrix, given);
                // Stack-independent: before the CLI is installed, with no matrix, secret or variable in it.
                // Stack-independent also when the job's env holds only Pulumi's backend variables, which npm, tsc and
                // ESLint do not read: dev's and remote's identical npm ci and type-check then run once, not twice.
                const shared =
                    i < firstPulumiStep &&
                    !/\$\{\{\s*(matrix|secrets|vars)\./.test(step.run) &&
                    step.env === undefined &&
                    Object.keys(spec.env ?? {}).every((k) => k.startsWith("PULUMI_"));
                const key = script;
                const done = shared ? this.sharedDone.get(key) : undefined;
                if (done !== undefined) {
                    result = done;
                } else {
                    const file = path.join(runnerTemp, `step-${i}.sh`);
                    fs.writeFileSync(file, script);
                    // GitHub's default shell for `run` on Linux.
                    result = await this.exec(["bash", "--noprofile", "--norc", "-eo", "pipefail", file], env, given);
                    if (shared && result.status === 0) {
                        this.sharedDone.set(key, result);
                    }
                }
            } else {
                throw new Error(`${job}: step "${label}" (${step.uses}) is not one this test runs: extend runJob()`);
            }
            results.push({ step: label, result });
            if (result.status !== 0) {
                break;
            }
        }
        return results;
    }

    dispose(): void {
        fs.rmSync(this.temp, { recursive: true, force: true });
    }
}

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg";
const TEAM_VARS: Record<string, string> = {
    SPARC_CONFIG_HPG: ["hpgUser: albert", "hpgGroup: sparc-group", `hpgHostKey: ${HOST_KEY}`].join("\n"),
    SPARC_CONFIG_PUBAPPS: [
        "pubappsInstance: sparc.apps.rc.ufl.edu",
        "pubappsUser: sparcsvc",
        `pubappsHostKey: ${HOST_KEY}`,
        "pubappsJumpUser: albert",
        `pubappsJumpHostKey: ${HOST_KEY}`,
        "pubappsProxyPort: 8080",
        "pubappsPublicHost: sparc.rc.ufl.edu",
    ].join("\n"),
};

/** The last step's outcome, one line per run, for the log of the test run. */
function summary(stack: string, steps: StepResult[]): string {
    const last = steps[steps.length - 1];
    const output = `${last.result.stdout}${last.result.stderr}`;
    const lines = output.split("\n").filter((l) => /::error::|error:|Resources:|to create|problem\(s\)|^\s+- sparc-deploy:/.test(l));
    return `${stack}: "${last.step}" exit ${last.result.status}\n  ${lines.join("\n  ")}`;
}

function output(steps: StepResult[]): string {
    return steps.map((s) => `--- ${s.step} (exit ${s.result.status})\n${s.result.stdout}${s.result.stderr}`).join("\n");
}

describe.skipIf(shouldSkipEngineTests())("preview.yml, run as a clean runner runs it", () => {
    let runner: Runner;
    let teamBackend: string;
    // The machine's own Pulumi login (root's ~/.pulumi/credentials.json): a job must not touch it.
    const machineCredentials = path.join(os.userInfo().homedir, ".pulumi", "credentials.json");
    const credentialsNow = (): string => (fs.existsSync(machineCredentials) ? fs.readFileSync(machineCredentials, "utf8") : "(none)");
    let credentialsBefore = "";
    beforeAll(() => {
        credentialsBefore = credentialsNow();
        expect(process.getuid?.(), "the namespace needs root (unshare -m, mount)").toBe(0);
        expect(fs.existsSync(PODMAN_SOCKET), `${PODMAN_SOCKET} (the runner's Docker stand-in): run scripts/podman/setup.sh`).toBe(true);
        runner = new Runner(requireEngine());
        teamBackend = path.join(runner.temp, "team-backend");
        fs.mkdirSync(teamBackend);
    });
    afterAll(() => runner?.dispose());

    const teamSecrets = (): Record<string, string> => ({ PULUMI_BACKEND_URL: `file://${teamBackend}`, PULUMI_CONFIG_PASSPHRASE: "team-passphrase" });

    it("previews the three stacks, each in its own job", () => {
        expect(jobRuns().map((r) => stackOf(r.job, r.matrix))).toEqual(["dev", "hpg", "pubapps"]);
    });

    it("dev names no secret or variable but the PR comment's token (so it runs for forks)", () => {
        const text = JSON.stringify(workflow.jobs.dev);
        expect([...text.matchAll(/\$\{\{\s*(secrets|vars)\.(\w+)/g)].map((m) => `${m[1]}.${m[2]}`)).toEqual(["secrets.GITHUB_TOKEN"]);
    });

    it.each(["dev", "hpg", "pubapps"])(
        "%s: with the secrets and variables the workflow names (dev: none), the preview passes",
        async (stack) => {
            const { job, matrix } = jobRuns().find((r) => stackOf(r.job, r.matrix) === stack) ?? { job: "", matrix: {} };
            // dev as a fork's pull request gets it: no secret, no variable.
            const given = stack === "dev" ? { secrets: {}, vars: {}, docker: true } : { secrets: teamSecrets(), vars: TEAM_VARS, docker: true };
            const steps = await runner.runJob(job, matrix, given);
            console.log(summary(stack, steps));
            const last = steps[steps.length - 1];
            expect(last.result.status, output(steps)).toBe(0);
            expect(last.step).toBe("pulumi/actions@v6");
            expect(last.result.stdout).toContain(`Previewing update (${stack})`);
            // Nothing was asked of a cluster: no login line, no second-factor prompt.
            expect(output(steps)).not.toMatch(/logging in to|Permission denied|Enter passphrase/i);
        },
        900_000,
    );

    it.each([
        ["hpg", "SPARC_CONFIG_HPG", ["hpgUser", "hpgGroup", "hpgHostKey"]],
        [
            "pubapps",
            "SPARC_CONFIG_PUBAPPS",
            ["pubappsInstance", "pubappsUser", "pubappsHostKey", "pubappsJumpUser", "pubappsJumpHostKey", "pubappsProxyPort", "pubappsPublicHost"],
        ],
    ])(
        "%s without its repository variable: fails, naming %s and each key to put in it",
        async (stack, variable, keys) => {
            const steps = await runner.runJob("remote", { stack }, { secrets: teamSecrets(), vars: {}, docker: true });
            console.log(summary(`${stack} (no ${variable})`, steps));
            const config = steps.find((s) => s.step === "Stack config");
            expect(config?.result.stderr).toContain(`::error::repository variable ${variable} is not set`);
            const last = steps[steps.length - 1];
            expect(last.step).toBe("pulumi/actions@v6");
            expect(last.result.status).not.toBe(0);
            const text = last.result.stdout + last.result.stderr;
            expect(text).toContain(`${stack} stack configuration has ${keys.length} problem(s):`);
            for (const key of keys) {
                expect(text).toContain(`sparc-deploy:${key}`);
            }
        },
        600_000,
    );

    it("hpg without a backend secret: the config step fails, naming the secrets to set", async () => {
        const steps = await runner.runJob("remote", { stack: "hpg" }, { secrets: {}, vars: TEAM_VARS, docker: true });
        console.log(summary("hpg (no backend secret)", steps));
        const last = steps[steps.length - 1];
        expect(last.step).toBe("Stack config");
        expect(last.result.status).toBe(1);
        expect(last.result.stderr).toContain("::error::the hpg preview needs the team's backend");
        expect(last.result.stderr).toContain("PULUMI_ACCESS_TOKEN");
        expect(last.result.stderr).toContain("PULUMI_BACKEND_URL");
    }, 600_000);

    it("a runner without Docker: the config step fails, naming the socket and dockerHost", async () => {
        const steps = await runner.runJob("dev", {}, { secrets: {}, vars: {}, docker: false });
        console.log(summary("dev (no Docker)", steps));
        const last = steps[steps.length - 1];
        expect(last.step).toBe("Stack config");
        expect(last.result.status).toBe(1);
        expect(last.result.stderr).toContain("::error::no Docker-API socket at /var/run/docker.sock");
        expect(last.result.stderr).toContain("dockerHost");
    }, 600_000);

    it("left this machine's own Pulumi login alone", () => {
        expect(credentialsNow()).toBe(credentialsBefore);
    });
});
