// The pubapps stack's pure parts: unit rendering in both forms, the remote scripts, image plans,
// the connection the steps share and the config loader's messages.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { ContainerSpec } from "../../../../components/pod";
import {
    bareImageId,
    generatedContainer,
    generatedPod,
    imagePlan,
    installUnitScript,
    loadPubappsConfig,
    parseHostFacts,
    podUnits,
    prepareHostScript,
    quadletContainer,
    quadletPod,
    podReadinessScript,
    removeUnitScript,
    systemdWord,
    pubappsConnection,
    type PodUnitSpec,
    type PubappsConfig,
} from "../../../../components/pubapps";

const pod: PodUnitSpec = {
    podName: "sparc-avatar",
    publish: ["8443:8080", "127.0.0.1:8000:8000", "3478:3478/udp", "3478:3478/tcp", "49152-49200:49152-49200/udp"],
    stopTimeoutSeconds: 5,
};
const mas: ContainerSpec = {
    service: "mas",
    name: "mas-server",
    podName: "sparc-avatar",
    image: "localhost/sparc-mas:0123456789abcdef",
    restart: "on-failure",
    env: {},
    runOptions: [],
    args: [],
};
const unity: ContainerSpec = {
    service: "unity",
    name: "unity-server",
    podName: "sparc-avatar",
    image: "localhost/sparc-unity:fedcba9876543210",
    restart: "on-failure",
    env: { SIGNALING_URL: "ws://localhost:8080" },
    secrets: [{ name: "sparc-avatar-ice-servers" }],
    runOptions: ["--device", "nvidia.com/gpu=all"],
    args: ["-logFile", "/dev/stdout", "-signalingUrl", "ws://localhost:8080", "-importJson", "/run/secrets/sparc-avatar-ice-servers"],
};
const turn: ContainerSpec = {
    service: "turn",
    name: "turn-server",
    podName: "sparc-avatar",
    image: "localhost/sparc-turn:00112233aabbccdd",
    restart: "on-failure",
    env: { TURN_HOST: "avatar.example.org", TURN_SECRET_FILE: "/run/secrets/sparc-avatar-turn-secret" },
    secrets: [{ name: "sparc-avatar-turn-secret" }],
    runOptions: [],
    args: [],
};
const signaling: ContainerSpec = {
    service: "signaling",
    name: "signaling-server",
    podName: "sparc-avatar",
    image: "localhost/sparc-signaling:0011223344556677",
    restart: "on-failure",
    env: { ICE_SERVER_URLS: "turn:avatar.example.org:3478?transport=udp,turn:avatar.example.org:3478?transport=tcp" },
    secrets: [{ name: "sparc-avatar-turn-secret", env: "TURN_SECRET" }],
    runOptions: [],
    args: [],
};

const lines = (text: string) => text.split("\n");

describe("systemdWord", () => {
    it.each([
        ["plain", "plain"],
        ["a=b", "a=b"],
        ["100%", "100%%"],
        ["$HOME", "$$HOME"],
        ["two words", '"two words"'],
        ['say "hi"', '"say \\"hi\\""'],
        ["back\\slash", '"back\\\\slash"'],
        ["", '""'],
    ])("%j -> %s", (word, expected) => {
        expect(systemdWord(word)).toBe(expected);
    });
    it("refuses a line break (it would end the unit line)", () => {
        expect(() => systemdWord("a\nExecStart=/bin/evil")).toThrow(/line break/);
    });
});

describe("Quadlet rendering (Podman >= 5)", () => {
    it("the .pod publishes every port and is wanted by default.target", () => {
        const f = quadletPod(pod);
        expect([f.file, f.unit, f.dir]).toEqual(["sparc-avatar.pod", "sparc-avatar-pod.service", "quadlet"]);
        expect(lines(f.text)).toEqual(
            expect.arrayContaining([
                "[Pod]",
                "PodName=sparc-avatar",
                "PublishPort=8443:8080",
                "PublishPort=127.0.0.1:8000:8000",
                "PublishPort=3478:3478/udp",
                "PublishPort=3478:3478/tcp",
                "PublishPort=49152-49200:49152-49200/udp",
                "[Install]",
                "WantedBy=default.target",
            ]),
        );
    });
    it.each([
        [
            "mas",
            mas,
            [
                "ContainerName=mas-server",
                "Image=localhost/sparc-mas:0123456789abcdef",
                "Pod=sparc-avatar.pod",
                "StopTimeout=5",
                "Restart=on-failure",
                "WantedBy=default.target",
            ],
            ["Exec=", "PodmanArgs=", "Environment="],
        ],
        [
            "unity",
            unity,
            [
                "Environment=SIGNALING_URL=ws://localhost:8080",
                "Secret=sparc-avatar-ice-servers",
                "PodmanArgs=--device nvidia.com/gpu=all",
                "Exec=-logFile /dev/stdout -signalingUrl ws://localhost:8080 -importJson /run/secrets/sparc-avatar-ice-servers",
            ],
            [],
        ],
        [
            "turn",
            turn,
            [
                "ContainerName=turn-server",
                "Environment=TURN_HOST=avatar.example.org",
                "Environment=TURN_SECRET_FILE=/run/secrets/sparc-avatar-turn-secret",
                "Secret=sparc-avatar-turn-secret",
            ],
            ["Exec=", "PodmanArgs="],
        ],
        [
            "signaling",
            signaling,
            [
                'Environment="ICE_SERVER_URLS=turn:avatar.example.org:3478?transport=udp,turn:avatar.example.org:3478?transport=tcp"',
                "Secret=sparc-avatar-turn-secret,type=env,target=TURN_SECRET",
            ],
            ["Exec=", "PodmanArgs="],
        ],
    ])("the %s .container", (_name, spec, present, absent) => {
        const f = quadletContainer(spec, pod);
        expect(f.file).toBe(`${spec.name}.container`);
        expect(f.unit).toBe(`${spec.name}.service`);
        expect(lines(f.text)).toEqual(expect.arrayContaining(present));
        for (const prefix of absent) {
            expect(lines(f.text).some((l) => l.startsWith(prefix))).toBe(false);
        }
    });
});

describe("units as `podman generate systemd --new` writes them (Podman < 5)", () => {
    it("the pod unit creates the pod with its ports and wants the containers", () => {
        const f = generatedPod(pod, ["mas-server.service", "signaling-server.service"]);
        expect([f.file, f.unit, f.dir]).toEqual(["sparc-avatar-pod.service", "sparc-avatar-pod.service", "user"]);
        expect(lines(f.text)).toEqual(
            expect.arrayContaining([
                "Wants=mas-server.service signaling-server.service",
                "Before=mas-server.service signaling-server.service",
                "ExecStartPre=/bin/rm -f %t/sparc-avatar-pod.pid %t/sparc-avatar-pod.pod-id",
                "ExecStartPre=/usr/bin/podman pod create --infra-conmon-pidfile %t/sparc-avatar-pod.pid --pod-id-file %t/sparc-avatar-pod.pod-id --name sparc-avatar -p 8443:8080 " +
                    "-p 127.0.0.1:8000:8000 -p 3478:3478/udp -p 3478:3478/tcp -p 49152-49200:49152-49200/udp --replace",
                "ExecStart=/usr/bin/podman pod start --pod-id-file %t/sparc-avatar-pod.pod-id",
                "ExecStop=/usr/bin/podman pod stop --ignore --pod-id-file %t/sparc-avatar-pod.pod-id -t 5",
                "ExecStopPost=/usr/bin/podman pod rm --ignore -f --pod-id-file %t/sparc-avatar-pod.pod-id",
                "PIDFile=%t/sparc-avatar-pod.pid",
                "Type=forking",
                "Restart=on-failure",
                "WantedBy=default.target",
            ]),
        );
        expect(f.text).not.toContain("--exit-policy");
    });
    it.each([
        [
            "mas",
            mas,
            "ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --pod-id-file %t/sparc-avatar-pod.pod-id " +
                "--sdnotify=conmon -d --replace --name mas-server localhost/sparc-mas:0123456789abcdef",
        ],
        [
            "unity",
            unity,
            "ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --pod-id-file %t/sparc-avatar-pod.pod-id " +
                "--sdnotify=conmon -d --replace --name unity-server -e SIGNALING_URL=ws://localhost:8080 --secret sparc-avatar-ice-servers " +
                "--device nvidia.com/gpu=all localhost/sparc-unity:fedcba9876543210 -logFile /dev/stdout -signalingUrl ws://localhost:8080 " +
                "-importJson /run/secrets/sparc-avatar-ice-servers",
        ],
        [
            "turn",
            turn,
            "ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --pod-id-file %t/sparc-avatar-pod.pod-id " +
                "--sdnotify=conmon -d --replace --name turn-server -e TURN_HOST=avatar.example.org -e TURN_SECRET_FILE=/run/secrets/sparc-avatar-turn-secret " +
                "--secret sparc-avatar-turn-secret localhost/sparc-turn:00112233aabbccdd",
        ],
        [
            "signaling",
            signaling,
            "ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --pod-id-file %t/sparc-avatar-pod.pod-id " +
                '--sdnotify=conmon -d --replace --name signaling-server -e "ICE_SERVER_URLS=turn:avatar.example.org:3478?transport=udp,turn:avatar.example.org:3478?transport=tcp" ' +
                "--secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET localhost/sparc-signaling:0011223344556677",
        ],
    ])("the %s unit runs the container in the pod", (_name, spec, execStart) => {
        const f = generatedContainer(spec, pod);
        expect(lines(f.text)).toEqual(
            expect.arrayContaining([
                "BindsTo=sparc-avatar-pod.service",
                "After=sparc-avatar-pod.service",
                execStart,
                "ExecStop=/usr/bin/podman stop --ignore -t 5 --cidfile=%t/%n.ctr-id",
                "ExecStopPost=/usr/bin/podman rm -f --ignore -t 5 --cidfile=%t/%n.ctr-id",
                "Type=notify",
                "NotifyAccess=all",
                "Restart=on-failure",
                "WantedBy=default.target",
            ]),
        );
    });
    it("escapes user values in command lines (% and $ would be expanded by systemd)", () => {
        const f = generatedContainer({ ...mas, env: { PUBLIC_HOST: "a b", RATE: "100%" } }, pod);
        expect(f.text).toContain('-e "PUBLIC_HOST=a b" -e RATE=100%% localhost/');
    });
});

describe("podUnits", () => {
    it("the secrets appear in the units by name only", () => {
        const units = podUnits(pod, [mas, turn, signaling, unity]);
        for (const c of units.containers) {
            for (const format of ["quadlet", "systemd"] as const) {
                expect(c.files[format].text).not.toMatch(/TURN_SECRET=|credential|username/);
            }
        }
    });

    it("gives the same unit names in both forms; an image change touches one container unit only", () => {
        const a = podUnits(pod, [mas, unity]);
        const b = podUnits(pod, [{ ...mas, image: "localhost/sparc-mas:1111111111111111" }, unity]);
        for (const format of ["quadlet", "systemd"] as const) {
            expect(a.pod[format].unit).toBe("sparc-avatar-pod.service");
            expect(a.containers.map((c) => c.files[format].unit)).toEqual(["mas-server.service", "unity-server.service"]);
            expect(b.pod[format].text).toBe(a.pod[format].text);
            expect(b.containers[1].files[format].text).toBe(a.containers[1].files[format].text);
            expect(b.containers[0].files[format].text).not.toBe(a.containers[0].files[format].text);
        }
    });
});

describe("remote steps", () => {
    it.each([
        ["podman=4.3.1\nformat=systemd\nlinger=already\n", { podmanVersion: "4.3.1", format: "systemd", linger: "already" }],
        ["noise\npodman=5.4.2\nformat=quadlet\nlinger=enabled", { podmanVersion: "5.4.2", format: "quadlet", linger: "enabled" }],
    ])("parseHostFacts(%j)", (stdout, facts) => {
        expect(parseHostFacts(stdout)).toEqual(facts);
    });
    it("parseHostFacts refuses an answer it does not understand", () => {
        expect(() => parseHostFacts("format=docker\n")).toThrow(/unexpected answer/);
    });
    it.each([
        ["auto", "5.4.2", "format=quadlet"],
        ["auto", "4.3.1", "format=systemd"],
        ["systemd", "5.0.0", "format=systemd"],
        ["quadlet", "4.9.0", "needs Podman 5"],
    ])("unit format %s with Podman %s -> %s (the script run by bash with a fake podman and linger on)", (choice, version, expected) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pubapps-prep-"));
        fs.writeFileSync(path.join(dir, "podman"), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "id"), "#!/bin/sh\necho nosuchuser-sparc\n", { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "loginctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const argv = prepareHostScript({ unitFormat: choice as "auto", archiveDir: path.join(dir, "archives") });
        const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir } });
        expect(`${r.stdout}${r.stderr}`).toContain(expected);
        if (!expected.startsWith("needs")) {
            // linger was off (no /var/lib/systemd/linger/<user>): turned on, and the marker says so
            expect(r.stdout).toContain("linger=enabled");
            expect(fs.existsSync(path.join(dir, ".local/share/sparc-deploy/linger-enabled-by-sparc-deploy"))).toBe(true);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });
    it("image plans are named by image id", () => {
        const id = `sha256:${"ab".repeat(32)}`;
        expect(imagePlan("mas", id, "/l", "/podman/svc/a")).toEqual({
            service: "mas",
            imageId: "ab".repeat(32),
            localTar: "/l/mas-abababababababab.tar",
            remoteTar: "/podman/svc/a/mas-abababababababab.tar",
            unitImage: "localhost/sparc-mas:abababababababab",
        });
        expect(() => bareImageId("registry/x@sha256:12")).toThrow(/not an image id/);
    });
    it("installing a unit reloads systemd and restarts that unit only; generated units are enabled, Quadlet ones are not", () => {
        const q = installUnitScript(quadletContainer(mas, pod))[2];
        const s = installUnitScript(generatedContainer(mas, pod))[2];
        expect(q).toContain("systemctl --user daemon-reload");
        expect(q).toContain("systemctl --user restart mas-server.service");
        expect(q).not.toContain("enable");
        expect(s).toContain("systemctl --user enable mas-server.service");
        expect(removeUnitScript(generatedContainer(mas, pod), { kind: "container", name: "mas-server" })[2]).toContain("podman rm -f --ignore mas-server");
    });
    it.each([
        { was: "the same text, active", file: "same", active: true, restarted: false },
        { was: "the same text, inactive", file: "same", active: false, restarted: true },
        { was: "another text, active", file: "other", active: true, restarted: true },
        { was: "no file", file: "none", active: false, restarted: true },
    ])("installing over $was: restarted $restarted (an unchanged running unit is adopted, not restarted)", ({ file, active, restarted }) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pubapps-install-"));
        try {
            const unit = generatedContainer(mas, pod);
            const unitDir = path.join(dir, ".config/systemd/user");
            fs.mkdirSync(unitDir, { recursive: true });
            if (file !== "none") {
                fs.writeFileSync(path.join(unitDir, unit.file), file === "same" ? unit.text : `${unit.text}\n# changed`);
            }
            fs.writeFileSync(
                path.join(dir, "systemctl"),
                `#!/bin/sh\necho "$@" >> ${dir}/calls\ncase "$2" in is-active) exit ${active ? 0 : 3} ;; esac\nexit 0\n`,
                { mode: 0o755 },
            );
            const argv = installUnitScript(unit);
            const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir } });
            expect(r.status).toBe(0);
            const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
            expect(calls.includes("restart mas-server.service")).toBe(restarted);
            expect(fs.readFileSync(path.join(unitDir, unit.file), "utf8")).toBe(unit.text);
            expect(r.stdout).toMatch(restarted ? /started from/ : /already runs .*\(unchanged\)/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("readiness is bounded and reports the units on failure", () => {
        const script = podReadinessScript({ proxyPort: 8443, masPort: 8000, timeoutSeconds: 30, units: ["a.service"] })[2];
        expect(script).toContain("deadline=$(( $(date +%s) + 30 ))");
        expect(script).toContain("http://127.0.0.1:8443/");
        expect(script).toContain("status a.service");
    });
    it.each([
        { units: "active", expected: 0, says: /ready after \d+ s: .*2 units active/ },
        // A unit that exits at start is "activating" between restarts: never ready, and named on failure.
        { units: "restarting", expected: 1, says: /not ready within 3 s .*every unit active/ },
        // Active on one look only: two polls in a row are needed.
        { units: "flapping", expected: 1, says: /not ready within 3 s/ },
    ])("readiness run against stub curl and systemctl: units $units -> exit $expected", ({ units, expected, says }) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-ready-"));
        try {
            fs.writeFileSync(path.join(dir, "curl"), '#!/bin/sh\ncase "$*" in *http_code*) printf 200 ;; esac\nexit 0\n', { mode: 0o755 });
            // systemctl --user is-active: always, never, or every other call (a counter file).
            const isActive = {
                active: "exit 0",
                restarting: "exit 3",
                flapping: `n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/n; [ $((n % 2)) -eq 0 ]`,
            }[units];
            fs.writeFileSync(path.join(dir, "systemctl"), `#!/bin/sh\ncase "$2" in is-active) ${isActive} ;; *) echo "$@" ;; esac\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexec /bin/sleep 0.2\n", { mode: 0o755 });
            const argv = podReadinessScript({ proxyPort: 8443, masPort: 8000, timeoutSeconds: 3, units: ["a.service", "b.service"] });
            const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` }, timeout: 30_000 });
            expect(r.status).toBe(expected);
            expect(`${r.stdout}${r.stderr}`).toMatch(says);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("pubappsConnection: every remote step's connection", () => {
    const cfg = {
        host: "app1.pubapps.rc.ufl.edu",
        port: 22,
        user: "svc",
        hostKey: "ssh-ed25519 AAAAinstance",
        jumpHost: "hpg.rc.ufl.edu",
        jumpPort: 2222,
        jumpUser: "albert",
        jumpHostKey: "ssh-ed25519 AAAAhpg",
        insecureIgnoreHostKey: false,
        identityFile: "/k/id",
        controlPath: "/tmp/cm-%C",
    } as PubappsConfig;
    it("is the instance through HiPerGator (jump), each hop with its own host key, port and messages naming its own keys", () => {
        const conn = pubappsConnection(cfg, ["push"]);
        expect(conn).toMatchObject({
            host: "app1.pubapps.rc.ufl.edu",
            port: 22,
            user: "svc",
            hostKey: "ssh-ed25519 AAAAinstance",
            transport: "openssh",
            identityFile: "/k/id",
            controlPath: "/tmp/cm-%C",
            keyboardInteractiveAnswers: ["push"],
            messages: { keyNames: { port: "pubappsPort", hostKey: "pubappsHostKey" } },
            jump: {
                host: "hpg.rc.ufl.edu",
                port: 2222,
                user: "albert",
                hostKey: "ssh-ed25519 AAAAhpg",
                keyboardInteractiveAnswers: ["push"],
                messages: { keyNames: { port: "pubappsJumpPort", hostKey: "pubappsJumpHostKey" } },
            },
        });
        expect(conn.messages?.passwordPortFix).toContain("give the key UF RC installed for svc");
        expect(conn.jump?.messages?.passwordPortFix).toContain("pulumi config set pubappsJumpPort 2222");
    });
    it('with pubappsJumpHost "" the instance is reached directly; without answers none are given', () => {
        const conn = pubappsConnection({ ...cfg, jumpHost: "" }, undefined);
        expect(conn.jump).toBeUndefined();
        expect(conn.keyboardInteractiveAnswers).toBeUndefined();
    });
});

describe("loadPubappsConfig", () => {
    const load = async (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => {
        pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`sparc-deploy:${k}`, v])));
        return loadPubappsConfig(new pulumi.Config("sparc-deploy"), env);
    };
    it("takes the second-factor answer from the environment over pubappsMfaAnswers, as the hpg stack and the provider do", async () => {
        const complete = {
            pubappsInstance: "app1",
            pubappsUser: "svc",
            pubappsInsecureIgnoreHostKey: "true",
            pubappsJumpUser: "albert",
            pubappsProxyPort: "8443",
            pubappsPublicHost: "x",
            pubappsMfaAnswers: '["push"]',
        };
        const answers = async (env: NodeJS.ProcessEnv) => {
            const cfg = await load(complete, env);
            return new Promise((resolve) => (cfg.mfaAnswers as pulumi.Output<string[]>).apply(resolve));
        };
        expect(await answers({ SLURM_PROVIDER_MFA_ANSWERS: "123456" })).toEqual(["123456"]);
        expect(await answers({})).toEqual(["push"]);
    });
    it("names every missing key and its fix at once", async () => {
        const err = await load({}).catch((e: Error) => e);
        const message = (err as Error).message;
        for (const key of [
            "pubappsInstance",
            "pubappsUser",
            "pubappsHostKey",
            "pubappsJumpUser",
            "pubappsJumpHostKey",
            "pubappsProxyPort",
            "pubappsPublicHost",
        ]) {
            expect(message).toMatch(new RegExp(`${key}[^\\n]*Fix: `));
        }
    });
    it("refuses bad values with the value and the fix", async () => {
        const message = (
            (await load({
                pubappsInstance: "i",
                pubappsUser: "svc",
                pubappsInsecureIgnoreHostKey: "true",
                pubappsJumpUser: "u",
                pubappsPublicHost: "x",
                pubappsProxyPort: "8000",
                pubappsUnitFormat: "docker",
                pubappsArchiveDir: "relative/dir",
            }).catch((e: Error) => e)) as Error
        ).message;
        expect(message).toContain("sparc-deploy:pubappsMasPort = 8000: is the same port as pubappsProxyPort. Fix: give MAS another instance port");
        expect(message).toMatch(/pubappsUnitFormat[\s\S]*Fix: pulumi config set pubappsUnitFormat auto\|quadlet\|systemd/);
        expect(message).toContain('sparc-deploy:pubappsArchiveDir = "relative/dir": must be an absolute path');
    });
    it("refuses a host key the transport cannot pin, at preview", async () => {
        const message = (
            (await load({
                pubappsInstance: "app1",
                pubappsUser: "svc",
                pubappsHostKey: "ssh-ed25519 AAAA",
                pubappsJumpUser: "albert",
                pubappsJumpHostKey: "ssh-ed25519 not-a-key",
                pubappsProxyPort: "8443",
                pubappsPublicHost: "x",
            }).catch((e: Error) => e)) as Error
        ).message;
        expect(message).toContain('sparc-deploy:pubappsHostKey = "ssh-ed25519 AAAA": is not an OpenSSH public key. Fix: ');
        expect(message).toContain('sparc-deploy:pubappsJumpHostKey = "ssh-ed25519 not-a-key": is not an OpenSSH public key. Fix: ');
    });
    it("a complete config loads, with the archive directory under /podman", async () => {
        const cfg = await load({
            pubappsInstance: "app1",
            pubappsUser: "svc",
            pubappsHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBSU1nRK37ZVJCPPzhkT0eNZA7BunTv07xlYOutJ+UyC",
            pubappsJumpUser: "albert",
            pubappsJumpHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVvzh1WQuG2OEKEIHiNtkOkLlFLR7nd9l35cqKobU8O",
            pubappsProxyPort: "8443",
            pubappsPublicHost: "sparc.rc.ufl.edu",
        });
        expect(cfg).toMatchObject({
            host: "app1",
            port: 22,
            jumpHost: "hpg.rc.ufl.edu",
            archiveDir: "/podman/svc/sparc-archives",
            unitFormat: "auto",
            proxyPort: 8443,
            masPort: 8000,
        });
        expect(cfg.mfaAnswers).toBeUndefined();
    });
    // pubappsJumpPort works like hpgPort: 0 (the default) = the Port of ~/.ssh/config for the jump host, else UF's key port 2222.
    it.each<[string, string, string | undefined, number]>([
        ["default, no ~/.ssh/config entry: UF's key port", "hpg.rc.ufl.edu", undefined, 2222],
        ["default, ~/.ssh/config gives the alias a Port", "hpg", undefined, 2200],
        ["0 is the default", "hpg", "0", 2200],
        ["federated user: keys on 22", "hpg.rc.ufl.edu", "22", 22],
        ["set explicitly, over ~/.ssh/config", "hpg", "2222", 2222],
    ])("pubappsJumpPort: %s", async (_what, jumpHost, jumpPort, expected) => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-home-"));
        fs.mkdirSync(path.join(home, ".ssh"));
        fs.writeFileSync(path.join(home, ".ssh", "config"), "Host hpg\n  HostName hpg.rc.ufl.edu\n  Port 2200\n");
        const saved = process.env.HOME;
        process.env.HOME = home;
        try {
            const cfg = await load({
                pubappsInstance: "app1",
                pubappsUser: "svc",
                pubappsInsecureIgnoreHostKey: "true",
                pubappsJumpHost: jumpHost,
                pubappsJumpUser: "albert",
                pubappsProxyPort: "8443",
                pubappsPublicHost: "sparc.rc.ufl.edu",
                ...(jumpPort !== undefined ? { pubappsJumpPort: jumpPort } : {}),
            });
            expect(cfg.jumpPort).toBe(expected);
        } finally {
            process.env.HOME = saved;
            fs.rmSync(home, { recursive: true });
        }
    });
});
