import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { loadHpgConfig } from "../../components/hpg/config";
import { resolveSshHost } from "../../components/hpg/sshConfig";
import { fakePrivateKey } from "../support/fake-key";

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
        expect(cfg).toMatchObject({
            host: "hpg.rc.ufl.edu.test-no-ssh-config", port: 2222, mfaPromptPattern: "", user: "albert", group: "jasondeanarnold",
            containerDir: "/blue/jasondeanarnold/albert/sparc/containers", workDir: "/blue/jasondeanarnold/albert/sparc",
            account: "jasondeanarnold", transport: "openssh", sifBuildOn: "slurm", services: ["mas"], modules: ["apptainer"],
            sifBuildPartition: "hpg-default", sifBuildCpus: 4, sifBuildMem: "16gb", sifBuildTime: "02:00:00", gpus: "", renewBeforeHours: 0, proxyJump: "",
            jobName: "sparc-production-service", partition: "hpg-ai", nodes: 1, ntasks: 1, gpusPerTask: "4", cpusPerTask: 32,
            mem: "256gb", time: "14-00:00:00", output: "sparc_service_%j.log", masPort: 8000, clusterChecks: "up",
        });
        expect(cfg.privateKey).toBeUndefined();
        expect(cfg.mfaAnswers).toBeUndefined();
    });

    it.each<[Record<string, string>, Partial<Record<string, unknown>>]>([
        [{ hpgPartition: "hpg-ai", hpgGpusPerTask: "a100:4" }, { partition: "hpg-ai", gpusPerTask: "a100:4" }],
        [{ hpgPartition: "hpg-b200", hpgGpusPerTask: "0", hpgGpus: "b200:2" }, { partition: "hpg-b200", gpus: "b200:2", gpusPerTask: "0" }],
        // A partition HiPerGator's table does not know is left to sinfo at up.
        [{ hpgPartition: "gpu", hpgGpusPerTask: "fake:1" }, { partition: "gpu", gpusPerTask: "fake:1" }],
        [{ hpgRenewBeforeHours: "0.5" }, { renewBeforeHours: 0.5 }],
        [{ hpgSifBuildOn: "login" }, { sifBuildOn: "login" }],
    ])("accepts %j", (values, expected) => {
        expect(load({ ...required, ...values })).toMatchObject(expected);
    });

    it("names every value a user must set, with the command that sets it", () => {
        expect(() => load({ hpgHost: "hpg.rc.ufl.edu.test-no-ssh-config" })).toThrow(new RegExp([
            "invalid hpg stack configuration:",
            "  - hpgUser is not set: set your GatorLink user with `pulumi config set hpgUser <gatorlink>`.*",
            "  - hpgGroup is not set: .*`pulumi config set hpgGroup <group>`",
            "  - hpgHostKey is not set: run `ssh-keyscan -p 2222 hpg.rc.ufl.edu.test-no-ssh-config`.*",
        ].join("\\n")));
    });

    it.each<[Record<string, string>, RegExp]>([
        [{ hpgTime: "15 days" }, /hpgTime = "15 days" is not a Slurm time; use e.g. "14-00:00:00"/],
        [{ hpgMem: "lots" }, /hpgMem = "lots" is not a Slurm memory size; use e.g. "256gb"/],
        [{ hpgContainerDir: "blue/x" }, /hpgContainerDir = "blue\/x" must be an absolute path/],
        [{ hpgServices: '["signaling"]' }, /hpgServices = \["signaling"\]: .*"mas" is required/],
        [{ hpgIdentityFile: "/nonexistent/key" }, /hpgIdentityFile = "\/nonexistent\/key": no such file/],
        [{ hpgSshTransport: "telnet" }, /hpgSshTransport/],
        // Typed GPU requests at preview, against HiPerGator's known partitions.
        [{ hpgPartition: "hpg-b200", hpgGpusPerTask: "a100:4" },
            /hpgGpusPerTask = "a100:4" with hpgPartition = "hpg-b200": partition hpg-b200 offers GPU type b200, not a100; a100 GPUs are in hpg-ai\. Partitions and their GPU types: hpg-ai: a100; hpg-b200: b200; hpg-rtx6000: rtx_pro_6000; hpg-turin: l4; change hpgPartition or hpgGpusPerTask/],
        [{ hpgPartition: "hpg-ai", hpgGpusPerTask: "0", hpgGpus: "b200:8" }, /hpgGpus = "b200:8" with hpgPartition = "hpg-ai": partition hpg-ai offers GPU type a100, not b200; b200 GPUs are in hpg-b200/],
        [{ hpgPartition: "hpg-default", hpgGpusPerTask: "2" }, /hpgGpusPerTask = "2" with hpgPartition = "hpg-default": partition hpg-default has no GPUs; GPU partitions: hpg-ai: a100; hpg-b200: b200/],
        [{ hpgGpusPerTask: "four" }, /hpgGpusPerTask = "four" is not a GPU request; use a count or type:count, e.g. "4" or "a100:4"/],
        [{ hpgGpus: "a100:4" }, /hpgGpusPerTask = "4" and hpgGpus = "a100:4": ask for GPUs one way/],
        [{ hpgSifBuildPartition: "hpg-ai" }, /hpgSifBuildPartition = "hpg-ai" is a GPU partition, but the \.sif build uses no GPU .*use a CPU partition such as hpg-default/],
        [{ hpgRenewBeforeHours: "-1" }, /hpgRenewBeforeHours.*Fix: pulumi config set hpgRenewBeforeHours <hours, e\.g\. 48; 0 = off>/],
        [{ hpgRenewBeforeHours: "400" }, /hpgRenewBeforeHours = 400 is not less than hpgTime \(14-00:00:00\)/],
        [{ hpgSifBuildMem: "big" }, /hpgSifBuildMem = "big" is not a Slurm memory size/],
        [{ hpgHostKey: "ssh-ed25519 not-a-key" }, /hpgHostKey = "ssh-ed25519 not-a-key" is not an OpenSSH public key: .*ssh-keyscan -p 2222/],
        // The written type must agree with the type inside the blob (a copy-paste of the wrong line).
        [{ hpgHostKey: "ecdsa-sha2-nistp256 AAAAC3NzaC1lZDI1NTE5AAAAIHpgHostKeyForTests" }, /hpgHostKey = .* is not an OpenSSH public key/],
        [{ hpgMfaPromptPattern: "passcode|(" }, /hpgMfaPromptPattern = "passcode\|\(" is not a valid regular expression/],
        [{ hpgMfaPromptPattern: "password|passcode" }, /hpgMfaPromptPattern = .* mentions password\/passphrase/],
    ])("rejects %j", (values, message) => {
        expect(() => load({ ...required, ...values })).toThrow(message);
    });

    it("reports every refused value at once, each with its fix", () => {
        expect(() => load({ ...required, hpgSifBuildOn: "gpu", hpgClusterChecks: "always", hpgNodes: "0" })).toThrow(new RegExp([
            "invalid hpg stack configuration:",
            "  - .*hpgSifBuildOn.*gpu.*Fix: pulumi config set hpgSifBuildOn login\\|slurm",
            "  - .*hpgClusterChecks.*always.*Fix: pulumi config set hpgClusterChecks up\\|preview\\|off",
            "  - .*hpgNodes.*Fix: pulumi config set hpgNodes <whole number >= 1>",
        ].join("\n")));
    });

    it("takes a bare host-key blob of any type (its type is read from the blob) and UF's port 2222 unless ~/.ssh/config says otherwise", () => {
        const cfg = load({ ...required, hpgHostKey: "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=" });
        expect(cfg.hostKey).toBe("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=");
        expect(cfg.port).toBe(2222);
        expect(load({ ...required, hpgPort: "22" }).port).toBe(22);
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
