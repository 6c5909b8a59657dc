// Runs the real Pulumi CLI (built by scripts/pulumi-engine/build.sh) against a
// throwaway file:// backend, fully offline. Every call is an argv array: no shell.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";

export const PINNED_CLI_VERSION = "3.274.1";
/** The sdk/v3 the language host build.sh makes is built against (the 3.260 line). */
export const PINNED_LANGHOST_SDK_VERSION = "3.260.0";

const repoRoot = path.resolve(__dirname, "../..");

/** Resource plugins the project uses; package.json pins their versions (the one place). */
export const RESOURCE_PLUGINS = ["docker", "command"] as const;
export type ResourcePlugin = (typeof RESOURCE_PLUGINS)[number];

/** The plugin versions package.json pins (`@pulumi/<name>`); throws on a range: build.sh builds exact versions. */
export function pinnedPluginVersions(packageJson = path.join(repoRoot, "package.json")): Record<ResourcePlugin, string> {
    const deps = (JSON.parse(fs.readFileSync(packageJson, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {};
    const versions = {} as Record<ResourcePlugin, string>;
    for (const name of RESOURCE_PLUGINS) {
        const version = deps[`@pulumi/${name}`] ?? "";
        if (!/^\d+\.\d+\.\d+$/.test(version)) {
            throw new Error(
                `package.json: "@pulumi/${name}" is "${version}"; pin an exact version (e.g. "5.2.0"): scripts/pulumi-engine/build.sh builds the plugin at that version`,
            );
        }
        versions[name] = version;
    }
    return versions;
}

export interface Engine {
    /** Directory holding pulumi, pulumi-language-nodejs and pulumi-resource-pulumi-nodejs. */
    binDir: string;
    pulumi: string;
    /** The engine's PULUMI_HOME; its plugins/ holds the docker and command plugins build.sh installed. */
    home: string;
}

/** The engine dir build.sh fills; same defaults as scripts/pulumi-engine/env.sh. */
export function engineDir(env: NodeJS.ProcessEnv = process.env): string {
    const cliVersion = (env.PULUMI_CLI_VERSION ?? PINNED_CLI_VERSION).replace(/^v/, "");
    const cacheHome = env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
    return env.PULUMI_ENGINE_DIR ?? path.join(cacheHome, "sparc-deploy", `pulumi-${cliVersion}`);
}

/** Where build.sh puts the binaries. */
export function engineBinDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(engineDir(env), "bin");
}

const ENGINE_BINARIES = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"] as const;

/** Path of an installed resource plugin in a PULUMI_HOME (the layout `pulumi plugin install` makes). */
export function installedPluginPath(home: string, name: string, version: string): string {
    return path.join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
}

/**
 * The version a resource plugin binary reports itself (GetPluginInfo over its gRPC port), the way
 * the engine asks it: proves the binary was built at that version, whatever its directory says.
 */
export async function pluginReportedVersion(binary: string, timeoutMs = 30_000): Promise<string> {
    // The SDK's generated gRPC stubs are CommonJS.
    const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
    const { ResourceProviderClient } = require("@pulumi/pulumi/proto/provider_grpc_pb") as typeof import("@pulumi/pulumi/proto/provider_grpc_pb");
    const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => import("google-protobuf").Message };
    const child = spawn(binary, [], { stdio: ["ignore", "pipe", "pipe"] });
    try {
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`${binary} printed no port within ${timeoutMs} ms`)), timeoutMs);
            child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
                out += chunk;
                const line = /^(\d+)\s*\n/.exec(out);
                if (line) {
                    clearTimeout(timer);
                    resolve(line[1]);
                }
            });
            child.on("exit", (code) => reject(new Error(`${binary} exited ${code} before printing its port`)));
        });
        const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) => {
                client.getPluginInfo(new Empty() as never, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, info) =>
                    error ? reject(error) : resolve(info.getVersion()),
                );
            });
        } finally {
            client.close();
        }
    } finally {
        child.kill();
    }
}

/** The engine, or a sentence saying what is missing. */
export function locateEngine(env: NodeJS.ProcessEnv = process.env): Engine | string {
    const dir = engineDir(env);
    const binDir = path.join(dir, "bin");
    const home = path.join(dir, "home");
    const missing: string[] = ENGINE_BINARIES.filter((name) => !isExecutable(path.join(binDir, name))).map((name) => path.join(binDir, name));
    for (const [name, version] of Object.entries(pinnedPluginVersions())) {
        const plugin = installedPluginPath(home, name, version);
        if (!isExecutable(plugin)) {
            missing.push(`plugin ${name} v${version} (${plugin})`);
        }
    }
    if (missing.length > 0) {
        return `Pulumi engine incomplete: ${missing.join(", ")} missing; run scripts/pulumi-engine/build.sh`;
    }
    return { binDir, pulumi: path.join(binDir, "pulumi"), home };
}

/**
 * Engine tests skip locally when the engine is absent, but must fail under CI=true:
 * returns whether to skip, and warns once with the reason.
 */
export function shouldSkipEngineTests(env: NodeJS.ProcessEnv = process.env): boolean {
    const engine = locateEngine(env);
    if (typeof engine !== "string") {
        return false;
    }
    if (env.CI === "true") {
        return false; // requireEngine() then throws inside the suite
    }
    console.warn(`[e2e] skipping engine tests: ${engine}`);
    return true;
}

export function requireEngine(env: NodeJS.ProcessEnv = process.env): Engine {
    const engine = locateEngine(env);
    if (typeof engine === "string") {
        throw new Error(engine);
    }
    return engine;
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class CommandFailedError extends Error {
    constructor(
        readonly argv: readonly string[],
        readonly result: RunResult,
    ) {
        super(`pulumi ${argv.join(" ")} exited ${result.code}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`);
    }
}

function tail(text: string, max = 6000): string {
    return text.length > max ? `…${text.slice(-max)}` : text;
}

/** Counts from an update's change summary, e.g. { same: 4 } or { create: 3 }. */
export type ChangeSummary = Partial<Record<"create" | "update" | "delete" | "replace" | "same" | string, number>>;

export interface StackOptions {
    /** Directory with Pulumi.yaml; the program runs in place (it may import repo sources). */
    programDir: string;
    stackName?: string;
    /** Extra environment for every CLI call (the program and its providers inherit it). */
    env?: NodeJS.ProcessEnv;
}

/**
 * One stack in a private temp dir: file:// backend, PULUMI_HOME and stack config file,
 * so nothing is written to the program directory or ~/.pulumi. The private PULUMI_HOME's
 * plugins/ is a link to the engine's, where build.sh installed the real docker and
 * command plugins: every engine test runs them.
 */
export class TestStack {
    readonly stackName: string;
    /** Where the CLI runs the program; useProgram moves the stack to another one (a migration test). */
    programDir: string;
    readonly tempDir: string;
    readonly configFile: string;
    private readonly env: NodeJS.ProcessEnv;

    private constructor(
        readonly engine: Engine,
        options: StackOptions,
    ) {
        this.programDir = path.resolve(options.programDir);
        this.stackName = options.stackName ?? "e2e";
        this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-e2e-"));
        const stateDir = path.join(this.tempDir, "state");
        const homeDir = path.join(this.tempDir, "home");
        fs.mkdirSync(stateDir);
        fs.mkdirSync(homeDir);
        fs.symlinkSync(path.join(engine.home, "plugins"), path.join(homeDir, "plugins"));
        this.configFile = path.join(this.tempDir, `Pulumi.${this.stackName}.yaml`);
        this.env = {
            ...process.env,
            ...options.env,
            // The language host and the dynamic-provider launcher are found on PATH.
            PATH: [engine.binDir, process.env.PATH ?? ""].join(path.delimiter),
            PULUMI_HOME: homeDir,
            PULUMI_BACKEND_URL: `file://${stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: "sparc-e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            // The repo's `tsc` type-checks programs; the engine only needs to run them.
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            NO_COLOR: "1",
        };
    }

    static async create(engine: Engine, options: StackOptions): Promise<TestStack> {
        const stack = new TestStack(engine, options);
        // `stack init` has no --config-file: it writes Pulumi.<stack>.yaml (the passphrase
        // salt) into the program dir. Move it to the temp dir; later calls name it explicitly.
        const written = path.join(stack.programDir, `Pulumi.${stack.stackName}.yaml`);
        if (fs.existsSync(written)) {
            throw new Error(`${written} already exists (left by an interrupted run?); remove it`);
        }
        try {
            await stack.pulumi(["stack", "init", stack.stackName, "--non-interactive"]);
            fs.renameSync(written, stack.configFile);
        } catch (error) {
            fs.rmSync(stack.tempDir, { recursive: true, force: true });
            throw error;
        }
        return stack;
    }

    /** Runs `pulumi <argv>` in the program dir; rejects on a non-zero exit unless allowFailure. */
    pulumi(argv: readonly string[], options: { allowFailure?: boolean; stdin?: string } = {}): Promise<RunResult> {
        return this.start(argv, options).result;
    }

    /** Starts `pulumi <argv>` and hands back the process too (to signal it, as a terminal's Ctrl-C does). */
    start(argv: readonly string[], options: { allowFailure?: boolean; stdin?: string } = {}): { child: ChildProcess; result: Promise<RunResult> } {
        const child = spawn(this.engine.pulumi, argv, {
            cwd: this.programDir,
            env: this.env,
            stdio: "pipe",
        });
        const result = new Promise<RunResult>((resolve, reject) => {
            // An empty stdin (EOF at once) for every command that does not take one. A CLI that exits
            // before reading it makes the write fail with EPIPE; its exit status is the result.
            child.stdin.on("error", () => undefined);
            child.stdin.end(options.stdin ?? "");
            let stdout = "";
            let stderr = "";
            child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
            child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
            child.on("error", reject);
            child.on("close", (code, signal) => {
                const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
                if (result.code !== 0 && !options.allowFailure) {
                    reject(new CommandFailedError(argv, result));
                } else {
                    resolve(result);
                }
            });
        });
        return { child, result };
    }

    /** Runs the next CLI calls with the program in `dir` (same stack, state and config): a state an older program wrote, then today's. */
    useProgram(dir: string): void {
        this.programDir = path.resolve(dir);
    }

    /** Runs any command (e.g. a migration script that calls the CLI) with this stack's environment, in the program dir. */
    exec(argv: readonly string[], timeoutMs = 300_000): { code: number; stdout: string; stderr: string } {
        const r = spawnSync(argv[0], argv.slice(1), { cwd: this.programDir, env: this.env, encoding: "utf8", timeout: timeoutMs });
        return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    /** Sets an environment variable for the next CLI calls (the program and its providers inherit it). */
    setEnv(name: string, value: string): void {
        this.env[name] = value;
    }

    private stackArgs(): string[] {
        return ["--stack", this.stackName, "--non-interactive"];
    }

    private configArgs(): string[] {
        return [...this.stackArgs(), "--config-file", this.configFile];
    }

    async setConfig(key: string, value: string, options: { secret?: boolean } = {}): Promise<void> {
        // The value goes through stdin: it may start with "-" (a PEM key) and must not
        // show up in `ps` or in an error message.
        const secretFlag = options.secret ? ["--secret"] : ["--plaintext"];
        await this.pulumi(["config", "set", key, ...secretFlag, ...this.configArgs()], { stdin: value });
    }

    /**
     * A structured (non-secret) value, e.g. an empty list, written into the stack's config file: this CLI's
     * `config set` has no --json, and `--path` cannot make an empty list.
     */
    setConfigValue(key: string, value: unknown): void {
        const text = fs.existsSync(this.configFile) ? fs.readFileSync(this.configFile, "utf8") : "";
        const doc = (yaml.load(text) as { config?: Record<string, unknown> } | undefined) ?? {};
        const project = (yaml.load(fs.readFileSync(path.join(this.programDir, "Pulumi.yaml"), "utf8")) as { name: string }).name;
        doc.config = { ...(doc.config ?? {}), [key.includes(":") ? key : `${project}:${key}`]: value };
        fs.writeFileSync(this.configFile, yaml.dump(doc));
    }

    /** `pulumi preview --json`: the change summary of the planned update. */
    async preview(): Promise<ChangeSummary> {
        const result = await this.pulumi(["preview", "--json", ...this.configArgs()]);
        return parseJson<{ changeSummary?: ChangeSummary }>(result.stdout, "preview --json").changeSummary ?? {};
    }

    /** `pulumi preview` as a person sees it (stdout and stderr), for the engine's and the program's warnings. */
    async previewText(): Promise<string> {
        const result = await this.pulumi(["preview", ...this.configArgs()]);
        return result.stdout + result.stderr;
    }

    /** `pulumi up --yes --json`: the change summary of the update that ran. */
    async up(): Promise<ChangeSummary> {
        const result = await this.pulumi(["up", "--yes", "--skip-preview", "--json", ...this.configArgs()]);
        return changeSummaryOfUpdate(result.stdout, "up --json");
    }

    /** `pulumi up` as up(), plus the step each resource took, by resource name (e.g. { "sparc-mas": ["replace"] }). */
    async upWithSteps(): Promise<{ summary: ChangeSummary; steps: Record<string, string[]> }> {
        const result = await this.pulumi(["up", "--yes", "--skip-preview", "--json", ...this.configArgs()]);
        return { summary: changeSummaryOfUpdate(result.stdout, "up --json"), steps: stepsOfUpdate(result.stdout) };
    }

    /** `pulumi up` as a person sees it (no --json), whether it succeeds or not: its diagnostics are read with diagnosticsByResource. */
    upText(): Promise<RunResult> {
        return this.pulumi(["up", "--yes", "--skip-preview", ...this.configArgs()], { allowFailure: true });
    }

    async refresh(): Promise<ChangeSummary> {
        const result = await this.pulumi(["refresh", "--yes", "--skip-preview", "--json", ...this.configArgs()]);
        return changeSummaryOfUpdate(result.stdout, "refresh --json");
    }

    async destroy(): Promise<ChangeSummary> {
        return (await this.destroyWithMessages()).summary;
    }

    /** `pulumi destroy` as destroy(), plus what the resources printed (the engine's diagnostic messages). */
    async destroyWithMessages(): Promise<{ summary: ChangeSummary; messages: string[] }> {
        const result = await this.pulumi(["destroy", "--yes", "--skip-preview", "--json", ...this.configArgs()]);
        const messages = result.stdout
            .split("\n")
            .filter((l) => l.includes('"diagnosticEvent"'))
            .map((l) => parseJson<{ diagnosticEvent: { message: string } }>(l, "destroy --json").diagnosticEvent.message.trim());
        return { summary: changeSummaryOfUpdate(result.stdout, "destroy --json"), messages };
    }

    /** `pulumi stack output --json`, secrets in clear text only when asked. */
    async outputs(options: { showSecrets?: boolean } = {}): Promise<Record<string, unknown>> {
        const secrets = options.showSecrets ? ["--show-secrets"] : [];
        const result = await this.pulumi(["stack", "output", "--json", ...secrets, ...this.stackArgs()]);
        return parseJson<Record<string, unknown>>(result.stdout, "stack output --json");
    }

    /** `pulumi stack export` as parsed JSON and as the raw text (to grep for leaks). */
    async exportState(options: { showSecrets?: boolean } = {}): Promise<{ text: string; deployment: StackExport }> {
        const secrets = [`--show-secrets=${options.showSecrets ? "true" : "false"}`];
        const result = await this.pulumi(["stack", "export", ...secrets, ...this.stackArgs()]);
        return { text: result.stdout, deployment: parseJson<StackExport>(result.stdout, "stack export") };
    }

    /**
     * `pulumi stack import` of a deployment whose secrets are given as plaintext and which names no secrets
     * provider: this stack's passphrase provider (its salt) is put in, and encrypts them (without one the CLI
     * panics, "attempt to encrypt value").
     */
    async importState(exported: { version: number; deployment: Record<string, unknown> }): Promise<void> {
        const salt = (yaml.load(fs.readFileSync(this.configFile, "utf8")) as { encryptionsalt?: string }).encryptionsalt;
        const deployment = { ...exported.deployment, secrets_providers: { type: "passphrase", state: { salt } } };
        const file = path.join(this.tempDir, "import.json");
        fs.writeFileSync(file, JSON.stringify({ ...exported, deployment }), { mode: 0o600 });
        try {
            await this.pulumi(["stack", "import", "--file", file, ...this.stackArgs()]);
        } finally {
            fs.rmSync(file, { force: true });
        }
    }

    /** Removes the stack (if still there) and the temp dir. Call after destroy(). */
    async dispose(): Promise<void> {
        await this.pulumi(["stack", "rm", "--yes", "--force", ...this.stackArgs()], { allowFailure: true });
        fs.rmSync(this.tempDir, { recursive: true, force: true });
    }
}

export interface StackResource {
    urn: string;
    type: string;
    id?: string;
    custom?: boolean;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

export interface StackExport {
    version: number;
    deployment: { resources?: StackResource[] };
}

function parseJson<T>(text: string, what: string): T {
    try {
        return JSON.parse(text) as T;
    } catch (error) {
        throw new Error(`cannot parse the JSON of \`pulumi ${what}\`: ${String(error)}\n${tail(text)}`);
    }
}

/**
 * `up/refresh/destroy --json --skip-preview` print engine events, one JSON object a
 * line; the last `summaryEvent` holds the counts. (`preview --json` prints one document.)
 */
export function changeSummaryOfUpdate(stdout: string, what: string): ChangeSummary {
    let summary: { resourceChanges?: ChangeSummary; result?: string; isPreview?: boolean } | undefined;
    for (const line of stdout.split("\n")) {
        if (line.includes('"summaryEvent"')) {
            summary = parseJson<{ summaryEvent: NonNullable<typeof summary> }>(line, what).summaryEvent;
        }
    }
    if (summary?.resourceChanges === undefined) {
        throw new Error(`\`pulumi ${what}\` printed no summaryEvent:\n${tail(stdout)}`);
    }
    if (summary.isPreview || (summary.result !== undefined && summary.result !== "succeeded")) {
        throw new Error(`\`pulumi ${what}\` summary says ${JSON.stringify(summary)}`);
    }
    return summary.resourceChanges;
}

/**
 * The step ops of an update's engine events, by resource name (the URN's last segment):
 * "same", "create", "update", "replace" (with "create-replacement"/"delete-replaced"), "delete".
 */
export function stepsOfUpdate(stdout: string): Record<string, string[]> {
    const steps: Record<string, string[]> = {};
    for (const line of stdout.split("\n")) {
        if (!line.includes('"resourcePreEvent"')) {
            continue;
        }
        const event = parseJson<{ resourcePreEvent: { metadata: { op: string; urn: string } } }>(line, "up --json");
        const { op, urn } = event.resourcePreEvent.metadata;
        const name = urn.slice(urn.lastIndexOf("::") + 2);
        (steps[name] ??= []).push(op);
    }
    return steps;
}

/** Resources of a type in an exported deployment. */
export function resourcesOfType(state: StackExport, type: string): StackResource[] {
    return (state.deployment.resources ?? []).filter((r) => r.type === type);
}

/**
 * The "Diagnostics:" section of a plain `pulumi up`, by resource heading (e.g.
 * "pulumi-nodejs:dynamic/slurm:SlurmJob (held)"): the lines the engine shows under each resource.
 */
export function diagnosticsByResource(text: string): Record<string, string[]> {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => l.trim() === "Diagnostics:");
    const byResource: Record<string, string[]> = {};
    if (start < 0) {
        return byResource;
    }
    let current: string | undefined;
    for (const line of lines.slice(start + 1)) {
        if (line.trim() !== "" && !line.startsWith(" ")) {
            break; // the next section (Outputs:, Resources:, ...)
        }
        const heading = /^ {2}(\S.*\)):$/.exec(line);
        if (heading !== null) {
            current = heading[1];
            byResource[current] ??= [];
        } else if (current !== undefined && line.trim() !== "") {
            byResource[current].push(line.trim());
        }
    }
    return byResource;
}
