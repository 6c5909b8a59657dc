// `npm run status` / `npm run logs`: argument parsing, the remote commands' argv, and how their
// output is read and shown (scripts/status). The remote side runs against the real cluster and the
// PubApps stand-in in test/cluster/status-tools.test.ts.
import { describe, expect, it } from "vitest";
import { DEFAULT_LINES, parseArgs, projectRoot, usage } from "../../../../scripts/status/args";
import { formatHpgStatus, hpgLogsArgv, hpgStatusArgv, parseHpgStatus, renewalLine, timeLeftSeconds } from "../../../../scripts/status/hpg";
import { formatPubappsStatus, parseUnits, pubappsLogsArgv, pubappsStatusArgv, unitsFor } from "../../../../scripts/status/pubapps";
import { StatusError, checkOutputs, stackKind } from "../../../../scripts/status/stack";
import type { PublicProbe } from "../../../../components/pubapps/publicCheck";

describe("parseArgs", () => {
    it.each<[string, string[], Record<string, unknown>]>([
        ["status", ["--stack", "hpg"], { stack: "hpg", service: "", lines: DEFAULT_LINES.status, cwd: projectRoot, help: false }],
        ["status", ["--stack=pubapps", "--lines", "5"], { stack: "pubapps", lines: 5 }],
        ["logs", ["--stack", "pubapps", "signaling", "-n", "7"], { stack: "pubapps", service: "signaling", lines: 7 }],
        ["logs", ["-s", "hpg"], { stack: "hpg", service: "", lines: DEFAULT_LINES.logs }],
        ["logs", ["--help"], { help: true }],
        ["status", ["-h", "--bogus-after-help-is-still-refused-first"], {}],
    ])("%s %j", (tool, argv, expected) => {
        if (argv.includes("--bogus-after-help-is-still-refused-first")) {
            expect(() => parseArgs(tool as "status", argv)).toThrow(/unknown option --bogus/);
            return;
        }
        expect(parseArgs(tool as "status" | "logs", argv)).toMatchObject(expected);
    });

    it.each<[string, string[], RegExp]>([
        ["status", [], /--stack <name> is required/],
        ["status", ["--stack"], /--stack needs a value/],
        ["status", ["--stack", "hpg", "mas"], /status takes no service/],
        ["logs", ["--stack", "p", "mas", "turn"], /one service at most/],
        ["logs", ["--stack", "p", "--lines", "0"], /--lines "0": give a whole number from 1/],
        ["logs", ["--stack", "p", "--lines", "ten"], /--lines "ten"/],
        ["logs", ["--stack", "p", "--follow"], /unknown option --follow/],
    ])("%s %j is refused", (tool, argv, message) => {
        expect(() => parseArgs(tool as "status" | "logs", argv)).toThrow(message);
    });

    it("documents every option in --help", () => {
        for (const tool of ["status", "logs"] as const) {
            expect(usage(tool)).toMatch(new RegExp(`^Usage: npm run ${tool} -- --stack`));
            for (const option of ["--stack", "--lines", "--cwd", "--help"]) {
                expect(usage(tool)).toContain(option);
            }
        }
    });
});

describe("which stacks status reads", () => {
    it("takes hpg and pubapps stacks by their target, refuses the rest with what to do", () => {
        expect(stackKind("prod", "sparc-deploy", { "sparc-deploy:target": { value: "hpg", secret: false } })).toBe("hpg");
        expect(stackKind("p", "sparc-deploy", { "sparc-deploy:target": { value: "pubapps", secret: false } })).toBe("pubapps");
        expect(() => stackKind("dev", "sparc-deploy", {})).toThrow(/stack "dev" is not an hpg or pubapps stack \(sparc-deploy:target = "podman"\)/);
    });

    it("says when a stack has no outputs yet, or an unfinished up", () => {
        expect(() => checkOutputs("hpg", "hpg", {})).toThrow(StatusError);
        expect(() => checkOutputs("hpg", "hpg", {})).toThrow(/stack "hpg" has no outputs yet: run `pulumi up --stack hpg` first/);
        expect(() => checkOutputs("hpg", "hpg", { jobId: "12" })).toThrow(/lacks the output\(s\) logPath/);
        expect(() => checkOutputs("hpg", "hpg", { jobId: "12", logPath: "/x.log" })).not.toThrow();
    });
});

const M = "@@sparc-status@@";
const inputs = { jobId: "4242", logPath: "/blue/g/u/sparc/sparc_service_4242.log", endpoint: "c0900a-s23:8000", lines: 3 };

describe("hpg status", () => {
    it("is one bash command whose values are arguments, never spliced into the script", () => {
        const argv = hpgStatusArgv({ ...inputs, logPath: "/blue/g/u/it's $(here).log" });
        expect(argv.slice(0, 2)).toEqual(["bash", "-c"]);
        expect(argv.slice(3)).toEqual(["sparc-status", "4242", "/blue/g/u/it's $(here).log", "c0900a-s23:8000", "3"]);
        expect(argv[2]).not.toContain("4242");
        expect(argv[2]).toContain("SLURM_TIME_FORMAT=standard squeue");
        expect(hpgLogsArgv("/x y.log", 50)).toEqual(["tail", "-n", "50", "--", "/x y.log"]);
    });

    const running = [
        `${M}squeue`,
        "RUNNING|13-23:10:05|2026-12-18T08:00:00|None|c0900a-s23",
        `${M}sacct`,
        "RUNNING|Unknown|0:0",
        `${M}health`,
        '{"status":"ok","job_id":"4242"}',
        "200",
        `${M}log`,
        "INFO: Started server process",
        "INFO: Uvicorn running on http://0.0.0.0:8000",
        "",
    ].join("\n");

    it("reads a running job, its /health and its log", () => {
        const st = parseHpgStatus(running, inputs, 0);
        expect(st).toMatchObject({ state: "RUNNING", node: "c0900a-s23", timeLeft: "13-23:10:05", healthCode: "200", end: "2026-12-18T08:00:00" });
        expect(st.timeLeftSeconds).toBe(13 * 86400 + 23 * 3600 + 10 * 60 + 5);
        expect(formatHpgStatus(st, "hpg")).toBe(
            [
                'hpg stack "hpg"',
                "job 4242: RUNNING on c0900a-s23, time left 13-23:10:05, ends 2026-12-18T08:00:00",
                "renewal: off (hpgRenewBeforeHours = 0)",
                'health: GET http://c0900a-s23:8000/health from the login node -> HTTP 200 {"status":"ok","job_id":"4242"}',
                "log /blue/g/u/sparc/sparc_service_4242.log (last lines):",
                "  INFO: Started server process",
                "  INFO: Uvicorn running on http://0.0.0.0:8000",
            ].join("\n"),
        );
    });

    it("says where the chain's renewal stands (the job renews itself: nothing to run)", () => {
        const st = parseHpgStatus(running, inputs, 48);
        expect(renewalLine(st, "hpg")).toBe("renewal: by the job itself on the cluster in 11 d 23 h (48 h before its end); nothing to run");
        expect(renewalLine({ ...st, timeLeftSeconds: 47 * 3600 }, "hpg")).toBe(
            "renewal: under way on the cluster (less than 48 h left): the job submits its successor and hands over; `pulumi refresh --stack hpg` shows the current job",
        );
        expect(renewalLine({ ...st, timeLeftSeconds: undefined }, "prod")).toMatch(/not running: `pulumi refresh --stack prod` finds the chain's current job/);
    });

    it("falls back to sacct for an ended job, and shows /health that did not answer", () => {
        const ended = [
            `${M}squeue`,
            "slurm_load_jobs error: Invalid job id specified",
            `${M}sacct`,
            "CANCELLED by 1000|2026-12-04T08:00:00|0:15",
            `${M}health`,
            "curl: (7) Failed to connect to c0900a-s23 port 8000: Connection refused",
            "000",
            `${M}log`,
            "",
        ].join("\n");
        const st = parseHpgStatus(ended, inputs, 0);
        expect(st).toMatchObject({ state: "CANCELLED", end: "2026-12-04T08:00:00", healthCode: "000", timeLeftSeconds: undefined });
        const text = formatHpgStatus(st, "hpg");
        expect(text).toContain("job 4242: CANCELLED, ended 2026-12-04T08:00:00");
        expect(text).toContain("-> no answer curl: (7) Failed to connect");
        expect(text).toContain("  (empty)");
    });

    it("reads squeue's time-left forms", () => {
        expect(timeLeftSeconds("1-00:00:00")).toBe(86400);
        expect(timeLeftSeconds("2:03:04")).toBe(7384);
        expect(timeLeftSeconds("5:00")).toBe(300);
        expect(timeLeftSeconds("0:00")).toBe(0);
        expect(timeLeftSeconds("UNLIMITED")).toBeUndefined();
        expect(timeLeftSeconds("INVALID")).toBeUndefined();
    });
});

describe("pubapps status and logs", () => {
    const unitNames = { pod: "sparc-avatar-pod.service", mas: "mas-server.service", signaling: "signaling-server.service" };

    it("passes units and the storage dir as arguments", () => {
        const argv = pubappsStatusArgv(Object.values(unitNames), "/podman/svc/sparc-archives");
        expect(argv.slice(3)).toEqual(["sparc-status", "/podman/svc/sparc-archives", ...Object.values(unitNames)]);
        expect(argv[2]).toContain("systemctl --user show");
        const logs = pubappsLogsArgv(["mas-server.service"], 40);
        expect(logs.slice(3)).toEqual(["sparc-logs", "40", "mas-server.service"]);
        expect(logs[2]).toContain('journalctl --user -u "$u" -n "$lines"');
        expect(logs[2]).toContain("label=PODMAN_SYSTEMD_UNIT=$u");
    });

    it("picks a service's unit, or all; an unknown one names the known ones", () => {
        expect(unitsFor("", unitNames)).toEqual(Object.values(unitNames));
        expect(unitsFor("mas", unitNames)).toEqual(["mas-server.service"]);
        expect(unitsFor("signaling-server", unitNames)).toEqual(["signaling-server.service"]);
        expect(() => unitsFor("riva", unitNames)).toThrow('no service "riva" in this stack: one of pod, mas, signaling (or a unit name)');
    });

    it("reads systemctl show blocks", () => {
        expect(
            parseUnits(
                "Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\nId=b.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n",
            ),
        ).toEqual([
            { id: "a.service", load: "loaded", active: "active", sub: "running" },
            { id: "b.service", load: "not-found", active: "inactive", sub: "dead" },
        ]);
    });

    it("formats units, containers, disk and the public URL's answers", () => {
        const stdout = [
            `${M}units`,
            "Id=sparc-avatar-pod.service\nLoadState=loaded\nActiveState=active\nSubState=running\n",
            "Id=mas-server.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n",
            "Id=signaling-server.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead",
            `${M}podman`,
            "mas-server|Exited (1) 2 minutes ago|localhost/sparc-mas:abc",
            `${M}df`,
            "Filesystem      Size  Used Avail Use% Mounted on",
            "/dev/vdb         40G   12G   28G  30% /podman",
            "",
        ].join("\n");
        const probe: PublicProbe = { url: "https://sparc.rc.ufl.edu/", health: { code: 502 }, upgrade: { code: 502 } };
        expect(formatPubappsStatus("pubapps", unitNames, stdout, probe)).toBe(
            [
                'pubapps stack "pubapps"',
                "units:",
                "  pod        sparc-avatar-pod.service     active (running)",
                "  mas        mas-server.service           failed (failed)",
                "  signaling  signaling-server.service     not installed",
                "containers (podman ps -a):",
                "  mas-server  Exited (1) 2 minutes ago  localhost/sparc-mas:abc",
                "disk:",
                "  Filesystem      Size  Used Avail Use% Mounted on",
                "  /dev/vdb         40G   12G   28G  30% /podman",
                "public URL: NOT READY: GET https://sparc.rc.ufl.edu/health -> HTTP 502; WebSocket upgrade of https://sparc.rc.ufl.edu/ -> HTTP 502",
                "  likely: the reverse proxy answers but cannot reach the app: it is not yet pointed at the instance's pubappsProxyPort (ask UF RC), or the signaling unit is down (`npm run status -- --stack pubapps`)",
            ].join("\n"),
        );
        const ok: PublicProbe = { url: "https://sparc.rc.ufl.edu/", health: { code: 200 }, upgrade: { code: 101 } };
        expect(formatPubappsStatus("pubapps", unitNames, stdout, ok)).toMatch(/public URL: OK: .* -> HTTP 101 \(101 Switching Protocols\)$/);
    });
});

describe("the stack's config through the stack's own loader, outside a deployment", () => {
    it("resolves the connection the stack would use, secrets included", async () => {
        const { programConfig, valueOf } = await import("../../../../scripts/status/stack");
        const { loadHpgConfig } = await import("../../../../components/hpg/config");
        const { slurmConnection } = await import("../../../../components/hpg/hpgStack");
        const c = (value: string, secret = false) => ({ value, secret });
        const config = programConfig({
            name: "hpg",
            project: "sparc-deploy",
            kind: "hpg",
            outputs: {},
            config: {
                "sparc-deploy:target": c("hpg"),
                "sparc-deploy:hpgHost": c("hpg.rc.ufl.edu.test-no-ssh-config"),
                "sparc-deploy:hpgUser": c("albert"),
                "sparc-deploy:hpgGroup": c("g"),
                "sparc-deploy:hpgHostKey": c("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpgHostKeyForTests"),
                "sparc-deploy:hpgKeyPassphrase": c("not-shown", true),
                "sparc-deploy:hpgMfaAnswers": c('["push"]', true),
                "sparc-deploy:hpgRenewBeforeHours": c("48"),
            },
        });
        const cfg = loadHpgConfig(config, {});
        expect(cfg.renewBeforeHours).toBe(48);
        expect(await valueOf(slurmConnection(cfg))).toMatchObject({
            host: "hpg.rc.ufl.edu.test-no-ssh-config",
            port: 2222,
            user: "albert",
            transport: "openssh",
            passphrase: "not-shown",
            keyboardInteractiveAnswers: ["push"],
        });
    });
});
