// Access to the real single-node Slurm test cluster started by test/cluster/setup.sh.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import type { SlurmJobInputs, SshConnection } from "../../providers/slurm/types";
import { SLURM_JOB_DEFAULTS } from "../../providers/slurm/provider";

export const CLUSTER_STATE = "/var/lib/slurm-test";
export const USER_KEY_PATH = `${CLUSTER_STATE}/ssh/hpcuser_ed25519`;
export const HOST_KEY_PATH = `${CLUSTER_STATE}/ssh/ssh_host_ed25519_key.pub`;
export const SSH_PORT = 2222;
export const TEST_USER = "hpcuser";

/** True when the test cluster answers; in CI a missing cluster is a failure, never a skip. */
export function clusterAvailable(): boolean {
    if (!fs.existsSync(USER_KEY_PATH)) {
        return false;
    }
    return spawnSync("ssh", [...sshOptions(), `${TEST_USER}@127.0.0.1`, "sinfo", "-h"], { timeout: 15_000 }).status === 0;
}

/** Fails loudly in CI when the cluster is missing; elsewhere the suite may be skipped with a reason. */
export function requireClusterOrSkip(): boolean {
    const ok = clusterAvailable();
    if (!ok && process.env.CI === "true") {
        throw new Error("the Slurm test cluster is not running: `bash test/cluster/setup.sh` must run first (.ci/run does it)");
    }
    if (!ok) {
        console.warn("SKIPPED: the Slurm test cluster is not running; start it with `sudo bash test/cluster/setup.sh`");
    }
    return ok;
}

export function sshOptions(port = SSH_PORT): string[] {
    return ["-i", USER_KEY_PATH, "-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"];
}

/** Runs a command on the cluster out of band (OpenSSH, not the provider's pool). */
export function onCluster(command: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync("ssh", [...sshOptions(), `${TEST_USER}@127.0.0.1`, command], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function testConnection(overrides: Partial<SshConnection> = {}): SshConnection {
    return {
        host: "127.0.0.1",
        port: SSH_PORT,
        user: TEST_USER,
        privateKey: fs.readFileSync(USER_KEY_PATH, "utf8"),
        hostKey: fs.readFileSync(HOST_KEY_PATH, "utf8").trim(),
        ...overrides,
    };
}

let serial = 0;
/** Inputs as check() would produce them, with a fresh ownership tag per call. */
export function jobInputs(fields: Partial<SlurmJobInputs>, name = "job"): SlurmJobInputs {
    serial += 1;
    return {
        ...SLURM_JOB_DEFAULTS,
        waitPollSeconds: 1,
        connection: testConnection(),
        ownerTag: `pulumi:sparc-deploy-test/${process.pid}-${Date.now()}-${serial}/${name}`,
        ...fields,
    } as SlurmJobInputs;
}

export function squeueState(jobId: string): string {
    return onCluster(`squeue -h -t all -j ${Number(jobId)} -o %T`).stdout.trim();
}

export async function waitUntil<T>(what: string, seconds: number, probe: () => T | undefined | Promise<T | undefined>, pauseMs = 500): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${seconds} s waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, pauseMs));
    }
}

/** Jobs of the test user that carry a tag (by --comment), from slurmctld. */
export function jobsWithTag(tag: string): string[] {
    const out = onCluster("squeue -h -t all -u hpcuser -o '%i|%k'").stdout;
    return out.split("\n").filter((l) => l.includes("|") && l.slice(l.indexOf("|") + 1) === tag).map((l) => l.split("|")[0]);
}

/** Stops slurmctld (for fault tests); `restartSlurmctld` brings it back through setup.sh. */
export function stopSlurmctld(): void {
    const pid = Number(fs.readFileSync(`${CLUSTER_STATE}/started/slurmctld.pid`, "utf8").trim());
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100; i++) {
        const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] : "gone";
        if (stat === "gone" || stat === "Z") {
            return;
        }
        execFileSync("sleep", ["0.1"]);
    }
    throw new Error("slurmctld did not stop");
}

export function restartCluster(): void {
    execFileSync("bash", [`${__dirname}/../cluster/setup.sh`], { stdio: "ignore", env: { ...process.env, SKIP_INSTALL: "1" } });
}

/**
 * A TCP proxy on 127.0.0.1 in front of the test sshd. It can delay what the
 * server sends (so a test can act while a reply is in flight) and cut every
 * connection at once, as a dropped VPN or login-node reboot would.
 */
export class FaultProxy {
    private server: net.Server;
    private sockets = new Set<net.Socket>();
    downstreamDelayMs = 0;
    connections = 0;

    constructor(private target = SSH_PORT) {
        this.server = net.createServer((client) => this.accept(client));
    }

    async listen(): Promise<number> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        return (this.server.address() as net.AddressInfo).port;
    }

    private accept(client: net.Socket): void {
        this.connections += 1;
        const upstream = net.connect(this.target, "127.0.0.1");
        this.sockets.add(client);
        this.sockets.add(upstream);
        client.on("data", (d) => upstream.write(d));
        upstream.on("data", (d) => {
            const delay = this.downstreamDelayMs;
            if (delay > 0) {
                setTimeout(() => client.writable && client.write(d), delay);
            } else {
                client.write(d);
            }
        });
        const close = () => {
            client.destroy();
            upstream.destroy();
            this.sockets.delete(client);
            this.sockets.delete(upstream);
        };
        client.on("close", close).on("error", close);
        upstream.on("close", close).on("error", close);
    }

    cutAll(): void {
        for (const s of this.sockets) {
            s.destroy();
        }
        this.sockets.clear();
    }

    async close(): Promise<void> {
        this.cutAll();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}
