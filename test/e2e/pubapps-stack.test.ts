// `pulumi up --stack pubapps` of the project's own program under the real engine, against the
// PubApps stand-in (test/pubapps: systemd, sshd on 127.0.0.1:2223, rootless Podman 4.3.1, linger)
// reached through the test cluster's sshd (127.0.0.1:2222) as the jump host: preview without a
// login; the stack deployed by main's program before issue 22 (test/e2e/programs/pubapps-legacy),
// migrated (npm run migrate:pubapps) and adopted by today's up without restarting a unit; a no-op up,
// an image change that uploads that image and restarts its unit only, a reboot of the instance after
// which the pod comes back by itself (linger), destroy leaving nothing.
// Every remote step is a RemoteCommand (providers/remote, the openssh transport, the instance through the
// jump host's master); the @pulumi/command plugin (the local archive steps) is the stand-in under test/standins/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";
import { HOST_KEY_PATH, TEST_USER, requireClusterOrSkip, waitUntil } from "../support/cluster";
import { generatedContainer, generatedPod } from "../../components/pubapps";
import { chromiumAvailable, launchChromium, watchReceiver } from "../support/receiver";

const root = path.resolve(__dirname, "../..");
const TESTBED = "sparc-pubapps-testbed";
const SSH_PORT = 2223;
const PROXY_PORT = 18580;
const MAS_PORT = 18581;
const TURN_PORT = 18583;
const IMAGES = {
    mas: "localhost/sparc-pubappstest/mas-server:latest",
    signaling: "localhost/sparc-pubappstest/signaling-server:latest",
    turn: "localhost/sparc-pubappstest/turn-server:latest",
    unity: "localhost/sparc-pubappstest/unity-standin:latest",
};
/** Each image: Dockerfile and build context (the player is the stand-in, a real WebRTC peer). */
const BUILDS: Record<keyof typeof IMAGES, [string, string]> = {
    mas: ["dockerfiles/Dockerfile.mas", "samples/mas"],
    signaling: ["dockerfiles/Dockerfile.signaling", "samples/signaling"],
    turn: ["dockerfiles/Dockerfile.turn", "dockerfiles/turn"],
    unity: ["dockerfiles/Dockerfile.unity-standin", "samples/unity-player-standin"],
};
const SERVICES = Object.keys(IMAGES) as (keyof typeof IMAGES)[];
const RESOURCES = 24;
/** What main's program (before issue 22) made: no separate copy steps. */
const LEGACY_RESOURCES = 20;
const legacyProgram = path.join(root, "test/e2e/programs/pubapps-legacy");
const sshdLog = "/var/lib/slurm-test/log/sshd.log";
const podmanUsable = spawnSync("podman", ["info"], { stdio: "ignore", timeout: 30_000 }).status === 0;
if (process.env.CI === "true" && !chromiumAvailable()) {
    throw new Error("the pubapps stream check needs Debian's chromium (.ci/run installs it)");
}
const skip = shouldSkipEngineTests() || !podmanUsable || !requireClusterOrSkip();

const work = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-e2e-pubapps-"));
const key = path.join(work, "id_ed25519");
const controlPath = `/tmp/sparc-e2e-pubapps-${process.pid}-%C`;
let fingerprint = "";

function sh(cmd: string, args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): string {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
}

/**
 * Runs a command as the service account inside the stand-in (out of band, not through the stack).
 * Not `su -`: its PAM session (pam_systemd) was seen to hang after the instance restarted.
 */
function onInstance(command: string): { code: number; stdout: string } {
    const r = spawnSync(
        "podman",
        ["exec", "--user", "svc", "--workdir", "/home/svc", "-e", "HOME=/home/svc", "-e", "XDG_RUNTIME_DIR=/run/user/1000", TESTBED, "bash", "-c", command],
        { encoding: "utf8", timeout: 60_000 },
    );
    return { code: r.status ?? -1, stdout: r.stdout ?? "" };
}

/** Logins with this test's key at the jump host (the cluster sshd is shared: other keys are others'). */
function jumpLogins(): number {
    return fs
        .readFileSync(sshdLog, "utf8")
        .split("\n")
        .filter((l) => l.includes(`Accepted publickey for ${TEST_USER}`) && l.includes(fingerprint)).length;
}

function instanceLogins(): number {
    return spawnSync("podman", ["exec", TESTBED, "journalctl", "-u", "ssh", "--no-pager", "-o", "cat"], { encoding: "utf8", timeout: 30_000 })
        .stdout.split("\n")
        .filter((l) => l.startsWith("Accepted publickey for svc")).length;
}

/** Closes the masters main's transport left behind (ControlPersist): today's up must not ride on them. */
function closeLegacyMasters(): void {
    for (const [port, user] of [
        [SSH_PORT, "svc"],
        [2222, TEST_USER],
    ] as const) {
        spawnSync("ssh", ["-O", "exit", "-o", `ControlPath=${controlPath}`, "-p", String(port), `${user}@127.0.0.1`], { stdio: "ignore", timeout: 10_000 });
    }
    // A master that did not take `-O exit`: this test's own (its ControlPath names this process), stopped by pid.
    const mine = `ControlPath=${controlPath.replace("%C", "")}`;
    for (const line of spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8", timeout: 10_000 }).stdout.split("\n")) {
        if (line.includes(mine) && line.includes("ControlMaster=yes")) {
            try {
                process.kill(Number(line.trim().split(/\s+/)[0]), "SIGTERM");
            } catch {
                // gone already
            }
        }
    }
    fs.rmSync(`${controlPath.replace(/%[A-Za-z]/g, "_")}.lock`, { force: true });
    for (const role of ["instance", "jump"]) {
        fs.rmSync(`${controlPath.replace(/%[A-Za-z]/g, "_")}.${role}.known_hosts`, { force: true });
    }
}

function curlStatus(url: string): number {
    return spawnSync("curl", ["-fsS", "-o", "/dev/null", "--max-time", "3", url], { timeout: 10_000 }).status ?? -1;
}

/** MainPID and start time (monotonic) of each unit: what changes when a unit restarts. */
function unitStarts(units: string[]): Record<string, string> {
    return Object.fromEntries(units.map((u) => [u, onInstance(`systemctl --user show -p ExecMainStartTimestampMonotonic --value ${u}`).stdout.trim()]));
}

function authorizedKeysFile(): string {
    return path.join(sh("getent", ["passwd", TEST_USER]).split(":")[5], ".ssh", "authorized_keys");
}

describe.skipIf(skip)("pulumi up --stack pubapps through a jump host to the PubApps stand-in (real engine)", () => {
    let stack: TestStack;
    let firstImageIds: Record<string, string> = {};
    let units: Record<string, string> = {};

    beforeAll(async () => {
        sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sparc-pubapps-e2e", "-f", key]);
        fingerprint = sh("ssh-keygen", ["-lf", `${key}.pub`]).split(" ")[1];
        // The jump host accepts this test's own key, so its logins can be told from other tests'.
        fs.appendFileSync(authorizedKeysFile(), fs.readFileSync(`${key}.pub`, "utf8"));
        execFileSync(
            "bash",
            [
                path.join(root, "scripts/podman/vendor-deps.sh"),
                ...["--mas", "samples/mas", "--signaling", "samples/signaling", "--player", "samples/unity-player-standin"].map((a) =>
                    a.startsWith("--") ? a : path.join(root, a),
                ),
            ],
            { stdio: "ignore", timeout: 600_000 },
        );
        for (const service of SERVICES) {
            const [dockerfile, context] = BUILDS[service];
            execFileSync("podman", ["build", "-q", "-t", IMAGES[service], "-f", path.join(root, dockerfile), path.join(root, context)], {
                stdio: "ignore",
                timeout: 600_000,
            });
        }
        // A fresh instance; its "reverse proxy" publishes PROXY_PORT on 127.0.0.1, and the TURN port is
        // open over UDP (what UF RC is asked for: the proxy carries HTTP(S) only).
        const hostKey =
            sh("bash", [path.join(root, "test/pubapps/setup.sh"), `${key}.pub`], 900_000, {
                PUBAPPS_CONTAINER: TESTBED,
                PUBAPPS_SSH_PORT: String(SSH_PORT),
                PUBAPPS_PROXY_PORTS: `${PROXY_PORT} ${TURN_PORT}/udp`,
            })
                .trim()
                .split("\n")
                .pop() ?? "";
        expect(hostKey).toMatch(/^ssh-ed25519 /);
        // Linger off, as on an instance UF RC has not set up for it: the stack must turn it on (and back off).
        execFileSync("podman", ["exec", TESTBED, "loginctl", "disable-linger", "svc"], { timeout: 30_000 });
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName: "e2e-pubapps" });
        const config: Record<string, string> = {
            target: "pubapps",
            imageSource: "prebuilt",
            masImage: IMAGES.mas,
            signalingImage: IMAGES.signaling,
            turnImage: IMAGES.turn,
            unityImage: IMAGES.unity,
            turnPort: String(TURN_PORT),
            // Browsers reach the relay at the instance's address (here the stand-in's published 127.0.0.1).
            turnHost: "127.0.0.1",
            webrtcPortRange: "18590-18599",
            containerStopTimeoutSeconds: "2",
            pubappsInstance: "127.0.0.1",
            pubappsPort: String(SSH_PORT),
            pubappsUser: "svc",
            pubappsHostKey: hostKey,
            pubappsJumpHost: "127.0.0.1",
            pubappsJumpPort: "2222",
            pubappsJumpUser: TEST_USER,
            pubappsJumpHostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
            pubappsIdentityFile: key,
            pubappsControlPath: controlPath,
            pubappsProxyPort: String(PROXY_PORT),
            pubappsMasPort: String(MAS_PORT),
            pubappsPublicHost: "127.0.0.1",
            // The readiness check through the "proxy" (the published port), run by the engine's program on this machine.
            pubappsPublicUrl: `http://127.0.0.1:${PROXY_PORT}/`,
            pubappsPublicCheckSeconds: "60",
            pubappsLocalArchiveDir: path.join(work, "archives"),
            pubappsReadinessTimeoutSeconds: "120",
        };
        for (const [k, v] of Object.entries(config)) {
            await stack.setConfig(k, v);
        }
        // The stand-in instance has no GPU (a prebuilt player image is taken for a Unity build, which gets them).
        stack.setConfigValue("gpuDeviceArgs", []);
    }, 1_800_000);

    afterAll(async () => {
        closeLegacyMasters();
        await stack?.dispose();
        const file = authorizedKeysFile();
        const pub = fs.existsSync(`${key}.pub`) ? fs.readFileSync(`${key}.pub`, "utf8").trim() : "";
        if (pub !== "" && fs.existsSync(file)) {
            fs.writeFileSync(
                file,
                fs
                    .readFileSync(file, "utf8")
                    .split("\n")
                    .filter((l) => l.trim() !== pub)
                    .join("\n"),
            );
        }
        spawnSync("bash", [path.join(root, "test/pubapps/teardown.sh")], {
            stdio: "ignore",
            timeout: 60_000,
            env: { ...process.env, PUBAPPS_CONTAINER: TESTBED },
        });
        fs.rmSync(work, { recursive: true, force: true });
    }, 300_000);

    it("preview plans the deployment without logging in anywhere", async () => {
        const [jump, instance] = [jumpLogins(), instanceLogins()];
        // host, 4 archives, 4 copies, 4 images, pod, 4 units, ready, the 2 podman secrets and the generated TURN secret;
        // plus the stack and the component
        expect(await stack.preview()).toEqual({ create: RESOURCES });
        expect([jumpLogins() - jump, instanceLogins() - instance]).toEqual([0, 0]);
    }, 300_000);

    it("a stack deployed by main's program (remote steps as command:local:Command) is migrated: its state loses exactly those steps, nothing runs remotely", async () => {
        stack.useProgram(legacyProgram);
        try {
            const started = Date.now();
            expect(await stack.up()).toEqual({ create: LEGACY_RESOURCES });
            console.log(`pulumi up --stack pubapps with main's program: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } finally {
            closeLegacyMasters();
            stack.useProgram(root);
        }
        const before = unitStarts([
            "sparc-avatar-pod.service",
            "mas-server.service",
            "turn-server.service",
            "signaling-server.service",
            "unity-server.service",
        ]);
        const secretsBefore = onInstance("podman secret ls --format '{{.ID}} {{.Name}}' | sort").stdout;
        const [jump, instance] = [jumpLogins(), instanceLogins()];
        const migrated = stack.exec([
            "bash",
            path.join(root, "scripts/migrate-pubapps.sh"),
            "--stack",
            stack.stackName,
            "--backup",
            path.join(work, "backup.json"),
        ]);
        console.log(`${migrated.stdout}${migrated.stderr}`);
        expect(migrated.code).toBe(0);
        // host, pod, 4 units, 4 image loads, 2 podman secrets, ready: the 4 local archive steps stay.
        expect(migrated.stdout.split("\n").filter((l) => l.startsWith("  urn:"))).toHaveLength(13);
        // The local steps stay: the archives and the generated TURN secret (the value the instance's secrets hold).
        expect(migrated.stdout).not.toMatch(/-archive$|-turn-secret-value$/m);
        const left = JSON.parse((await stack.pulumi(["stack", "export", "--stack", stack.stackName])).stdout) as {
            deployment: { resources: { type: string; urn: string }[] };
        };
        // Only the local steps are left of main's commands.
        expect(
            left.deployment.resources
                .filter((r) => r.type === "command:local:Command")
                .map((r) => r.urn.split("::").pop())
                .sort(),
        ).toEqual([...SERVICES.map((s) => `sparc-${s}-archive`), "sparc-turn-secret-value"].sort());
        // Nothing ran on the instance: no login, every unit as it was, the secrets kept.
        expect([jumpLogins() - jump, instanceLogins() - instance]).toEqual([0, 0]);
        expect(unitStarts(Object.keys(before))).toEqual(before);
        expect(onInstance("podman secret ls --format '{{.ID}} {{.Name}}' | sort").stdout).toBe(secretsBefore);
    }, 900_000);

    it("today's up adopts the running pod: no unit restarted, nothing sent again, secrets kept, ready through the proxied port, with one login", async () => {
        const allUnits = ["sparc-avatar-pod.service", "mas-server.service", "turn-server.service", "signaling-server.service", "unity-server.service"];
        const before = unitStarts(allUnits);
        const secretsBefore = onInstance("podman secret ls --format '{{.ID}} {{.Name}}' | sort").stdout;
        const [jump, instance] = [jumpLogins(), instanceLogins()];
        const started = Date.now();
        // Every new step is created (adopting); the archives are the same resources as before.
        const up = await stack.up();
        expect(up).toEqual({ create: RESOURCES - LEGACY_RESOURCES + 13, same: LEGACY_RESOURCES - 13 });
        expect(unitStarts(allUnits)).toEqual(before);
        expect(onInstance("podman secret ls --format '{{.ID}} {{.Name}}' | sort").stdout).toBe(secretsBefore);
        console.log(
            `pulumi up --stack pubapps (adopting after the migration): ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
                `logins: jump ${jumpLogins() - jump}, instance ${instanceLogins() - instance}`,
        );
        expect([jumpLogins() - jump, instanceLogins() - instance]).toEqual([1, 1]);
        const out = await stack.outputs();
        // Exactly the pubapps target's outputs, none of the other targets'.
        expect(Object.keys(out).sort()).toEqual([
            "copyReports",
            "imageIds",
            "linger",
            "player",
            "podName",
            "podmanVersion",
            "publicCheck",
            "publicUrl",
            "readiness",
            "receiverUrl",
            "signalingUrl",
            "unitFormat",
            "unitNames",
        ]);
        expect(out.unitFormat).toBe("systemd");
        expect(out.podmanVersion).toBe("4.3.1");
        // It was off: the stack (main's program) turned it on and recorded that it did; today's sees the record.
        expect(out.linger).toBe("enabled");
        expect(spawnSync("podman", ["exec", TESTBED, "test", "-e", "/var/lib/systemd/linger/svc"]).status).toBe(0);
        expect(out.publicUrl).toBe(`http://127.0.0.1:${PROXY_PORT}/`);
        expect(out.publicCheck).toMatch(
            /^ready through the public URL after \d+ attempt\(s\): GET http:\/\/127\.0\.0\.1:\d+\/health -> HTTP 200; .* -> HTTP 101/,
        );
        units = out.unitNames as Record<string, string>;
        expect(units).toEqual({
            pod: "sparc-avatar-pod.service",
            mas: "mas-server.service",
            turn: "turn-server.service",
            signaling: "signaling-server.service",
            unity: "unity-server.service",
        });
        firstImageIds = out.imageIds as Record<string, string>;
        for (const service of SERVICES) {
            expect(firstImageIds[service]).toBe(sh("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGES[service]]).trim().replace(/^/, "sha256:"));
            // Loaded by main's program already: not sent again.
            expect(String((out.copyReports as Record<string, string>)[service])).toMatch(/^sent 0 bytes: .* is already on the instance$/);
        }
        // Sent, loaded, verified, then removed from the instance's /podman (pubappsKeepArchives is false).
        expect(onInstance("ls -A /podman/svc/sparc-archives").stdout.trim()).toBe("");
        expect(String(out.readiness)).toMatch(/^ready after \d+ s/);
        expect(
            onInstance(`systemctl --user is-active ${Object.values(units).join(" ")}`)
                .stdout.trim()
                .split("\n"),
        ).toEqual(Object.values(units).map(() => "active"));
        expect(onInstance("systemctl --user is-enabled sparc-avatar-pod.service").stdout.trim()).toBe("enabled");
        // The reverse proxy's port (published by the stand-in) reaches the signaling server; MAS stays on the instance's loopback.
        expect(curlStatus(`http://127.0.0.1:${PROXY_PORT}/`)).not.toBe(7);
        expect(onInstance(`curl -fsS http://127.0.0.1:${MAS_PORT}/health`).stdout).toContain('"status":"ok"');
        expect(onInstance("podman ps --format '{{.Names}}'").stdout).toMatch(/mas-server[\s\S]*signaling-server|signaling-server[\s\S]*mas-server/);
    }, 900_000);

    it("Chromium, relay only, plays the stand-in's picture: signaling through the proxied port, media through TURN over UDP", async () => {
        const browser = await launchChromium();
        try {
            const seen = await watchReceiver(browser, `http://127.0.0.1:${PROXY_PORT}/?relay=1`, { frames: 60, boundMs: 45_000 });
            console.log(
                `pubapps receiver (relay only, through the proxied port): ${seen.stats.framesDecoded} frames, first after ${seen.firstFrameMs} ms, ` +
                    `pair ${seen.stats.selectedLocalType}->${seen.stats.selectedRemoteType}`,
            );
            expect(seen.stats.error, seen.console.join("\n")).toBeNull();
            expect(seen.stats.framesDecoded, seen.console.join("\n")).toBeGreaterThanOrEqual(60);
            expect(seen.stats.selectedLocalType).toBe("relay");
            expect(seen.pictureChanged).toBe(true);
        } finally {
            await browser.close();
        }
    }, 180_000);

    it("the units are the ones `podman generate systemd --new` writes on the instance (names and --exit-policy aside)", () => {
        // A pod and container made by hand on the instance, with the pause image it already has.
        const image = "localhost/podman-pause:4.3.1-0";
        const made = onInstance(
            `podman pod create --name eqpod -p 18599:8080 >/dev/null && podman create --pod eqpod --name eqc -e PUBLIC_HOST=a.b ${image} >/dev/null ` +
                "&& cd /tmp && podman generate systemd --new --files --name eqpod >/dev/null && cat /tmp/pod-eqpod.service && echo '#SPLIT' && cat /tmp/container-eqc.service; " +
                "podman pod rm -f eqpod >/dev/null; rm -f /tmp/*eq*.service",
        );
        expect(made.code).toBe(0);
        const [theirPod, theirContainer] = made.stdout.split("#SPLIT");
        const normalize = (text: string) =>
            text
                .replace(/ \\\n\t/g, " ")
                .replace(/ +/g, " ")
                .split("\n")
                .map((l) =>
                    l
                        .replace(/container-eqc\.service/g, "eqc.service")
                        .replace(/pod-eqpod\.service/g, "eqpod-pod.service")
                        .replace(/%t\/pod-eqpod\.(pod-id|pid)/g, "%t/eqpod-pod.$1")
                        .replace(/ -t \d+/g, " -t N")
                        // Podman writes the literal runtime dir in one place where we write %t (the same path for the unit's user).
                        .replace("RequiresMountsFor=/run/user/1000/containers", "RequiresMountsFor=%t/containers")
                        .replace(" --exit-policy=stop", "")
                        .trim(),
                )
                .filter((l) =>
                    /^(Exec|Type|NotifyAccess|BindsTo|After|Before|Wants|Restart|RequiresMountsFor|Environment|WantedBy|TimeoutStopSec|PIDFile)/.test(l),
                );
        const podSpec = { podName: "eqpod", publish: ["18599:8080"], stopTimeoutSeconds: 10 };
        const ours = generatedContainer(
            { service: "signaling", name: "eqc", podName: "eqpod", image, restart: "on-failure", env: { PUBLIC_HOST: "a.b" }, runOptions: [], args: [] },
            podSpec,
        );
        expect(normalize(ours.text)).toEqual(normalize(theirContainer));
        expect(normalize(generatedPod(podSpec, ["eqc.service"]).text)).toEqual(normalize(theirPod));
    }, 120_000);

    it("a second up changes nothing and logs in nowhere", async () => {
        const jump = jumpLogins();
        const before = unitStarts(Object.values(units));
        expect(await stack.up()).toEqual({ same: RESOURCES });
        expect(unitStarts(Object.values(units))).toEqual(before);
        console.log(`pulumi up --stack pubapps (unchanged): logins at the jump host ${jumpLogins() - jump}`);
        expect(jumpLogins() - jump).toBe(0);
    }, 300_000);

    it("a changed MAS image restarts the MAS unit only", async () => {
        execFileSync(
            "podman",
            [
                "build",
                "-q",
                "-t",
                IMAGES.mas,
                "--label",
                `sparc.e2e.rebuild=${Date.now()}`,
                "-f",
                path.join(root, "dockerfiles/Dockerfile.mas"),
                path.join(root, "samples/mas"),
            ],
            { stdio: "ignore", timeout: 600_000 },
        );
        const before = unitStarts(Object.values(units));
        const jump = jumpLogins();
        const up = await stack.up();
        console.log(`pulumi up --stack pubapps (MAS image changed): ${JSON.stringify(up)}; logins at the jump host ${jumpLogins() - jump}`);
        expect(jumpLogins() - jump).toBe(1);
        expect(up.create ?? 0).toBe(0);
        expect(up.delete ?? 0).toBe(0);
        // archive, copy, image and unit of MAS are replaced; readiness runs again
        expect(up.replace).toBe(5);
        const after = unitStarts(Object.values(units));
        expect(after[units.mas]).not.toBe(before[units.mas]);
        expect(after[units.signaling]).toBe(before[units.signaling]);
        expect(after[units.pod]).toBe(before[units.pod]);
        const out = await stack.outputs();
        expect((out.imageIds as Record<string, string>).mas).not.toBe(firstImageIds.mas);
        // The new image's archive went up over the shared login through the jump host (stdinFile), checksum verified.
        expect(String((out.copyReports as Record<string, string>).mas)).toMatch(/^sent \d+ bytes to \/podman\/svc\/sparc-archives\/mas-/);
        expect(String((out.copyReports as Record<string, string>).signaling)).toMatch(/^sent 0 bytes/);
        // the old MAS image and archive are gone from the instance
        expect(onInstance(`podman image exists ${firstImageIds.mas.replace("sha256:", "")}`).code).not.toBe(0);
        // every archive was removed once its image was loaded and verified (pubappsKeepArchives false): /podman stays small
        expect(onInstance("ls -A /podman/svc/sparc-archives").stdout.trim()).toBe("");
    }, 900_000);

    it("after a reboot of the instance the pod comes back by itself (linger)", async () => {
        execFileSync("podman", ["restart", "-t", "5", TESTBED], { stdio: "ignore", timeout: 120_000 });
        execFileSync("bash", [path.join(root, "test/pubapps/wait-ready.sh"), TESTBED, "90"], { stdio: "ignore", timeout: 120_000 });
        const started = Date.now();
        await waitUntil(
            "signaling through the proxied port after the reboot",
            180,
            () => (curlStatus(`http://127.0.0.1:${PROXY_PORT}/`) !== 7 ? true : undefined),
            2000,
        );
        await waitUntil(
            "MAS /health after the reboot",
            180,
            () => (onInstance(`curl -fsS http://127.0.0.1:${MAS_PORT}/health`).code === 0 ? true : undefined),
            2000,
        );
        console.log(`pod serving again ${((Date.now() - started) / 1000).toFixed(1)} s after the instance was up`);
        expect(
            onInstance(`systemctl --user is-active ${Object.values(units).join(" ")}`)
                .stdout.trim()
                .split("\n"),
        ).toEqual(Object.values(units).map(() => "active"));
        expect(await stack.up()).toEqual({ same: RESOURCES });
    }, 900_000);

    it("destroy removes units, containers, images and archives, and turns linger off again, as found", async () => {
        expect(await stack.destroy()).toEqual({ delete: RESOURCES });
        expect(
            onInstance("ls -A ~/.config/systemd/user ~/.config/containers/systemd")
                .stdout.split("\n")
                .filter((l) => l.endsWith(".service") || l.endsWith(".pod") || l.endsWith(".container")),
        ).toEqual([]);
        expect(onInstance("podman ps -a --format '{{.Names}}'").stdout.trim()).toBe("");
        expect(onInstance("podman pod ls --format '{{.Name}}'").stdout.trim()).toBe("");
        expect(onInstance("podman images --format '{{.Repository}}' --filter reference=localhost/sparc-*").stdout.trim()).toBe("");
        expect(
            onInstance("podman images -q")
                .stdout.trim()
                .split("\n")
                .filter((l) => l !== ""),
        ).toHaveLength(1); // podman-pause only
        expect(onInstance("ls -A /podman/svc/sparc-archives 2>/dev/null").stdout.trim()).toBe("");
        expect(fs.readdirSync(path.join(work, "archives"))).toEqual([]);
        expect(spawnSync("podman", ["exec", TESTBED, "test", "-e", "/var/lib/systemd/linger/svc"]).status).not.toBe(0);
        expect(onInstance("ls -A ~/.local/share/sparc-deploy 2>/dev/null").stdout.trim()).toBe("");
        expect(curlStatus(`http://127.0.0.1:${PROXY_PORT}/`)).toBe(7);
    }, 600_000);
});
