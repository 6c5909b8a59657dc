// The hpg stack's resources under Pulumi's mocks: the exact pipeline per image and the
// rendered batch script of the service job (golden file) for the default config and overrides.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadHpgConfig, type HpgConfig } from "../../../../components/hpg/config";
import { loadImagesConfig, type ImagesConfig } from "../../../../components/imagesConfig";
import { mockStack, valueOf as val, type MockedStack, type Registered } from "../../../support/mocks";
import { renderBatchScript } from "../../../../providers/slurm/render";
import type { JobSpec } from "../../../../providers/slurm/types";
import { fakePrivateKey } from "../../../support/fake-key";

let mocks: MockedStack;
let registered: Registered[] = [];
let hpg: typeof import("../../../../components/hpg");
const SLURM_JOB = "pulumi-nodejs:dynamic/slurm:SlurmJob";
const COMMAND = "command:local:Command";
const REMOTE = "pulumi-nodejs:dynamic/ssh:RemoteCommand";
const GOLDEN = path.join(__dirname, "golden", "hpg-service-default.sbatch");

beforeAll(async () => {
    mocks = await mockStack({
        stack: "hpg",
        outputsOf: (a) => {
            const extra: Record<string, unknown> = {};
            if (a.type === "docker:index/image:Image") extra.repoDigest = `sha256:digest-of-${a.name}`;
            if (a.type === COMMAND) extra.stdout = a.name.endsWith("-archive") ? "0123abcd\n" : `${a.name} ok\n`;
            if (a.type === REMOTE) extra.stdout = `${a.name} ok\n`;
            if (a.type === SLURM_JOB) {
                Object.assign(extra, {
                    jobId: "4242",
                    state: "RUNNING",
                    nodeList: "c0900a-s1",
                    stdoutPath: "/blue/g/u/sparc/sparc_service_4242.log",
                    readyReport: '{"node":"c0900a-s1","port":8123,"jobId":"4242","endsAt":1900000000}',
                });
            }
            return extra;
        },
    });
    registered = mocks.registered;
    hpg = await import("../../../../components/hpg");
});
beforeEach(() => mocks.reset());

/** Prebuilt images (no build): the defaults with the references this test deploys. */
const images: ImagesConfig = {
    ...defaultImages(),
    imageSource: "prebuilt",
    masContext: "",
    signalingContext: "",
    masImage: "localhost/sparc/mas-server@sha256:aaaa",
    signalingImage: "localhost/sparc/signaling-server:1",
    unityImage: "",
    unityEnabled: false,
};

function defaultImages(): ImagesConfig {
    pulumi.runtime.setAllConfig({});
    return loadImagesConfig(new pulumi.Config("sparc-deploy"), path.resolve(__dirname, "..", "..", "..", ".."));
}

/**
 * The loader's result for a stack that sets only the required keys (every other value is a default,
 * Pulumi.yaml's, checked by config-defaults.test.ts), with this test's user, paths and overrides.
 */
function config(over: Partial<HpgConfig> = {}): HpgConfig {
    pulumi.runtime.setAllConfig({
        "sparc-deploy:hpgUser": "albert",
        "sparc-deploy:hpgGroup": "jasondeanarnold",
        "sparc-deploy:hpgHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg",
        // Not a Host of anyone's ~/.ssh/config: the defaults apply.
        "sparc-deploy:hpgHost": "hpg.rc.ufl.edu.test-no-ssh-config",
    });
    const loaded = loadHpgConfig(new pulumi.Config("sparc-deploy"), {});
    return {
        ...loaded,
        hostAlias: "hpg.rc.ufl.edu",
        host: "hpg.rc.ufl.edu",
        localArchiveDir: "/home/albert/.cache/sparc-deploy/archives",
        sifBuildOn: "login",
        ...over,
    };
}

function byType(type: string): Registered[] {
    return registered.filter((r) => r.type === type);
}

/** The batch script the provider would submit for the recorded inputs. */
function scriptOf(job: Registered): string {
    return renderBatchScript(job.inputs as JobSpec);
}

describe("HpgStack under mocks", () => {
    it("builds archive -> copy -> sif per image, then the service job, ready once it answers", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config(), images });
        await val(stack.readiness);
        expect(registered.map((r) => `${r.type} ${r.name}`)).toEqual([
            "sparc:hpg:HpgStack sparc",
            "sparc:images:SparcImages sparc-images",
            `${COMMAND} sparc-mas-archive`,
            `${REMOTE} sparc-mas-copy`,
            `${REMOTE} sparc-mas-sif`,
            `${SLURM_JOB} sparc-service`,
        ]);
        const [archive] = byType(COMMAND);
        const [copy, sif] = byType(REMOTE);
        const [job] = byType(SLURM_JOB);
        const id = hpg.identityHash(images.masImage);
        const dir = "/blue/jasondeanarnold/albert/sparc/containers";
        expect(archive.inputs.create).toContain(
            `podman save --format docker-archive -o /home/albert/.cache/sparc-deploy/archives/mas-${id}.tar.part localhost/sparc/mas-server@sha256:aaaa`,
        );
        // The archive goes over the stack's one login, on stdin: no scp, no ssh of its own.
        expect(copy.inputs.stdinFile).toBe(`/home/albert/.cache/sparc-deploy/archives/mas-${id}.tar`);
        expect(JSON.stringify(copy.inputs)).not.toMatch(/\bscp\b|"ssh"/);
        expect((copy.inputs.create as string[])[2]).toContain(`cat > ${dir}/mas-${id}.tar.part`);
        expect((copy.inputs.unless as string[])[2]).toContain(`0123abcd  ${dir}/mas-${id}.tar`);
        expect(copy.inputs.delete).toEqual(["rm", "-f", `${dir}/mas-${id}.tar`, `${dir}/mas-${id}.tar.part`]);
        expect(copy.inputs.triggers).toEqual(["0123abcd"]);
        expect((sif.inputs.create as string[])[2]).toContain(`apptainer build --force ${dir}/mas_server-${id}.sif.part docker-archive://${dir}/mas-${id}.tar`);
        expect((sif.inputs.create as string[])[2]).not.toContain("docker-daemon://");
        expect(sif.inputs.delete).toEqual(["rm", "-f", `${dir}/mas_server-${id}.sif`, `${dir}/mas_server-${id}.sif.part`]);
        // One connection for every remote step: the same value, hence one pooled login in the provider process.
        for (const step of [copy, sif]) {
            expect(step.inputs.connection).toEqual(job.inputs.connection);
        }
        // The outputs come from the endpoint the job wrote (port 8123, not the configured 8000), through readiness.
        expect(await val(stack.masEndpoint)).toBe("c0900a-s1:8123");
        expect(await val(stack.tunnelCommand)).toBe("ssh -N -L 8000:c0900a-s1:8123 -p 2222 albert@hpg.rc.ufl.edu");
        expect(await val(stack.endpointFile)).toBe("/blue/jasondeanarnold/albert/sparc/sparc_service.endpoint");
        expect(await val(stack.logPath)).toBe("/blue/g/u/sparc/sparc_service_4242.log");
        expect(await val(stack.jobId)).toBe("4242");
        expect(job.inputs).toMatchObject({ readyTimeoutSeconds: 300, renewBeforeSeconds: 0 });
        expect(job.inputs.readyCheck).toContain('endpoint=/blue/jasondeanarnold/albert/sparc/sparc_service_"${job}".endpoint');
    });

    it("renders the reference production script for the default config (golden file)", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config(), images });
        await val(stack.jobId);
        const [job] = byType(SLURM_JOB);
        const id = hpg.identityHash(images.masImage);
        const script = scriptOf(job).replaceAll(id, "<image-id>");
        if (process.env.UPDATE_GOLDEN === "1") {
            fs.writeFileSync(GOLDEN, script);
        }
        expect(script).toBe(fs.readFileSync(GOLDEN, "utf8"));
        expect(job.inputs).toMatchObject({ waitFor: "running", cancelSignal: "TERM", clusterChecks: "up", ownerTag: "pulumi:sparc-deploy/hpg/sparc-service" });
    });

    it("renders overrides: another partition and GPU type, no modules, no GPUs, a QOS", async () => {
        const stack = new hpg.HpgStack("sparc", {
            hpg: config({ partition: "gpu", gpusPerTask: "0", modules: [], qos: "jasondeanarnold-b", time: "2-00:00:00", mem: "64gb", masPort: 18500 }),
            images,
        });
        await val(stack.jobId);
        const script = scriptOf(byType(SLURM_JOB)[0]);
        expect(script).toContain("#SBATCH --partition=gpu\n");
        expect(script).toContain("#SBATCH --qos=jasondeanarnold-b\n");
        expect(script).toContain("#SBATCH --time=2-00:00:00\n");
        expect(script).not.toContain("--gpus-per-task");
        expect(script).not.toContain("module ");
        expect(script).toContain("\nport=18500\n");
        expect(script).toMatch(/exec apptainer exec --pwd \/app \/blue\/\S+\.sif uvicorn main:app --host 0\.0\.0\.0 --port "\$port"\n/);
    });

    it("asks for typed GPUs with --gpus when hpgGpus is set, and renews 48 h before the end when asked", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config({ gpusPerTask: "0", gpus: "b200:2", partition: "hpg-b200", renewBeforeHours: 48 }), images });
        await val(stack.jobId);
        const [job] = byType(SLURM_JOB);
        const script = scriptOf(job);
        expect(script).toContain("#SBATCH --gpus=b200:2\n");
        expect(script).not.toContain("--gpus-per-task");
        expect(script).toContain("apptainer exec --nv ");
        expect(job.inputs.renewBeforeSeconds).toBe(48 * 3600);
    });

    it("builds the tunnel through the ProxyJump of ~/.ssh/config and a non-default port", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config({ proxyJump: "albert@bastion.example.org", port: 2222 }), images });
        expect(await val(stack.tunnelCommand)).toBe("ssh -N -L 8000:c0900a-s1:8123 -J albert@bastion.example.org -p 2222 albert@hpg.rc.ufl.edu");
    });

    it("runs the .sif build as a CPU SlurmJob (no GPUs, the service's Lmod preamble) and converts every listed image", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config({ sifBuildOn: "slurm", services: ["mas", "signaling"] }), images });
        await val(stack.readiness);
        const jobs = byType(SLURM_JOB).map((j) => j.name);
        expect(jobs).toEqual(["sparc-mas-sif-build", "sparc-signaling-sif-build", "sparc-service"]);
        const build = byType(SLURM_JOB)[0];
        expect(build.inputs).toMatchObject({
            waitFor: "completed",
            jobName: "sparc-sif-mas",
            partition: "hpg-default",
            cpusPerTask: 4,
            mem: "16gb",
            time: "02:00:00",
        });
        expect(build.inputs).not.toHaveProperty("gpusPerTask");
        expect(build.inputs).not.toHaveProperty("gpus");
        expect(build.inputs.command).toContain("apptainer build --force");
        const service = scriptOf(byType(SLURM_JOB)[2]);
        for (const line of [
            "if ! command -v module >/dev/null 2>&1 && [ -f /etc/profile.d/lmod.sh ]; then . /etc/profile.d/lmod.sh; fi",
            "module purge",
            "module load apptainer",
        ]) {
            expect(build.inputs.command).toContain(`${line}\n`);
            expect(service).toContain(`${line}\n`);
        }
        // The .sif's place comes first and is removed on destroy; the build job carries its id, so replacing it rebuilds.
        const names = registered.map((r) => r.name);
        expect(names.indexOf("sparc-mas-sif")).toBeLessThan(names.indexOf("sparc-mas-sif-build"));
        // A RemoteCommand: its delete goes over the stack's one login too.
        const sifFiles = byType(REMOTE).filter((c) => c.name.endsWith("-sif"));
        expect(sifFiles.map((c) => c.name)).toEqual(["sparc-mas-sif", "sparc-signaling-sif"]);
        expect(sifFiles[0].inputs.create).toEqual([
            "echo",
            expect.stringMatching(/^\/blue\/jasondeanarnold\/albert\/sparc\/containers\/mas_server-[0-9a-f]{16}\.sif$/),
        ]);
        expect((sifFiles[0].inputs.delete as string[]).slice(0, 3)).toEqual([
            "rm",
            "-f",
            expect.stringMatching(/^\/blue\/jasondeanarnold\/albert\/sparc\/containers\/mas_server-/),
        ]);
        expect(build.inputs.environment).toEqual({ SPARC_SIF_SLOT: "sparc-mas-sif-id" });
        expect(Object.keys(await val(stack.sifPaths))).toEqual(["mas", "signaling"]);
    });

    it("openssh: gives ssh the alias as written (the user's Host block applies), keeping the resolved host for identity", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config({ hostAlias: "hpg" }), images });
        await val(stack.jobId);
        const [job] = byType(SLURM_JOB);
        expect(JSON.stringify(job.inputs.connection)).toContain('"hostAlias":"hpg"');
        expect(JSON.stringify(job.inputs.connection)).toContain('"host":"hpg.rc.ufl.edu"');
    });

    it("passes a secret connection, never the key text in the clear", async () => {
        const stack = new hpg.HpgStack("sparc", {
            hpg: config({ transport: "ssh2", privateKey: pulumi.secret(fakePrivateKey("AAAA")) }),
            images,
        });
        await val(stack.jobId);
        const [job] = byType(SLURM_JOB);
        // Mocks receive secrets unwrapped as a special object; the key must only travel inside the secret connection.
        const conn = job.inputs.connection as Record<string, unknown>;
        expect(JSON.stringify(conn)).toContain("1b47061264138c4ac30d75fd1eb44270");
        // (__provider is the serialized provider code: it holds validation messages, no key.)
        const others = { ...job.inputs, connection: undefined, __provider: undefined };
        expect(JSON.stringify(others)).not.toContain("PRIVATE KEY");
    });

    // A config not made by loadHpgConfig: what the SlurmJob provider's check would refuse is refused here,
    // before any resource, under the config key (not the provider's field name).
    it.each<[Partial<HpgConfig>, RegExp]>([
        [{ partition: "hpg ai" }, /sparc-deploy:hpgPartition = "hpg ai": must be a partition name .*\. Fix: pulumi config set hpgPartition /],
        [{ jobName: "" }, /sparc-deploy:hpgJobName = "": is empty; .*\. Fix: pulumi config set hpgJobName /],
        [
            { sifBuildOn: "slurm", sifBuildMem: "big" },
            /sparc-deploy:hpgSifBuildMem = "big": is not a Slurm memory size; .*\. Fix: pulumi config set hpgSifBuildMem /,
        ],
    ])("refuses %j under the config key, before any resource", (over, message) => {
        let thrown: unknown;
        try {
            new hpg.HpgStack("sparc", { hpg: config(over), images });
        } catch (err) {
            thrown = err;
        }
        expect(pulumi.RunError.isInstance(thrown)).toBe(true);
        expect((thrown as Error).message).toMatch(message);
        expect((thrown as Error).message).not.toMatch(/^  - (partition|jobName|mem) = /m);
        expect(registered.filter((r) => r.type === SLURM_JOB)).toEqual([]);
    });
});

describe("HpgStack's warnings at preview: the samples, and GPUs for a MAS that uses none", () => {
    const warnings = (stackImages: ImagesConfig, over: Partial<HpgConfig> = {}): string[] => {
        const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        try {
            new hpg.HpgStack("sparc", { hpg: config(over), images: stackImages });
            return warn.mock.calls.map((c) => String(c[0]));
        } finally {
            warn.mockRestore();
        }
    };
    it.each<[string, () => ImagesConfig, Partial<HpgConfig>, RegExp[]]>([
        [
            "the defaults: the sample MAS, and 4 GPUs for it",
            defaultImages,
            {},
            [
                /^masContext is the sample \(samples\/mas\): the hpg stack would deploy the sample MAS, not SPARC's\. Fix: pulumi config set --stack hpg masContext /,
                /^hpgGpusPerTask = "4" asks for GPUs for the sample MAS, which uses none\. UF RC's scheduler policy: jobs that request GPUs and do not use them lead to job termination and account suspension\. Fix: .*hpgPartition hpg-default .*hpgGpusPerTask 0/,
            ],
        ],
        [
            "the sample on a CPU partition with no GPUs: the sample only",
            defaultImages,
            { partition: "hpg-default", gpusPerTask: "0", gpus: "" },
            [/^masContext is the sample/],
        ],
        ["prebuilt images: nothing to say", () => images, {}, []],
    ])("%s", (_what, stackImages, over, expected) => {
        const said = warnings(stackImages(), over);
        expect(said).toHaveLength(expected.length);
        expected.forEach((pattern, i) => expect(said[i]).toMatch(pattern));
    });
});

describe('HpgStack on a CPU partition (hpgGpusPerTask 0, hpgGpus "")', () => {
    it("loads and renders a service job with no GPU option at all", async () => {
        pulumi.runtime.setAllConfig({
            "sparc-deploy:hpgUser": "albert",
            "sparc-deploy:hpgGroup": "jasondeanarnold",
            "sparc-deploy:hpgHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg",
            "sparc-deploy:hpgHost": "hpg.rc.ufl.edu.test-no-ssh-config",
            "sparc-deploy:hpgPartition": "hpg-default",
            "sparc-deploy:hpgGpusPerTask": "0",
            "sparc-deploy:hpgGpus": "",
        });
        const loaded = loadHpgConfig(new pulumi.Config("sparc-deploy"), {});
        const stack = new hpg.HpgStack("sparc", { hpg: { ...loaded, sifBuildOn: "login" }, images });
        await val(stack.readiness);
        // The last registration: the stacks of the warnings tests above may still be registering theirs.
        const job = byType(SLURM_JOB)
            .filter((r) => r.name === "sparc-service")
            .pop() as Registered;
        expect(job.inputs).toMatchObject({ partition: "hpg-default" });
        expect(job.inputs.gpusPerTask).toBeUndefined();
        expect(job.inputs.gpus).toBeUndefined();
        expect(scriptOf(job)).not.toMatch(/--gpus|--gres/);
    });
});

describe("HpgStack with hpgMailUser", () => {
    it("asks Slurm to mail END and FAIL of the service job only", async () => {
        pulumi.runtime.setAllConfig({
            "sparc-deploy:hpgUser": "albert",
            "sparc-deploy:hpgGroup": "jasondeanarnold",
            "sparc-deploy:hpgHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpg",
            "sparc-deploy:hpgHost": "hpg.rc.ufl.edu.test-no-ssh-config",
            "sparc-deploy:hpgMailUser": "albert@ufl.edu",
        });
        const loaded = loadHpgConfig(new pulumi.Config("sparc-deploy"), {});
        const stack = new hpg.HpgStack("sparc-mail", { hpg: loaded, images });
        await val(stack.readiness);
        const job = byType(SLURM_JOB)
            .filter((r) => r.name === "sparc-mail-service")
            .pop() as Registered;
        expect(job.inputs.extraArgs).toEqual(["--mail-user=albert@ufl.edu", "--mail-type=END,FAIL"]);
        expect(scriptOf(job)).toMatch(/^#SBATCH --mail-user=albert@ufl\.edu$/m);
        expect(scriptOf(job)).toMatch(/^#SBATCH --mail-type=END,FAIL$/m);
        const build = byType(SLURM_JOB).find((r) => r.name === "sparc-mail-mas-sif-build") as Registered;
        expect(build.inputs.extraArgs).toBeUndefined();
    });
});

describe("progress lines' URN", () => {
    it("every SlurmJob and RemoteCommand carries its own URN as logUrn (where the provider logs its progress)", async () => {
        const stack = new hpg.HpgStack("sparc", { hpg: config({ sifBuildOn: "slurm" }), images });
        await val(stack.readiness);
        const dynamic = registered.filter((r) => r.type === SLURM_JOB || r.type === REMOTE);
        expect(dynamic.length).toBeGreaterThanOrEqual(4);
        for (const r of dynamic) {
            expect(r.inputs.logUrn).toBe(`urn:pulumi:hpg::sparc-deploy::sparc:hpg:HpgStack$${r.type}::${r.name}`);
        }
    });
});
