// The repository's own program (Pulumi.yaml, index.ts, the config loaders) under the real
// engine: bad or missing configuration fails `pulumi preview` with errors that name the key,
// show the value and say the fix, before any resource or plugin is needed.
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireEngine, shouldSkipEngineTests, TestStack } from "../support/engine";

const root = path.resolve(__dirname, "../..");

describe.skipIf(shouldSkipEngineTests())("the project's own program under the real engine", () => {
    let stack: TestStack | undefined;
    afterEach(async () => {
        await stack?.dispose();
        stack = undefined;
    });

    async function previewFailure(stackName: string, config: Record<string, string>): Promise<string> {
        stack = await TestStack.create(requireEngine(), { programDir: root, stackName });
        for (const [key, value] of Object.entries(config)) {
            await stack.setConfig(key, value);
        }
        const result = await stack.pulumi(["preview", "--stack", stackName, "--non-interactive", "--config-file", stack.configFile], { allowFailure: true });
        expect(result.code).not.toBe(0);
        return result.stdout + result.stderr;
    }

    it("hpg: preview names every value a user must set and how", async () => {
        const out = await previewFailure("e2e-hpg", { target: "hpg" });
        expect(out).toContain("hpg stack configuration has 3 problem(s):");
        expect(out).toContain("sparc-deploy:hpgUser is not set. Fix: set your GatorLink user with `pulumi config set hpgUser <gatorlink>`");
        expect(out).toContain("sparc-deploy:hpgGroup is not set. Fix:");
        expect(out).toContain("sparc-deploy:hpgHostKey is not set. Fix: run `ssh-keyscan -p 2222 hpg.rc.ufl.edu`");
        // A RunError: the CLI prints the message, not a Node stack trace.
        expect(out).not.toMatch(/\n\s+at .*\(.*config\.ts:\d+:\d+\)/);
    }, 120_000);

    it("hpg: preview shows a bad time limit with its value and the fix", async () => {
        const out = await previewFailure("e2e-hpg2", {
            target: "hpg",
            hpgUser: "albert",
            hpgGroup: "g",
            hpgHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg",
            hpgTime: "15 days",
        });
        expect(out).toContain('sparc-deploy:hpgTime = "15 days": is not a Slurm time. Fix: use e.g. "14-00:00:00"');
    }, 120_000);

    // Before: these passed the loader and failed later in the SlurmJob provider's check, named "partition" / "jobName".
    it("hpg: preview refuses a bad hpgPartition and hpgJobName under their config keys, with the value and the fix", async () => {
        const out = await previewFailure("e2e-hpg3", {
            target: "hpg",
            hpgUser: "albert",
            hpgGroup: "g",
            hpgHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg",
            hpgPartition: "hpg ai",
            hpgJobName: "j".repeat(201),
        });
        expect(out).toContain("hpg stack configuration has 2 problem(s):");
        expect(out).toContain(
            'sparc-deploy:hpgPartition = "hpg ai": must be a partition name or a comma list of them (letters, digits, "_", ".", "-"). ' +
                "Fix: pulumi config set hpgPartition <partition, e.g. hpg-ai>",
        );
        expect(out).toContain(
            `sparc-deploy:hpgJobName = "${"j".repeat(76)}...: is 201 characters long; shorten it to at most 200. Fix: pulumi config set hpgJobName <`,
        );
        expect(out).not.toMatch(/\bpartition = "hpg ai"/);
    }, 120_000);

    it("pubapps: preview names every value a user must set and how, without any SSH", async () => {
        const out = await previewFailure("e2e-pubapps-cfg", { target: "pubapps" });
        expect(out).toContain("pubapps stack configuration has 7 problem(s):");
        expect(out).toContain("pubappsInstance is not set. Fix: pulumi config set pubappsInstance <instance host name, as UF RC gave it>");
        expect(out).toContain("pubappsHostKey is not set. Fix: from HiPerGator run `ssh-keyscan -t ed25519 <instance>`");
        expect(out).toContain("pubappsJumpHostKey is not set. Fix: run `ssh-keyscan -t ed25519 hpg.rc.ufl.edu`");
        expect(out).toContain(
            "pubappsProxyPort = 0: not a port. Fix: pulumi config set pubappsProxyPort <the instance port UF RC's reverse proxy forwards to>",
        );
        expect(out).toContain("pubappsPublicHost is not set. Fix:");
    }, 120_000);

    it("pubapps: preview names a prebuilt image this machine does not have, and the fix", async () => {
        const out = await previewFailure("e2e-pubapps-img", {
            target: "pubapps",
            imageSource: "prebuilt",
            masImage: "localhost/sparc-pubapps-absent/mas:none",
            pubappsInstance: "app1",
            pubappsUser: "svc",
            pubappsInsecureIgnoreHostKey: "true",
            pubappsJumpUser: "albert",
            pubappsProxyPort: "8443",
            pubappsPublicHost: "sparc.example",
        });
        expect(out).toContain('masImage = "localhost/sparc-pubapps-absent/mas:none": not in the local podman store');
        expect(out).toContain("Fix: `podman pull localhost/sparc-pubapps-absent/mas:none` (or build it), or set imageSource build");
    }, 120_000);

    it("dev: preview refuses an unknown image source", async () => {
        const out = await previewFailure("e2e-dev", { imageSource: "download" });
        expect(out).toMatch(/imageSource/);
        expect(out).toMatch(/build|prebuilt/);
    }, 120_000);
});
