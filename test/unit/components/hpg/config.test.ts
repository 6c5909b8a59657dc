import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { hpgConfigDefaults, hpgDefaultSshPort, loadHpgConfig } from "../../../../components/hpg/config";
import { resolveSshHost } from "../../../../components/sshConfig";
import { fakePrivateKey } from "../../../support/fake-key";
import { CONNECTION_KEYS } from "../../../../components/hpg/jobSpecs";
import { HPG_CONNECTION_MESSAGES } from "../../../../components/hpg/site";
import type { ConnectionField } from "../../../../providers";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpgHostKeyForTests";

/** Load with exactly these stack values (keys without the project prefix). */
function load(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`sparc-deploy:${k}`, v])));
    return loadHpgConfig(new pulumi.Config("sparc-deploy"), env);
}

const required = { hpgUser: "albert", hpgGroup: "jasondeanarnold", hpgHostKey: HOST_KEY, hpgHost: "hpg.rc.ufl.edu.test-no-ssh-config" };

describe("loadHpgConfig", () => {
    it("takes the reference production job as defaults, with storage under /blue/<group>/<user>", () => {
        const cfg = load(required);
        const d = hpgConfigDefaults;
        // Storage and account follow user and group; port 0 (no ~/.ssh/config entry) is UF's key-based port.
        expect(cfg).toMatchObject({
            host: "hpg.rc.ufl.edu.test-no-ssh-config",
            port: hpgDefaultSshPort,
            mfaPromptPattern: "",
            user: "albert",
            group: "jasondeanarnold",
            containerDir: "/blue/jasondeanarnold/albert/sparc/containers",
            workDir: "/blue/jasondeanarnold/albert/sparc",
            account: "jasondeanarnold",
            proxyJump: "",
        });
        // Every other value is Pulumi.yaml's default (hpgConfigDefaults, checked by config-defaults.test.ts).
        expect(cfg).toMatchObject({
            transport: d.hpgSshTransport,
            sifBuildOn: d.hpgSifBuildOn,
            services: d.hpgServices,
            modules: d.hpgModules,
            sifBuildPartition: d.hpgSifBuildPartition,
            sifBuildCpus: d.hpgSifBuildCpus,
            sifBuildMem: d.hpgSifBuildMem,
            sifBuildTime: d.hpgSifBuildTime,
            gpus: d.hpgGpus,
            renewBeforeHours: Number(d.hpgRenewBeforeHours),
            jobName: d.hpgJobName,
            partition: d.hpgPartition,
            nodes: d.hpgNodes,
            ntasks: d.hpgNtasks,
            gpusPerTask: d.hpgGpusPerTask,
            cpusPerTask: d.hpgCpusPerTask,
            mem: d.hpgMem,
            time: d.hpgTime,
            output: d.hpgOutput,
            masPort: d.hpgMasPort,
            clusterChecks: d.hpgClusterChecks,
            controlPath: d.hpgControlPath,
            masAppDir: d.hpgMasAppDir,
            localCli: d.hpgLocalCli,
            mailUser: d.hpgMailUser,
        });
        // The reference production job (docs/hpg.md, "What `pulumi up --stack hpg` does").
        expect(cfg).toMatchObject({ partition: "hpg-ai", gpusPerTask: "4", cpusPerTask: 32, mem: "256gb", time: "14-00:00:00", port: 2222 });
        expect(cfg.privateKey).toBeUndefined();
        expect(cfg.mfaAnswers).toBeUndefined();
    });

    it.each<[Record<string, string>, Partial<Record<string, unknown>>]>([
        [
            { hpgPartition: "hpg-ai", hpgGpusPerTask: "a100:4" },
            { partition: "hpg-ai", gpusPerTask: "a100:4" },
        ],
        [
            { hpgPartition: "hpg-b200", hpgGpusPerTask: "0", hpgGpus: "b200:2" },
            { partition: "hpg-b200", gpus: "b200:2", gpusPerTask: "0" },
        ],
        // A partition HiPerGator's table does not know is left to sinfo at up.
        [
            { hpgPartition: "gpu", hpgGpusPerTask: "fake:1" },
            { partition: "gpu", gpusPerTask: "fake:1" },
        ],
        [{ hpgRenewBeforeHours: "0.5" }, { renewBeforeHours: 0.5 }],
        [{ hpgSifBuildOn: "login" }, { sifBuildOn: "login" }],
        [{ hpgMailUser: "albert@ufl.edu" }, { mailUser: "albert@ufl.edu" }],
        [{ hpgMailUser: "first.last+sparc@cise.ufl.edu" }, { mailUser: "first.last+sparc@cise.ufl.edu" }],
    ])("accepts %j", (values, expected) => {
        expect(load({ ...required, ...values })).toMatchObject(expected);
    });

    it("names every value a user must set, with the command that sets it", () => {
        expect(() => load({ hpgHost: "hpg.rc.ufl.edu.test-no-ssh-config" })).toThrow(
            new RegExp(
                [
                    "hpg stack configuration has 3 problem\\(s\\):",
                    "  - sparc-deploy:hpgUser is not set\\. Fix: set your GatorLink user with `pulumi config set hpgUser <gatorlink>`.*",
                    "  - sparc-deploy:hpgGroup is not set\\. Fix: .*`pulumi config set hpgGroup <group>`",
                    "  - sparc-deploy:hpgHostKey is not set\\. Fix: run `ssh-keyscan -p 2222 hpg.rc.ufl.edu.test-no-ssh-config`.*",
                ].join("\\n"),
            ),
        );
    });

    it("throws a pulumi.RunError (the CLI prints it without a stack trace)", () => {
        let thrown: unknown;
        try {
            load({ ...required, hpgTime: "15 days" });
        } catch (err) {
            thrown = err;
        }
        expect(pulumi.RunError.isInstance(thrown)).toBe(true);
    });

    // Each refusal in the one form: `sparc-deploy:<key> = <value>: <what is wrong>. Fix: <how>`.
    it.each<[Record<string, string>, RegExp]>([
        [{ hpgTime: "15 days" }, /sparc-deploy:hpgTime = "15 days": is not a Slurm time\. Fix: use e\.g\. "14-00:00:00"/],
        [{ hpgMem: "lots" }, /sparc-deploy:hpgMem = "lots": is not a Slurm memory size\. Fix: use e\.g\. "256gb"/],
        [{ hpgContainerDir: "blue/x" }, /sparc-deploy:hpgContainerDir = "blue\/x": must be an absolute path on the cluster\. Fix: e\.g\. \/blue/],
        [{ hpgServices: '["signaling"]' }, /sparc-deploy:hpgServices = \["signaling"\]: lists the images to turn into \.sif files\. Fix: .*"mas" is required/],
        [{ hpgIdentityFile: "/nonexistent/key" }, /sparc-deploy:hpgIdentityFile = "\/nonexistent\/key": no such file\. Fix: give the path of your private key/],
        [
            { hpgSshTransport: "telnet" },
            /sparc-deploy:hpgSshTransport = "telnet": is not a legal enum value .*\. Fix: pulumi config set hpgSshTransport ssh2\|openssh/,
        ],
        // Typed GPU requests at preview, against HiPerGator's known partitions.
        [
            { hpgPartition: "hpg-b200", hpgGpusPerTask: "a100:4" },
            /sparc-deploy:hpgGpusPerTask = "a100:4": with hpgPartition = "hpg-b200", partition hpg-b200 offers GPU type b200, not a100; a100 GPUs are in hpg-ai\. Partitions and their GPU types: hpg-ai: a100; hpg-b200: b200; hpg-rtx6000: rtx_pro_6000; hpg-turin: l4\. Fix: change hpgPartition or hpgGpusPerTask/,
        ],
        [
            { hpgPartition: "hpg-ai", hpgGpusPerTask: "0", hpgGpus: "b200:8" },
            /sparc-deploy:hpgGpus = "b200:8": with hpgPartition = "hpg-ai", partition hpg-ai offers GPU type a100, not b200; b200 GPUs are in hpg-b200/,
        ],
        [
            { hpgPartition: "hpg-default", hpgGpusPerTask: "2" },
            /sparc-deploy:hpgGpusPerTask = "2": with hpgPartition = "hpg-default", partition hpg-default has no GPUs; GPU partitions: hpg-ai: a100; hpg-b200: b200/,
        ],
        [{ hpgGpusPerTask: "four" }, /sparc-deploy:hpgGpusPerTask = "four": is not a GPU request\. Fix: use a count or type:count, e\.g\. "4" or "a100:4"/],
        [{ hpgGpus: "a100:4" }, /sparc-deploy:hpgGpus = "a100:4": asks for GPUs as well as hpgGpusPerTask = "4"\. Fix: ask for GPUs one way/],
        [
            { hpgSifBuildPartition: "hpg-ai" },
            /sparc-deploy:hpgSifBuildPartition = "hpg-ai": is a GPU partition, but the \.sif build uses no GPU .*\. Fix: use a CPU partition such as hpg-default/,
        ],
        [
            { hpgRenewBeforeHours: "-1" },
            /sparc-deploy:hpgRenewBeforeHours = -1: is outside of the legal range .*Fix: pulumi config set hpgRenewBeforeHours <hours, e\.g\. 48; 0 = off>/,
        ],
        [{ hpgRenewBeforeHours: "400" }, /sparc-deploy:hpgRenewBeforeHours = 400: is not less than hpgTime \(14-00:00:00\).*\. Fix: use fewer hours/],
        [{ hpgSifBuildMem: "big" }, /sparc-deploy:hpgSifBuildMem = "big": is not a Slurm memory size\. Fix: use e\.g\. "16gb"/],
        [
            { hpgHostKey: "ssh-ed25519 not-a-key" },
            /sparc-deploy:hpgHostKey = "ssh-ed25519 not-a-key": is not an OpenSSH public key\. Fix: .*ssh-keyscan -p 2222/,
        ],
        // The written type must agree with the type inside the blob (a copy-paste of the wrong line).
        [
            { hpgHostKey: "ecdsa-sha2-nistp256 AAAAC3NzaC1lZDI1NTE5AAAAIHpgHostKeyForTests" },
            /sparc-deploy:hpgHostKey = .*: is not an OpenSSH public key\. Fix: /,
        ],
        [{ hpgMfaPromptPattern: "passcode|(" }, /sparc-deploy:hpgMfaPromptPattern = "passcode\|\(": is not a valid regular expression .*\. Fix: use e\.g\. /],
        [
            { hpgMfaPromptPattern: "password|passcode" },
            /sparc-deploy:hpgMfaPromptPattern = "password\|passcode": mentions password\/passphrase.*\. Fix: match the second factor's own prompt only/,
        ],
        // One plain address: Slurm hands it to the site's mailer as is.
        ...["albert", "albert@ufl", "a@ufl.edu,b@ufl.edu", "Albert <albert@ufl.edu>", "albert@ufl.edu; rm -rf ~"].map((v): [Record<string, string>, RegExp] => [
            { hpgMailUser: v },
            new RegExp(
                `sparc-deploy:hpgMailUser = ${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: is not an email address\\. Fix: give one address`,
            ),
        ]),
    ])("rejects %j", (values, message) => {
        expect(() => load({ ...required, ...values })).toThrow(message);
    });

    // Lists are type-checked: a value that is not a JSON list of strings is refused, not used.
    it.each<[string, string, RegExp]>([
        [
            "hpgServices",
            '"mas"',
            /sparc-deploy:hpgServices = "mas": must be a list of strings\. Fix: pulumi config set --path 'hpgServices\[1\]' signaling .*"mas" is required/,
        ],
        ["hpgServices", "[1, 2]", /sparc-deploy:hpgServices = \[1,2\]: must be a list of strings\. Fix: /],
        ["hpgServices", '{"mas": true}', /sparc-deploy:hpgServices = \{"mas":true\}: must be a list of strings\. Fix: /],
        [
            "hpgModules",
            '"apptainer"',
            /sparc-deploy:hpgModules = "apptainer": must be a list of strings\. Fix: pulumi config set --path 'hpgModules\[0\]' <value>/,
        ],
    ])("type-checks %s = %s", (key, value, message) => {
        expect(() => load({ ...required, [key]: value })).toThrow(message);
    });

    // Job fields the SlurmJob provider's check would refuse (providers/slurm/validate.ts, the one set of
    // rules) are refused at preview under the config key, with the value and the fix, not as `partition`.
    it.each<[string, string, RegExp]>([
        [
            "hpgPartition",
            "hpg ai",
            /sparc-deploy:hpgPartition = "hpg ai": must be a partition name or a comma list of them .*\. Fix: pulumi config set hpgPartition <partition, e\.g\. hpg-ai>/,
        ],
        ["hpgPartition", "hpg-ai;reboot", /sparc-deploy:hpgPartition = "hpg-ai;reboot": must be a partition name/],
        [
            "hpgJobName",
            "x".repeat(201),
            /sparc-deploy:hpgJobName = "x+\.\.\.: is 201 characters long; shorten it to at most 200\. Fix: pulumi config set hpgJobName </,
        ],
        ["hpgJobName", "two\nlines", /sparc-deploy:hpgJobName = "two\\nlines": contains a newline, .*\. Fix: pulumi config set hpgJobName </],
        ["hpgGpusPerTask", "a100:0", /sparc-deploy:hpgGpusPerTask = "a100:0": is not a GPU request\. Fix: /],
        ["hpgGpusPerTask", "a 100:4", /sparc-deploy:hpgGpusPerTask = "a 100:4": is not a GPU request\. Fix: /],
        ["hpgAccount", "my account", /sparc-deploy:hpgAccount = "my account": must be one account name .*\. Fix: pulumi config set hpgAccount </],
        ["hpgQos", "a,b", /sparc-deploy:hpgQos = "a,b": must be one qos name .*\. Fix: pulumi config set hpgQos </],
        [
            "hpgOutput",
            "log\rfile",
            /sparc-deploy:hpgOutput = "log\\rfile": contains a newline, carriage return or NUL byte.*\. Fix: pulumi config set hpgOutput </,
        ],
        [
            "hpgUser",
            "Albert Gator",
            /sparc-deploy:hpgUser = "Albert Gator": must be your user name on the cluster, e\.g\. "jdoe"\. Fix: pulumi config set hpgUser </,
        ],
        [
            "hpgHost",
            "hpg login.test-no-ssh-config",
            /sparc-deploy:hpgHost = "hpg login\.test-no-ssh-config": must be the login node's host name or address without spaces.*\. Fix: pulumi config set hpgHost </,
        ],
        [
            "hpgSifBuildPartition",
            "cpu partition",
            /sparc-deploy:hpgSifBuildPartition = "cpu partition": must be a partition name .*\. Fix: pulumi config set hpgSifBuildPartition </,
        ],
    ])("maps the provider's rule for %s = %j to the config key", (key, value, message) => {
        const run = () => load({ ...required, [key]: value });
        expect(run).toThrow(message);
        // Not under the provider's field name.
        expect(run).not.toThrow(/^  - (partition|jobName|gpusPerTask|account|qos|output|connection\.\w+) = /m);
    });

    it("reports a key once even when the loader and the provider's rules both refuse it", () => {
        expect(() => load({ ...required, hpgTime: "15 days" })).toThrow(/configuration has 1 problem\(s\)/);
    });

    it("reports every refused value at once, each with its fix", () => {
        expect(() => load({ ...required, hpgSifBuildOn: "gpu", hpgClusterChecks: "always", hpgNodes: "0" })).toThrow(
            new RegExp(
                [
                    "hpg stack configuration has 3 problem\\(s\\):",
                    '  - sparc-deploy:hpgSifBuildOn = "gpu": .*Fix: pulumi config set hpgSifBuildOn login\\|slurm',
                    '  - sparc-deploy:hpgClusterChecks = "always": .*Fix: pulumi config set hpgClusterChecks up\\|preview\\|off',
                    "  - sparc-deploy:hpgNodes = 0: .*Fix: pulumi config set hpgNodes <whole number >= 1>",
                ].join("\n"),
            ),
        );
    });

    it("takes a bare host-key blob of any type (its type is read from the blob) and UF's port 2222 unless ~/.ssh/config says otherwise", () => {
        const cfg = load({ ...required, hpgHostKey: "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=" });
        expect(cfg.hostKey).toBe("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=");
        expect(cfg.port).toBe(2222);
        expect(load({ ...required, hpgPort: "22" }).port).toBe(22);
    });

    it.each<[string, Record<string, string>, object]>([
        [
            "defaults: the cache on /blue, the temp dir the job's scratch (else /blue)",
            {},
            {
                apptainerCacheDir: "/blue/jasondeanarnold/albert/sparc/apptainer-cache",
                apptainerTmpDir: "",
                apptainerTmpFallback: "/blue/jasondeanarnold/albert/sparc/apptainer-tmp",
            },
        ],
        [
            "set",
            { hpgApptainerCacheDir: "/blue/g/u/cache", hpgApptainerTmpDir: "/blue/g/u/tmp" },
            { apptainerCacheDir: "/blue/g/u/cache", apptainerTmpDir: "/blue/g/u/tmp" },
        ],
    ])("Apptainer's dirs: %s", (_what, values, expected) => {
        expect(load({ ...required, ...values })).toMatchObject(expected);
    });

    it("refuses a relative Apptainer dir, naming the key and the fix", () => {
        expect(() => load({ ...required, hpgApptainerCacheDir: "~/.apptainer" })).toThrow(
            /sparc-deploy:hpgApptainerCacheDir = "~\/\.apptainer": must be an absolute path on the cluster\. Fix: e\.g\. \/blue\/<group>\/<user>\/sparc\/apptainer-cache \(not under \$HOME/,
        );
    });

    it("reads the key file at run time as a secret, and Duo answers from the environment", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hpg-key-"));
        const keyFile = path.join(dir, "id");
        fs.writeFileSync(keyFile, fakePrivateKey("abc"));
        const cfg = load({ ...required, hpgIdentityFile: keyFile }, { SPARC_HPG_MFA_ANSWERS: "push" });
        expect(cfg.identityFile).toBe(keyFile);
        expect(pulumi.Output.isInstance(cfg.privateKey)).toBe(true);
        expect(await pulumi.isSecret(cfg.privateKey as pulumi.Output<string>)).toBe(true);
        expect(await pulumi.isSecret(cfg.mfaAnswers as pulumi.Output<string[]>)).toBe(true);
        expect(await new Promise((r) => (cfg.mfaAnswers as pulumi.Output<string[]>).apply(r))).toEqual(["push"]);
        fs.rmSync(dir, { recursive: true });
    });
});

describe("resolveSshHost (~/.ssh/config through the ssh-config parser)", () => {
    const text = [
        "Host hpg",
        "  HostName hpg.rc.ufl.edu",
        "  User albert",
        "  Port 2200",
        "  IdentityFile ~/.ssh/id_hpg",
        "  ProxyJump bastion.example",
        "Host direct",
        "  HostName %h.example.org",
        "  ProxyJump none",
        "Host *",
        "  ControlMaster auto",
    ].join("\n");

    it.each<[string, object]>([
        ["hpg", { host: "hpg.rc.ufl.edu", user: "albert", port: 2200, identityFile: "~/.ssh/id_hpg", proxyJump: "bastion.example" }],
        ["direct", { host: "direct.example.org", proxyJump: undefined }],
        ["elsewhere", { host: "elsewhere", user: undefined, port: undefined }],
    ])("%s", (alias, expected) => {
        expect(resolveSshHost(alias, text)).toMatchObject(expected);
    });
});

describe("the hpg stack's names for the connection fields", () => {
    it("the provider's messages (connection.messages) and the preview checks (CONNECTION_KEYS) use the same config keys", () => {
        for (const [field, { key }] of Object.entries(CONNECTION_KEYS)) {
            expect([field, HPG_CONNECTION_MESSAGES.keyNames?.[field.replace(/^connection\./, "") as ConnectionField]]).toEqual([field, key]);
        }
    });
});
