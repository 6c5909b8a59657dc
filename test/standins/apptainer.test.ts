// Real-process tests of the apptainer and module STAND-INS (test/standins/), as the
// unprivileged cluster user, and one end-to-end run through the real Slurm test cluster.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onCluster, requireClusterOrSkip, sshOptions, TEST_USER } from "../support/cluster";

const STANDINS = path.resolve(__dirname);
const APPTAINER = path.join(STANDINS, "apptainer");
const MODULE = path.join(STANDINS, "module");
const CI = process.env.CI === "true";

function need(ok: boolean, what: string): boolean {
    if (!ok && CI) {
        throw new Error(`${what} is missing: run test/cluster/install-standins.sh (.ci/run does it)`);
    }
    return ok;
}

const haveProot = need(spawnSync("sh", ["-c", "command -v proot"]).status === 0, "proot");
const haveUser = need(spawnSync("id", [TEST_USER]).status === 0, `user ${TEST_USER}`);
const ready = haveProot && haveUser && process.getuid?.() === 0;

/** Runs argv as the unprivileged test user, in `cwd`. */
function asUser(argv: string[], cwd = "/tmp") {
    const r = spawnSync("runuser", ["-u", TEST_USER, "--", ...argv], { cwd, encoding: "utf8", timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function sh(cmd: string, cwd?: string): string {
    const r = spawnSync("sh", ["-c", cmd], { cwd, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
    }
    return r.stdout;
}

/** A two-layer docker-archive made with plain tar: busybox, a marker that layer 2 replaces,
 *  a file layer 2 whites out, and a directory layer 2 makes opaque. */
function makeDockerArchive(dir: string): string {
    const l1 = path.join(dir, "l1");
    const l2 = path.join(dir, "l2");
    fs.mkdirSync(path.join(l1, "bin"), { recursive: true });
    fs.mkdirSync(path.join(l1, "etc"));
    fs.mkdirSync(path.join(l1, "opt/dir"), { recursive: true });
    fs.copyFileSync("/bin/busybox", path.join(l1, "bin/busybox"));
    fs.chmodSync(path.join(l1, "bin/busybox"), 0o755);
    for (const applet of ["sh", "cat", "ls", "env", "pwd", "sleep", "httpd", "echo", "test"]) {
        fs.symlinkSync("busybox", path.join(l1, "bin", applet));
    }
    fs.writeFileSync(path.join(l1, "etc/marker"), "one\n");
    fs.writeFileSync(path.join(l1, "etc/gone"), "x\n");
    fs.writeFileSync(path.join(l1, "opt/dir/a"), "a\n");
    fs.mkdirSync(path.join(l2, "etc"), { recursive: true });
    fs.mkdirSync(path.join(l2, "opt/dir"), { recursive: true });
    fs.writeFileSync(path.join(l2, "etc/marker"), "two\n");
    fs.writeFileSync(path.join(l2, "etc/.wh.gone"), "");
    fs.writeFileSync(path.join(l2, "opt/dir/.wh..wh..opq"), "");
    fs.writeFileSync(path.join(l2, "opt/dir/b"), "b\n");
    const archive = path.join(dir, "archive");
    fs.mkdirSync(archive);
    sh(`tar --numeric-owner --owner=0 --group=0 -C ${l1} -cf ${archive}/l1.tar .`);
    sh(`tar --numeric-owner --owner=0 --group=0 -C ${l2} -cf ${archive}/l2.tar .`);
    const config = {
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/bin", "GREETING=hello from the image"], WorkingDir: "/opt", Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: [] },
    };
    fs.writeFileSync(path.join(archive, "config.json"), JSON.stringify(config));
    fs.writeFileSync(
        path.join(archive, "manifest.json"),
        JSON.stringify([{ Config: "config.json", RepoTags: ["localhost/standin-test:latest"], Layers: ["l1.tar", "l2.tar"] }]),
    );
    const tarPath = path.join(dir, "two-layers.tar");
    sh(`tar -C ${archive} -cf ${tarPath} manifest.json config.json l1.tar l2.tar`);
    return tarPath;
}

describe.runIf(ready)("apptainer stand-in", () => {
    let work = "";
    let archive = "";
    let sif = "";

    beforeAll(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "standin-apptainer-"));
        fs.chmodSync(work, 0o777);
        archive = makeDockerArchive(work);
        fs.chmodSync(archive, 0o644);
        sif = path.join(work, "x.sif");
    });
    afterAll(() => {
        if (work) {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("prints the stand-in version", () => {
        const r = asUser([APPTAINER, "--version"]);
        expect(r).toMatchObject({ code: 0, stdout: "apptainer version 0.0.0-standin\n" });
    });

    it("builds a SIF from a two-layer docker-archive as the unprivileged user", () => {
        const r = asUser([APPTAINER, "build", sif, `docker-archive://${archive}`], work);
        expect(r.stderr).toContain("Build complete");
        expect(r.code).toBe(0);
        expect(fs.readFileSync(sif).subarray(0, 32).toString()).toBe("APPTAINER-STANDIN-SIF v1 sha256=");
    });

    it("runs a command in the merged rootfs: later layer wins, whiteout and opaque dir applied", () => {
        const r = asUser([APPTAINER, "exec", sif, "/bin/sh", "-c", "echo hi; cat /etc/marker; test -e /etc/gone || echo whited-out; ls /opt/dir"]);
        expect(r.stderr).toBe("");
        expect(r).toMatchObject({ code: 0, stdout: "hi\ntwo\nwhited-out\nb\n" });
    });

    it("applies the image Env over the host's, drops the host PATH, and honours APPTAINERENV_", () => {
        const r = spawnSync(
            "runuser",
            ["-u", TEST_USER, "--", "env", "GREETING=host", "APPTAINERENV_EXTRA=x y", "PATH=/usr/bin:/bin:/host-only", APPTAINER, "exec", sif, "env"],
            { cwd: "/tmp", encoding: "utf8" },
        );
        expect(r.status).toBe(0);
        const env = r.stdout.split("\n");
        expect(env).toContain("GREETING=hello from the image");
        expect(env).toContain("PATH=/bin");
        expect(env).toContain("EXTRA=x y");
        expect(env).toContain(`HOME=/home/${TEST_USER}`);
    });

    it("--cleanenv keeps only a minimal host environment", () => {
        const r = spawnSync("runuser", ["-u", TEST_USER, "--", "env", "LEAK=1", APPTAINER, "exec", "--cleanenv", sif, "env"], {
            cwd: "/tmp",
            encoding: "utf8",
        });
        expect(r.status).toBe(0);
        expect(r.stdout).not.toContain("LEAK=1");
        expect(r.stdout).toContain("GREETING=hello from the image");
    });

    it("like real Apptainer, ignores Docker WORKDIR: starts in the caller's directory; --pwd sets it", () => {
        expect(asUser([APPTAINER, "exec", sif, "pwd"], work)).toMatchObject({ code: 0, stdout: `${work}\n` });
        expect(asUser([APPTAINER, "exec", "--pwd", "/opt", sif, "pwd"], work)).toMatchObject({ code: 0, stdout: "/opt\n" });
    });

    it("binds host paths with -B src:dst and accepts --nv with a note on stderr", () => {
        fs.writeFileSync(path.join(work, "bound.txt"), "from host\n");
        fs.chmodSync(path.join(work, "bound.txt"), 0o644);
        const r = asUser([APPTAINER, "exec", "--nv", "-B", `${work}:/mnt/data`, sif, "cat", "/mnt/data/bound.txt"]);
        expect(r).toMatchObject({ code: 0, stdout: "from host\n" });
        expect(r.stderr).toMatch(/STAND-IN: --nv accepted.*no GPUs/);
    });

    it("fails like Apptainer for a command that is not in the image", () => {
        const r = asUser([APPTAINER, "exec", sif, "python3", "-V"]);
        expect(r.code).toBe(255);
        expect(r.stderr).toContain('FATAL:   "python3": executable file not found in $PATH');
    });

    it.each([
        ["a missing archive", () => `docker-archive://${work}/nope.tar`, /FATAL: .*no such file or directory/],
        ["a file that is no docker-archive", () => `docker-archive://${APPTAINER}`, /FATAL: .*not a docker-archive/],
        [
            "docker-daemon:// (no daemon on HiPerGator)",
            () => "docker-daemon://localhost/sparc/mas-server:latest",
            /FATAL: .*Cannot connect to the Docker daemon/,
        ],
    ])("build refuses %s", (_what, source, message) => {
        const r = asUser([APPTAINER, "build", path.join(work, "bad.sif"), source()], work);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(message);
        expect(fs.existsSync(path.join(work, "bad.sif"))).toBe(false);
    });

    it("build refuses an existing target without --force and replaces it with --force", () => {
        const again = asUser([APPTAINER, "build", sif, `docker-archive://${archive}`], work);
        expect(again.code).not.toBe(0);
        expect(again.stderr).toContain("Use --force");
        const forced = asUser([APPTAINER, "build", "--force", sif, `docker-archive://${archive}`], work);
        expect(forced.code).toBe(0);
    });

    it("SIGTERM to apptainer exec reaches the command, which stops", async () => {
        const child = spawn(
            "runuser",
            ["-u", TEST_USER, "--", APPTAINER, "exec", sif, "/bin/sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 1; done"],
            { cwd: "/tmp" },
        );
        let out = "";
        child.stdout.on("data", (b: Buffer) => {
            out += b.toString();
        });
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        await expect.poll(() => out, { timeout: 30_000 }).toContain("ready");
        // runuser is root; the apptainer process under it belongs to the test user.
        const pid = sh(`pgrep -u ${TEST_USER} -f '^/usr/bin/python3 ${APPTAINER} exec ${sif}'`).trim();
        const started = Date.now();
        process.kill(Number(pid), "SIGTERM");
        const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 10_000))]);
        expect(code).toBe(7);
        expect(out).toContain("got TERM");
        expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("builds from a `podman save --format docker-archive` tar and runs it", () => {
        const podman = need(spawnSync("podman", ["--version"]).status === 0, "podman");
        if (!podman) {
            return;
        }
        const images = sh("podman images --format '{{.Repository}}:{{.Tag}}'").split("\n");
        const image = ["localhost/sparc-standin/debian:bookworm", "localhost/debian:bookworm", "localhost/busybox:static"].find((i) => images.includes(i));
        if (!need(image !== undefined, "a local base image (scripts/containers setup)") || image === undefined) {
            return;
        }
        const tar = path.join(work, "podman.tar");
        sh(`podman save --format docker-archive -o ${tar} ${image}`);
        fs.chmodSync(tar, 0o644);
        const podSif = path.join(work, "podman.sif");
        expect(asUser([APPTAINER, "build", podSif, `docker-archive://${tar}`], work).code).toBe(0);
        const r = asUser([APPTAINER, "exec", podSif, "/bin/sh", "-c", "echo hi from $(cat /etc/hostname >/dev/null 2>&1; echo image)"]);
        expect(r).toMatchObject({ code: 0, stdout: "hi from image\n" });
    });
});

describe.runIf(ready)("module stand-in", () => {
    it.each([
        [["purge"], 0],
        [["load", "apptainer"], 0],
        [["load", "apptainer", "cuda/12.2"], 0],
        [["list"], 0],
        [["load"], 1],
        [["frobnicate"], 1],
        [[], 1],
    ])("module %j exits %i, silent on success", (args, code) => {
        const r = asUser([MODULE, ...args]);
        expect(r.code).toBe(code);
        if (code === 0) {
            expect(r.stdout + r.stderr).toBe("");
        } else {
            expect(r.stderr).not.toBe("");
        }
    });
});

describe("stand-ins through the real Slurm cluster", () => {
    const clusterUp = ready && requireClusterOrSkip();
    const installed =
        clusterUp &&
        need(
            onCluster("command -v apptainer module && test -d /blue/sparc-test/hpcuser").code === 0,
            "installed stand-ins and /blue (test/cluster/install-standins.sh)",
        );
    const port = 18555;
    const dir = "/blue/sparc-test/hpcuser/standin-e2e";
    let jobId = "";

    afterAll(() => {
        if (jobId) {
            onCluster(`scancel ${jobId}`);
        }
        if (installed) {
            onCluster(`rm -rf ${dir}`);
        }
    });

    it.runIf(installed)("a batch job serves HTTP through module + apptainer exec --nv, and scancel stops it", async () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "standin-e2e-"));
        fs.chmodSync(work, 0o755);
        const archive = makeDockerArchive(work);
        fs.chmodSync(archive, 0o644);
        expect(onCluster(`rm -rf ${dir} && mkdir -p ${dir} && cp ${archive} ${dir}/image.tar`).code).toBe(0);
        fs.rmSync(work, { recursive: true, force: true });
        const build = onCluster(`cd ${dir} && apptainer build web.sif docker-archive://${dir}/image.tar`);
        expect(build.code, build.stderr).toBe(0);
        const script = [
            "#!/bin/bash",
            "set -euo pipefail",
            "module purge",
            "module load apptainer",
            `cd ${dir}`,
            "echo served-by-standin > index.html",
            `exec apptainer exec --nv ${dir}/web.sif httpd -f -p ${port} -h ${dir}`,
        ].join("\n");
        const submit = spawnSync(
            "ssh",
            [...sshOptions(), `${TEST_USER}@127.0.0.1`, `sbatch --parsable --job-name=standin-e2e --output=${dir}/job.out --chdir=${dir}`],
            { input: script, encoding: "utf8" },
        );
        expect(submit.status, submit.stderr).toBe(0);
        jobId = submit.stdout.trim();

        const fetchBody = async (): Promise<string> => {
            try {
                const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2_000) });
                return await res.text();
            } catch {
                return "";
            }
        };
        const started = Date.now();
        await expect.poll(fetchBody, { timeout: 30_000, interval: 250 }).toBe("served-by-standin\n");
        console.log(`standin e2e: job ${jobId} answered HTTP after ${Date.now() - started} ms`);

        expect(onCluster(`scancel ${jobId}`).code).toBe(0);
        await expect.poll(fetchBody, { timeout: 30_000, interval: 250 }).toBe("");
        await expect.poll(() => onCluster(`squeue -h -j ${jobId} -o %T`).stdout.trim(), { timeout: 30_000, interval: 500 }).toBe("");
        const log = onCluster(`cat ${dir}/job.out`).stdout;
        expect(log).toContain("STAND-IN: --nv accepted");
        jobId = "";
    });
});
