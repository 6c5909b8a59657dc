// Benchmark (not a test): `pulumi up` against the same steps typed by a careful user, in one run,
// from the same cache state (issue 21), on local Podman and the local Slurm test cluster:
//   dev: podman build (MAS, signaling, the player stand-in) -> pod create with the stack's
//        publications -> podman run of each -> both /health answer; against `pulumi up` of a fresh dev
//        stack (turnMode off) whose images the Docker API has built before (layer cache warm on both sides).
//   hpg: podman save -> the archive over one ControlMaster (ssh -M, scp) -> sbatch --wait of the .sif
//        build (Apptainer stand-in) -> sbatch the service -> squeue every 1 s until RUNNING -> its
//        endpoint file, then /health every 0.2 s; against `pulumi up` of a fresh hpg stack.
// plus `pulumi up --expect-no-changes` of each stack, the ratios, and the scheduler queries per hour
// of a SlurmJob waiting for its job (polling.ts: the same schedule with or without a marker).
// The program runs as `scripts/up-dev.sh` runs it (no PULUMI_NODEJS_TRANSPILE_ONLY, NODE_COMPILE_CACHE set) unless
// BENCH_TRANSPILE_ONLY=true. The dev row first removes the store's dangling images (pruneDangling). Needs the services of CONTRIBUTING ("Running the service tests"); run under their lock:
//   npm run bench:overhead            (BENCH_ONLY=dev or BENCH_ONLY=hpg runs one row)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { requireEngine, TestStack } from "../support/engine";
import { HOST_KEY_PATH, USER_KEY_PATH, onCluster, sshOptions, waitUntil } from "../support/cluster";
import { endpointFilePattern, serviceJobBody, sifBuildScript, sifPlan } from "../../components/hpg/commands";
import { podPortArgs } from "../../components/pod";
import { schedulerQueriesPerHour } from "./overhead-schedule";

const root = path.resolve(__dirname, "../..");
const only = process.env.BENCH_ONLY ?? "";
const stackEnv: NodeJS.ProcessEnv = {
    ...(process.env.BENCH_TRANSPILE_ONLY === "true" ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "" }),
    // As scripts/up-dev.sh exports it: V8's compile cache in the dynamic-provider processes too.
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.homedir(), ".cache", "sparc-deploy", "node-compile-cache"),
};
const dockerSocket = "/run/podman/podman.sock";

function seconds(since: number): number {
    return (Date.now() - since) / 1000;
}

function run(argv: string[], options: { input?: string } = {}): string {
    return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], input: options.input ?? "" });
}

async function healthAnswers(url: string): Promise<true | undefined> {
    try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        return r.ok ? true : undefined;
    } catch {
        return undefined;
    }
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<number> {
    const started = Date.now();
    await work();
    const s = seconds(started);
    console.log(`  ${label}: ${s.toFixed(1)} s`);
    return s;
}

interface Row {
    name: string;
    hand: number;
    up: number;
    /** `pulumi up --yes --skip-preview --expect-no-changes`, as scripts/up-dev.sh runs it. */
    noop: number;
    /** The same with the preview `pulumi up --yes` runs first by default. */
    noopPreview: number;
}

/** Both no-op ups of an unchanged stack. */
async function noops(stack: TestStack): Promise<{ noop: number; noopPreview: number }> {
    const args = ["--yes", "--expect-no-changes", "--stack", stack.stackName, "--non-interactive", "--config-file", stack.configFile];
    const noop = await timed("pulumi up --skip-preview --expect-no-changes", () => stack.pulumi(["up", "--skip-preview", ...args]));
    const noopPreview = await timed("pulumi up --expect-no-changes (with its preview)", () => stack.pulumi(["up", ...args]));
    return { noop, noopPreview };
}

/**
 * Median seconds of a node process that loads the SDK and the provider package, as a dynamic-provider process does at
 * its first call, with the environment given (NODE_COMPILE_CACHE or not).
 */
function providerStart(env: NodeJS.ProcessEnv): number {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
        const started = Date.now();
        execFileSync(process.execPath, ["-e", "require('@pulumi/pulumi'); require('@sparc-deploy/slurm-provider')"], { cwd: root, stdio: "ignore", env });
        times.push(seconds(started));
    }
    return times.sort((a, b) => a - b)[1];
}

/**
 * Seconds until a dynamic-provider host announces its port (what the engine waits for before its first call), median
 * of 5: the launcher beside the pulumi binary (a node to find the SDK, then the SDK's host) and this project's
 * (scripts/dynamic-provider, Pulumi.yaml plugins.providers: the same host with the program's preloads).
 */
async function providerHostStart(launcher: string, env: NodeJS.ProcessEnv): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const child = spawn(launcher, ["127.0.0.1:1"], { cwd: root, env, stdio: ["ignore", "pipe", "ignore"] });
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${launcher}: no port within 60 s`)), 60_000);
            child.stdout.once("data", () => {
                clearTimeout(timer);
                resolve();
            });
            child.once("exit", (code) => reject(new Error(`${launcher} exited ${code} before printing its port`)));
        });
        times.push(seconds(started));
        child.removeAllListeners("exit");
        child.kill();
    }
    return times.sort((a, b) => a - b)[2];
}

/**
 * Seconds of one unfiltered GET /images/json on Podman's Docker-API socket, and how many images it lists:
 * @pulumi/docker makes this call after every build (pulumi-docker provider/image.go, runImageBuild: it
 * lists every image until the built id shows up), and Podman computes each image's size for it.
 */
function imageList(): Promise<{ seconds: number; images: number }> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const req = http.get({ socketPath: dockerSocket, path: "/v1.41/images/json" }, (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ seconds: seconds(started), images: (JSON.parse(body) as unknown[]).length }));
        });
        req.on("error", reject);
    });
}

/**
 * Removes the store's dangling images (untagged, no child, no container: failed or superseded test builds, none of
 * them a cache layer of a tagged image) and prints the ImageList cost before and after. This shared test
 * machine collects a hundred and more of them in a day; each makes the build's ImageList slower, which a
 * user's store does not pay.
 */
async function pruneDangling(): Promise<void> {
    const before = await imageList();
    run(["podman", "image", "prune", "-f"]);
    const after = await imageList();
    console.log(
        `  Docker-API ImageList (as @pulumi/docker after each build): ${before.seconds.toFixed(2)} s for ${before.images} images; ` +
            `after \`podman image prune -f\`: ${after.seconds.toFixed(2)} s for ${after.images}`,
    );
}

// ---------------------------------------------------------------------------------------------- dev

async function devRow(): Promise<Row> {
    console.log("dev (local Podman)");
    execFileSync(
        "bash",
        ["scripts/podman/vendor-deps.sh", "--mas", "samples/mas", "--signaling", "samples/signaling", "--player", "samples/unity-player-standin"],
        { cwd: root, stdio: "ignore" },
    );
    const builds = [
        { image: "localhost/sparc-bench-hand/mas:latest", dockerfile: "dockerfiles/Dockerfile.mas", context: "samples/mas" },
        { image: "localhost/sparc-bench-hand/signaling:latest", dockerfile: "dockerfiles/Dockerfile.signaling", context: "samples/signaling" },
        { image: "localhost/sparc-bench-hand/player:latest", dockerfile: "dockerfiles/Dockerfile.unity-standin", context: "samples/unity-player-standin" },
    ];
    const handPod = "sparc-bench-hand";
    const handPorts = { mas: 18310, signaling: 18390 };
    const hand = async (): Promise<void> => {
        for (const b of builds) {
            run(["podman", "build", "-q", "--platform", "linux/amd64", "-t", b.image, "-f", path.join(root, b.dockerfile), path.join(root, b.context)]);
        }
        run([
            "podman",
            "pod",
            "create",
            "--name",
            handPod,
            ...podPortArgs({
                podName: handPod,
                masPort: handPorts.mas,
                signalingPort: handPorts.signaling,
                turnPort: 13490,
                webrtcPortRange: { first: 49430, last: 49432 },
            }),
        ]);
        run(["podman", "run", "-d", "--pod", handPod, "--name", "bench-hand-mas", builds[0].image]);
        run(["podman", "run", "-d", "--pod", handPod, "--name", "bench-hand-signaling", "--env", "PUBLIC_HOST=localhost", builds[1].image]);
        run([
            "podman",
            "run",
            "-d",
            "--pod",
            handPod,
            "--name",
            "bench-hand-player",
            builds[2].image,
            "-signalingType",
            "websocket",
            "-signalingUrl",
            "ws://localhost:8080",
        ]);
        await waitUntil("MAS /health", 120, () => healthAnswers(`http://127.0.0.1:${handPorts.mas}/health`), 200);
        await waitUntil("signaling /health", 120, () => healthAnswers(`http://127.0.0.1:${handPorts.signaling}/health`), 200);
    };
    const removeHandPod = () => spawnSync("podman", ["pod", "rm", "-f", "-t", "0", handPod], { stdio: "ignore" });

    const config = (pod: string, mas: number, signaling: number, turn: number, webrtc: string): Record<string, string> => ({
        masImage: "sparc-bench/mas-server:latest",
        signalingImage: "sparc-bench/signaling-server:latest",
        unityImage: "sparc-bench/unity-standin:latest",
        turnMode: "off",
        podName: pod,
        containerNamePrefix: `${pod}-`,
        masPort: String(mas),
        signalingPort: String(signaling),
        turnPort: String(turn),
        webrtcPortRange: webrtc,
        readinessTimeoutSeconds: "120",
    });
    const engine = requireEngine();
    // Stacks "warm" and "warm2" build the images through the Docker API (its layer cache), then stack "measured"
    // builds the same images from that cache, as the by-hand run does from the CLI's cache. Twice: the first
    // builds run at once, and where two images share their first steps (here the stand-in bases of the
    // signaling server and the player are one image) each build makes its own copy of those steps; the next
    // build takes one of them and misses the cache of the other image's later steps, the third hits everything.
    const warm = await TestStack.create(engine, { programDir: root, stackName: "bench-dev-warm", env: stackEnv });
    const warm2 = await TestStack.create(engine, { programDir: root, stackName: "bench-dev-warm2", env: stackEnv });
    const measured = await TestStack.create(engine, { programDir: root, stackName: "bench-dev", env: stackEnv });
    try {
        for (const [k, v] of Object.entries(config("sparc-bench-warm", 18320, 18391, 13491, "49433-49435"))) {
            await warm.setConfig(k, v);
        }
        for (const [k, v] of Object.entries(config("sparc-bench-warm2", 18340, 18393, 13493, "49439-49441"))) {
            await warm2.setConfig(k, v);
        }
        for (const [k, v] of Object.entries(config("sparc-bench-dev", 18330, 18392, 13492, "49436-49438"))) {
            await measured.setConfig(k, v);
        }
        // Warm both caches: by hand once, the API through the warm stack (then its pod stops: no load from it).
        removeHandPod();
        await pruneDangling();
        await hand();
        removeHandPod();
        await warm.up();
        spawnSync("podman", ["pod", "stop", "-t", "0", "sparc-bench-warm"], { stdio: "ignore" });
        await warm2.up();
        spawnSync("podman", ["pod", "stop", "-t", "0", "sparc-bench-warm2"], { stdio: "ignore" });

        const handSeconds = await timed("by hand (3 builds, pod create, 3 runs, both /health)", hand);
        removeHandPod();
        const upSeconds = await timed("pulumi up (fresh stack, images cached)", () => measured.up());
        const { noop, noopPreview } = await noops(measured);
        return { name: "dev", hand: handSeconds, up: upSeconds, noop, noopPreview };
    } finally {
        removeHandPod();
        await measured.destroy().catch((e: unknown) => console.error(`destroy bench-dev: ${String(e)}`));
        await warm2.destroy().catch((e: unknown) => console.error(`destroy bench-dev-warm2: ${String(e)}`));
        await warm.destroy().catch((e: unknown) => console.error(`destroy bench-dev-warm: ${String(e)}`));
        await measured.dispose();
        await warm2.dispose();
        await warm.dispose();
        for (const b of builds) {
            spawnSync("podman", ["rmi", "-f", b.image], { stdio: "ignore" });
        }
    }
}

// ---------------------------------------------------------------------------------------------- hpg

async function hpgRow(): Promise<Row> {
    console.log("hpg (local Slurm test cluster)");
    const image = `localhost/sparc-bench-${process.pid}/mas-server:latest`;
    execFileSync("bash", [path.join(root, "scripts/podman/vendor-deps.sh"), "--mas", path.join(root, "samples/mas")], { stdio: "ignore" });
    run(["podman", "build", "-q", "-t", image, "-f", path.join(root, "dockerfiles/Dockerfile.mas"), path.join(root, "samples/mas")]);
    const base = `/blue/sparc-test/hpcuser/sparc-bench-${process.pid}`;
    const local = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-bench-archives-"));
    const controlPath = `/tmp/sparc-bench-cm-${process.pid}`;
    const ssh = (cmd: string): string => run(["ssh", ...sshOptions(), "-o", `ControlPath=${controlPath}`, "hpcuser@127.0.0.1", cmd]);
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "0.0.0.0", resolve));
    const port = (holder.address() as net.AddressInfo).port;
    holder.close();

    const hand = async (): Promise<void> => {
        const dir = `${base}/hand/containers`;
        const p = sifPlan("mas", image, "0123456789abcdef", local, dir);
        run(["podman", "save", "--format", "docker-archive", "-o", p.localTar, image]);
        run(["ssh", ...sshOptions(), "-o", "ControlMaster=yes", "-o", `ControlPath=${controlPath}`, "-o", "ControlPersist=60", "-fN", "hpcuser@127.0.0.1"]);
        ssh(`mkdir -p ${dir}`);
        run([
            "scp",
            "-q",
            "-P",
            "2222",
            "-i",
            USER_KEY_PATH,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            `ControlPath=${controlPath}`,
            p.localTar,
            `hpcuser@127.0.0.1:${p.remoteTar}`,
        ]);
        run(
            [
                "ssh",
                ...sshOptions(),
                "-o",
                `ControlPath=${controlPath}`,
                "hpcuser@127.0.0.1",
                `sbatch --wait --parsable -p debug -c 1 --mem=1gb -t 60 -o ${base}/hand/sif_%j.log`,
            ],
            { input: `#!/bin/bash\n${sifBuildScript(p, [])}\n` },
        );
        const pattern = endpointFilePattern(`${base}/hand`, "sparc_service_%j.log");
        const body = serviceJobBody({ modules: [], sif: p.remoteSif, port, endpointPattern: pattern, gpus: false, appDir: "/app" });
        const jobId = run(
            [
                "ssh",
                ...sshOptions(),
                "-o",
                `ControlPath=${controlPath}`,
                "hpcuser@127.0.0.1",
                `sbatch --parsable -p gpu --gpus-per-task=fake:1 --ntasks=1 -c 1 --mem=1gb -t 30 -D ${base}/hand -o ${base}/hand/sparc_service_%j.log`,
            ],
            { input: `#!/bin/bash\n${body}` },
        ).trim();
        handJob = jobId;
        await waitUntil("RUNNING", 300, () => (ssh(`squeue -h -j ${jobId} -o %T`).trim() === "RUNNING" ? true : undefined), 1000);
        const endpoint = pattern.replace("%j", jobId);
        const where = await waitUntil(
            "endpoint file",
            120,
            () => {
                const text = ssh(`cat ${endpoint} 2>/dev/null || true`).trim();
                return text === "" ? undefined : text.split(" ");
            },
            200,
        );
        await waitUntil("/health", 120, () => healthAnswers(`http://127.0.0.1:${where[1]}/health`), 200);
    };
    let handJob = "";

    const stack = await TestStack.create(requireEngine(), { programDir: root, stackName: `bench-hpg-${process.pid}`, env: stackEnv });
    try {
        const config: Record<string, string> = {
            target: "hpg",
            imageSource: "prebuilt",
            masImage: image,
            hpgHost: "127.0.0.1",
            hpgPort: "2222",
            hpgUser: "hpcuser",
            hpgGroup: "sparc-test",
            hpgHostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
            hpgIdentityFile: USER_KEY_PATH,
            hpgSshTransport: "openssh",
            hpgControlPath: `/tmp/sparc-bench-user-cm-${process.pid}-%C`,
            hpgContainerDir: `${base}/stack/containers`,
            hpgWorkDir: `${base}/stack`,
            hpgLocalArchiveDir: local,
            hpgPartition: "gpu",
            hpgGpusPerTask: "fake:1",
            hpgCpusPerTask: "1",
            hpgMem: "1gb",
            hpgTime: "30",
            hpgSifBuildPartition: "debug",
            hpgSifBuildCpus: "1",
            hpgSifBuildMem: "1gb",
            hpgMasPort: String(port),
            hpgReadinessTimeoutSeconds: "120",
            hpgWaitTimeoutSeconds: "300",
        };
        for (const [k, v] of Object.entries(config)) {
            await stack.setConfig(k, v);
        }
        onCluster(`rm -rf ${base}`);
        const handSeconds = await timed("by hand (save, scp over one master, sbatch --wait build, sbatch service, RUNNING, /health)", hand);
        onCluster(`scancel ${Number(handJob)}`);
        const upSeconds = await timed("pulumi up (fresh stack)", () => stack.up());
        const { noop, noopPreview } = await noops(stack);
        return { name: "hpg", hand: handSeconds, up: upSeconds, noop, noopPreview };
    } finally {
        if (handJob !== "") {
            onCluster(`scancel ${Number(handJob)}`);
        }
        await stack.destroy().catch((e: unknown) => console.error(`destroy: ${String(e)}`));
        await stack.dispose();
        spawnSync("ssh", ["-O", "exit", "-o", `ControlPath=${controlPath}`, "-p", "2222", "hpcuser@127.0.0.1"], { stdio: "ignore" });
        onCluster(`rm -rf ${base}`);
        spawnSync("podman", ["rmi", "-f", image], { stdio: "ignore" });
        fs.rmSync(local, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    // As scripts/up-dev.sh does before `pulumi up` (absent before issue 21).
    if (fs.existsSync(path.join(root, "scripts", "compile.js"))) {
        await timed("npm run compile", async () => execFileSync(process.execPath, [path.join(root, "scripts", "compile.js")], { cwd: root, stdio: "inherit" }));
    }
    const plain = { ...process.env };
    delete plain.NODE_COMPILE_CACHE;
    const cached = { ...process.env, NODE_COMPILE_CACHE: stackEnv.NODE_COMPILE_CACHE };
    providerStart(cached); // fills the cache
    console.log(
        `provider process start (node + @pulumi/pulumi + the package, median of 3): ${providerStart(plain).toFixed(2)} s; ` +
            `with NODE_COMPILE_CACHE: ${providerStart(cached).toFixed(2)} s`,
    );
    const projectLauncher = path.join(root, "scripts", "dynamic-provider", "pulumi-resource-pulumi-nodejs");
    if (fs.existsSync(projectLauncher)) {
        const cliLauncher = path.join(requireEngine().binDir, "pulumi-resource-pulumi-nodejs");
        console.log(
            `dynamic-provider host, until its port (median of 5, NODE_COMPILE_CACHE set): the CLI's launcher ${(await providerHostStart(cliLauncher, cached)).toFixed(2)} s; ` +
                `this project's (Pulumi.yaml plugins.providers) ${(await providerHostStart(projectLauncher, cached)).toFixed(2)} s`,
        );
    }
    const rows: Row[] = [];
    if (only === "" || only === "dev") {
        rows.push(await devRow());
    }
    if (only === "" || only === "hpg") {
        rows.push(await hpgRow());
    }
    console.log("");
    console.log(`| run | by hand | pulumi up | ratio | no-op up --skip-preview | no-op up (with preview) |`);
    console.log(`|---|---|---|---|---|---|`);
    for (const r of rows) {
        console.log(
            `| ${r.name} | ${r.hand.toFixed(1)} s | ${r.up.toFixed(1)} s | ${(r.up / r.hand).toFixed(2)} | ${r.noop.toFixed(1)} s | ${r.noopPreview.toFixed(1)} s |`,
        );
    }
    console.log(`scheduler queries per hour of a SlurmJob waiting for its job: ${schedulerQueriesPerHour()}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
