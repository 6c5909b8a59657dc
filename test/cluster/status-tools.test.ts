// `npm run status` / `npm run logs` against real components: a job this test submits on the Slurm test
// cluster (a tiny /health server, a log), read by the hpg functions over the provider's ssh2 login and by
// the CLI script from a real local-backend stack (the real engine: its outputs and an hpg stack's config);
// and the pubapps functions against a PubApps stand-in of its own (systemd, rootless Podman, sshd).
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_KEY_PATH, TEST_USER, USER_KEY_PATH, onCluster, requireClusterOrSkip, testConnection, waitUntil } from "../support/cluster";
import { closeAllConnections } from "../../providers/remote";
import { shQuote } from "../../providers";
import { hpgLogs, hpgStatus } from "../../scripts/status/hpg";
import { pubappsLogsArgv, pubappsStatus, runOnInstance } from "../../scripts/status/pubapps";
import type { PubappsConfig } from "../../components/pubapps/config";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const root = path.resolve(__dirname, "../..");
const clusterUp = requireClusterOrSkip();
const work = `/tmp/sparc-status-test-${process.pid}`;
const port = 20000 + (process.pid % 20000);

/** The job: writes a log line, then serves /health with its own id (as the MAS sample does) until cancelled. */
const SERVER = [
    "import http.server, json, os",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_GET(self):",
    "        body = json.dumps({'status': 'ok', 'job_id': os.environ['SLURM_JOB_ID']}).encode()",
    "        self.send_response(200 if self.path == '/health' else 404); self.end_headers(); self.wfile.write(body)",
    "    def log_message(self, *a): pass",
    `http.server.HTTPServer(('127.0.0.1', ${port}), H).serve_forever()`,
].join("\n");

describe.skipIf(!clusterUp)("status and logs of an hpg deployment (real Slurm job)", () => {
    let jobId = "";
    const logPath = `${work}/sparc_service.log`;

    beforeAll(async () => {
        expect(onCluster(`mkdir -p ${shQuote(work)}`).code).toBe(0);
        const wrap = `echo status-test-started; echo second-line; exec /usr/bin/python3 -c ${shQuote(SERVER)}`;
        const r = onCluster(`sbatch --parsable --time=10 --output=${shQuote(logPath)} --chdir=${shQuote(work)} --wrap=${shQuote(wrap)}`);
        expect(r.code, r.stderr).toBe(0);
        jobId = r.stdout.trim().split(";")[0] as string;
        // Bounded: the job starts and its server answers (the cluster may be busy with other tests' jobs).
        await waitUntil("the job's /health", 180, () =>
            onCluster(`curl -fsS --max-time 2 http://127.0.0.1:${port}/health`).stdout.includes(jobId) ? true : undefined,
        );
    }, 240_000);

    afterAll(() => {
        if (jobId !== "") {
            onCluster(`scancel ${shQuote(jobId)}`);
        }
        onCluster(`rm -rf ${shQuote(work)}`);
        closeAllConnections();
    });

    it("shows the job RUNNING with its time left, renewal under way (window longer than the job), /health and the log", async () => {
        const text = await hpgStatus(testConnection(), 1, { jobId, logPath, endpoint: `127.0.0.1:${port}`, lines: 5 }, "hpg");
        expect(text).toMatch(new RegExp(`^job ${jobId}: RUNNING on \\S+, time left (0:\\d\\d:\\d\\d|\\d+:\\d\\d), ends \\S+$`, "m"));
        expect(text).toContain("renewal: under way on the cluster (less than 1 h left)");
        expect(text).toContain(`health: GET http://127.0.0.1:${port}/health from the login node -> HTTP 200 {"status": "ok", "job_id": "${jobId}"}`);
        expect(text).toMatch(/\n {2}status-test-started\n {2}second-line$/);
    });

    it("shows the log as logs does", async () => {
        const r = await hpgLogs(testConnection(), logPath, 1);
        expect(r.code).toBe(0);
        expect(r.text).toBe(`==> ${logPath} (service job log, last 1 lines) <==\nsecond-line\n`);
    });

    describe.skipIf(shouldSkipEngineTests())("the CLI scripts on a real local-backend stack", () => {
        const programDir = path.join(root, "test/e2e/programs/status-outputs");
        const stackName = `status${process.pid}`;
        const inProgramDir = path.join(programDir, `Pulumi.${stackName}.yaml`);
        let stack: TestStack;

        beforeAll(async () => {
            stack = await TestStack.create(requireEngine(), { programDir, stackName });
        }, 120_000);

        afterAll(async () => {
            fs.rmSync(inProgramDir, { force: true });
            await stack?.dispose();
        });

        /** Runs the script as a user does (ts-node), with the stack's backend and passphrase; the stack's config beside Pulumi.yaml. */
        function cli(tool: "status" | "logs", args: string[]): { code: number; stdout: string; stderr: string } {
            fs.copyFileSync(stack.configFile, inProgramDir);
            try {
                const r = spawnSync(path.join(root, "node_modules/.bin/ts-node"), ["--transpile-only", path.join(root, "scripts", `${tool}.ts`), ...args], {
                    cwd: root,
                    encoding: "utf8",
                    timeout: 120_000,
                    env: {
                        ...process.env,
                        PATH: [stack.engine.binDir, process.env.PATH ?? ""].join(path.delimiter),
                        PULUMI_HOME: path.join(stack.tempDir, "home"),
                        PULUMI_BACKEND_URL: `file://${path.join(stack.tempDir, "state")}`,
                        PULUMI_CONFIG_PASSPHRASE: "sparc-e2e-passphrase",
                        PULUMI_SKIP_UPDATE_CHECK: "true",
                        NO_COLOR: "1",
                    },
                });
                return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
            } finally {
                fs.rmSync(inProgramDir, { force: true });
            }
        }

        it("names a stack that does not exist, one that is not hpg/pubapps, and one with no outputs yet", async () => {
            const none = cli("status", ["--stack", "no-such-stack", "--cwd", programDir]);
            expect(none.code).toBe(2);
            expect(none.stderr).toContain('status: no stack named "no-such-stack" in this backend');

            const dev = cli("status", ["--stack", stackName, "--cwd", programDir]);
            expect(dev.code).toBe(2);
            expect(dev.stderr).toContain(`stack "${stackName}" is not an hpg or pubapps stack (sparc-e2e-status:target = "podman")`);

            await stack.setConfig("target", "hpg");
            const fresh = cli("logs", ["--stack", stackName, "--cwd", programDir]);
            expect(fresh.code).toBe(2);
            expect(fresh.stderr).toContain(`stack "${stackName}" has no outputs yet: run \`pulumi up --stack ${stackName}\` first`);
        }, 120_000);

        it("shows status and logs of the stack's job over one login with the stack's own settings (openssh, as hpg's default)", async () => {
            for (const [key, value] of Object.entries({
                target: "hpg",
                hpgHost: "127.0.0.1",
                hpgPort: "2222",
                hpgUser: TEST_USER,
                hpgGroup: "testgroup",
                hpgHostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
                hpgIdentityFile: USER_KEY_PATH,
                hpgControlPath: `/tmp/sparc-status-cm-${process.pid}-%C`,
                hpgRenewBeforeHours: "0",
                outJobId: jobId,
                outLogPath: logPath,
                outMasEndpoint: `127.0.0.1:${port}`,
            })) {
                await stack.setConfig(key, value);
            }
            await stack.up();

            const status = cli("status", ["--stack", stackName, "--cwd", programDir, "--lines", "1"]);
            expect(status.stderr).toBe("");
            expect(status.code).toBe(0);
            expect(status.stdout).toMatch(new RegExp(`^hpg stack "${stackName}"\njob ${jobId}: RUNNING on `));
            expect(status.stdout).toContain("renewal: off (hpgRenewBeforeHours = 0)");
            expect(status.stdout).toContain("-> HTTP 200");
            expect(status.stdout).toMatch(/\n {2}second-line\n$/);

            const logs = cli("logs", ["--stack", stackName, "mas", "--cwd", programDir]);
            expect(logs.code).toBe(0);
            expect(logs.stdout).toContain("status-test-started\nsecond-line\n");

            const wrong = cli("logs", ["--stack", stackName, "signaling", "--cwd", programDir]);
            expect(wrong.code).toBe(2);
            expect(wrong.stderr).toContain('no service "signaling" runs as a job in an hpg stack: only mas');
        }, 300_000);
    });

    it("reads an ended job from sacct", async () => {
        onCluster(`scancel ${shQuote(jobId)}`);
        // Bounded: slurmctld records the cancel, then the job leaves squeue.
        const text = await waitUntil(
            "the job to leave squeue",
            120,
            async () => {
                const t = await hpgStatus(testConnection(), 0, { jobId, logPath, endpoint: "", lines: 1 }, "hpg");
                return /: CANCELLED/.test(t) ? t : undefined;
            },
            2000,
        );
        expect(text).toMatch(new RegExp(`job ${jobId}: CANCELLED`));
        expect(text).toContain("health: no endpoint (the masEndpoint output is empty");
    }, 180_000);
});

// A stand-in instance of this test's own (its own name and port: another test's is never reset).
const TESTBED = `sparc-status-testbed`;
const SSH_PORT = 2227;
const podmanUsable = spawnSync("podman", ["info"], { stdio: "ignore", timeout: 30_000 }).status === 0;

describe.skipIf(!podmanUsable || process.env.SPARC_SKIP_PUBAPPS_STANDIN === "1")("status and logs of a pubapps deployment (PubApps stand-in)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-status-pubapps-"));
    const key = path.join(dir, "id_ed25519");
    let hostKey = "";
    let cfg: PubappsConfig;

    function onInstance(command: string): { code: number; stdout: string } {
        const r = spawnSync(
            "podman",
            ["exec", "--user", "svc", "--workdir", "/home/svc", "-e", "HOME=/home/svc", "-e", "XDG_RUNTIME_DIR=/run/user/1000", TESTBED, "bash", "-c", command],
            { encoding: "utf8", timeout: 60_000 },
        );
        return { code: r.status ?? -1, stdout: r.stdout ?? "" };
    }

    beforeAll(async () => {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        hostKey = execFileSync("bash", [path.join(root, "test/pubapps/setup.sh"), `${key}.pub`], {
            encoding: "utf8",
            timeout: 900_000,
            env: { ...process.env, PUBAPPS_CONTAINER: TESTBED, PUBAPPS_SSH_PORT: String(SSH_PORT) },
        })
            .trim()
            .split("\n")
            .pop() as string;
        // A one-binary image (the host's static busybox), imported on the instance: no registry, no build.
        const rootfs = path.join(dir, "rootfs");
        fs.mkdirSync(path.join(rootfs, "bin"), { recursive: true });
        fs.copyFileSync("/usr/bin/busybox", path.join(rootfs, "bin", "busybox"));
        fs.chmodSync(path.join(rootfs, "bin", "busybox"), 0o755);
        for (const applet of ["sh", "sleep", "echo"]) {
            fs.symlinkSync("busybox", path.join(rootfs, "bin", applet));
        }
        execFileSync("tar", ["-C", rootfs, "-cf", path.join(dir, "rootfs.tar"), "."]);
        execFileSync("podman", ["cp", path.join(dir, "rootfs.tar"), `${TESTBED}:/tmp/status-rootfs.tar`], { timeout: 60_000 });
        spawnSync("podman", ["exec", TESTBED, "chmod", "644", "/tmp/status-rootfs.tar"], { timeout: 30_000 });
        expect(onInstance("podman import -q /tmp/status-rootfs.tar localhost/sparc-status-busybox:latest").code).toBe(0);
        // A unit as the stack installs one (a container under systemd, the label Podman gives it) and one that fails.
        const unit = [
            "[Unit]",
            "Description=status test container",
            "[Service]",
            "Environment=PODMAN_SYSTEMD_UNIT=%n",
            "ExecStartPre=-/usr/bin/podman rm -f -t 0 status-web",
            "ExecStart=/usr/bin/podman run --rm --name status-web --network none localhost/sparc-status-busybox:latest /bin/sh -c 'echo container-says-hello; exec sleep 3600'",
            "ExecStop=/usr/bin/podman stop -t 1 status-web",
            "[Install]",
            "WantedBy=default.target",
        ].join("\n");
        const failing = ["[Service]", "ExecStart=/bin/sh -c 'echo about-to-fail; exit 3'"].join("\n");
        const setup = onInstance(
            [
                "set -e",
                "mkdir -p ~/.config/systemd/user",
                `printf '%s\\n' ${shQuote(unit)} > ~/.config/systemd/user/status-web.service`,
                `printf '%s\\n' ${shQuote(failing)} > ~/.config/systemd/user/status-fail.service`,
                "systemctl --user daemon-reload",
                "systemctl --user start status-web.service",
                "systemctl --user start status-fail.service || true",
            ].join("\n"),
        );
        expect(setup.code).toBe(0);
        // Bounded: the container is up and the other unit has failed before anything is asserted.
        await waitUntil("status-web up and status-fail failed", 120, () =>
            onInstance("podman ps --filter name=status-web --format '{{.Status}}' | grep -q '^Up' && systemctl --user is-failed --quiet status-fail.service")
                .code === 0
                ? true
                : undefined,
        );
        cfg = {
            host: "127.0.0.1",
            port: SSH_PORT,
            user: "svc",
            hostKey,
            jumpHost: "",
            jumpPort: 0,
            jumpUser: "",
            jumpHostKey: "",
            insecureIgnoreHostKey: false,
            identityFile: key,
            mfaAnswers: undefined,
            controlPath: path.join(dir, "cm-%C"),
            proxyPort: 18590,
            masPort: 8000,
            publicHost: "127.0.0.1",
            archiveDir: "/podman/svc/sparc-archives",
            localArchiveDir: dir,
            localCli: "podman",
            unitFormat: "systemd",
            readinessTimeoutSeconds: 60,
            keepArchives: false,
            publicUrl: "http://127.0.0.1:9/",
            publicCheckSeconds: 0,
        };
    }, 960_000);

    afterAll(() => {
        // The stack's connection is the provider's (runRemote): its master ends here, not 10 minutes later.
        closeAllConnections();
        spawnSync("podman", ["rm", "-f", "-t", "0", TESTBED], { stdio: "ignore", timeout: 60_000 });
        spawnSync("podman", ["volume", "rm", "-f", `${TESTBED}-podman`], { stdio: "ignore", timeout: 60_000 });
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("shows each unit's state, podman ps, df and the public URL's answers", async () => {
        const unitNames = { web: "status-web.service", broken: "status-fail.service", mas: "mas-server.service" };
        const r = await pubappsStatus(cfg, undefined, "pubapps", { unitNames, publicUrl: cfg.publicUrl });
        expect(r.ok).toBe(true);
        expect(r.text).toMatch(/^ {2}web {8}status-web\.service +active \(running\)$/m);
        expect(r.text).toMatch(/^ {2}broken {5}status-fail\.service +failed \(failed\)$/m);
        expect(r.text).toMatch(/^ {2}mas {8}mas-server\.service +not installed$/m);
        expect(r.text).toMatch(/^ {2}status-web {2}Up /m);
        expect(r.text).toMatch(/^ {2}\S+ +\S+ +\S+ +\S+ +\d+% \/podman$/m);
        expect(r.text).toContain("public URL: NOT READY: GET http://127.0.0.1:9/health -> no HTTP answer: ECONNREFUSED");
    }, 120_000);

    it("shows a unit's journal and its container's output", async () => {
        const r = await runOnInstance(cfg, undefined, pubappsLogsArgv(["status-web.service", "status-fail.service"], 20));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("==> status-web.service: container status-web (podman logs, last 20 lines) <==\ncontainer-says-hello\n");
        expect(r.stdout).toContain("==> status-fail.service: journal (journalctl --user -u status-fail.service, last 20 lines) <==");
        // systemd's own lines (a process this short may leave its output unattributed to the unit).
        expect(r.stdout).toMatch(/status-fail\.service: Main process exited, code=exited, status=3/);
    }, 120_000);
});
