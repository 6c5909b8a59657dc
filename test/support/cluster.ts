// Access to the real single-node Slurm test cluster started by test/cluster/setup.sh.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import type { SlurmJobInputs, SshConnection } from "../../providers/slurm/types";
import { SLURM_JOB_DEFAULTS } from "../../providers/slurm/provider";
import { parseJobComment } from "../../providers/slurm/ownership";

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
    return [
        "-i",
        USER_KEY_PATH,
        "-p",
        String(port),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
    ];
}

/** Runs a command on the cluster out of band (OpenSSH, not the provider's pool), as `user`. */
export function onCluster(command: string, user = TEST_USER): { code: number; stdout: string; stderr: string } {
    const r = spawnSync("ssh", [...sshOptions(), `${user}@127.0.0.1`, command], { encoding: "utf8", timeout: 60_000 });
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

/** Jobs of a user that carry a tag (by --comment, "<tag> script=... attempt=..."), from slurmctld. */
export function jobsWithTag(tag: string, user = TEST_USER): string[] {
    const out = onCluster(`squeue -h -t all -u ${user} -o '%i|%k'`).stdout;
    return out
        .split("\n")
        .filter((l) => l.includes("|") && parseJobComment(l.slice(l.indexOf("|") + 1)).ownerTag === tag)
        .map((l) => l.split("|")[0]);
}

/** Jobs carrying a tag that have not ended (PENDING, RUNNING, ...). */
export function liveJobsWithTag(tag: string, user = TEST_USER): string[] {
    const out = onCluster(`squeue -h -u ${user} -o '%i|%k'`).stdout;
    return out
        .split("\n")
        .filter((l) => l.includes("|") && parseJobComment(l.slice(l.indexOf("|") + 1)).ownerTag === tag)
        .map((l) => l.split("|")[0]);
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

/** Where the next connection through a FaultProxy is cut: after so many bytes, or so many ms. */
export interface CutPlan {
    /** Cut once this many bytes went in `direction` (server->client "down", client->server "up", "both" summed). */
    afterBytes?: number;
    direction?: "down" | "up" | "both";
    /** Cut this many ms after the TCP connection was accepted. */
    afterMs?: number;
    /** Instead of closing, stop forwarding and keep both sockets open (a silent network). */
    stall?: boolean;
}

/** What one connection through a FaultProxy carried, and whether its plan's cut happened. */
export interface ConnectionRecord {
    plan?: CutPlan;
    cut: boolean;
    down: number;
    up: number;
    openedAt: number;
    closedAt?: number;
}

/**
 * A TCP proxy on 127.0.0.1 in front of the test sshd. It can delay what the
 * server sends (so a test can act while a reply is in flight), cut every
 * connection at once, as a dropped VPN or login-node reboot would, or cut (or
 * silence) a connection at a chosen byte count or moment (`planNext`).
 */
export class FaultProxy {
    private server: net.Server;
    private sockets = new Set<net.Socket>();
    private plans: CutPlan[] = [];
    downstreamDelayMs = 0;
    connections = 0;
    /** Bytes forwarded server->client over all connections (to place cuts across a whole create). */
    bytesDown = 0;
    /** Close every new connection at once (a login node that went away). */
    refuseNew = false;
    /** How many planned cuts happened. */
    cuts = 0;
    /** One record per accepted connection, in order. */
    records: ConnectionRecord[] = [];

    constructor(private target = SSH_PORT) {
        this.server = net.createServer((client) => this.accept(client));
    }

    async listen(): Promise<number> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        return (this.server.address() as net.AddressInfo).port;
    }

    /** The next accepted connection follows this plan (plans are used in order, one per connection). */
    planNext(plan: CutPlan): void {
        this.plans.push(plan);
    }

    private accept(client: net.Socket): void {
        this.connections += 1;
        if (this.refuseNew) {
            client.destroy();
            return;
        }
        const plan = this.plans.shift();
        const record: ConnectionRecord = { plan, cut: false, down: 0, up: 0, openedAt: Date.now() };
        this.records.push(record);
        const upstream = net.connect(this.target, "127.0.0.1");
        this.sockets.add(client);
        this.sockets.add(upstream);
        let down = 0;
        let up = 0;
        let cut = false;
        let timer: NodeJS.Timeout | undefined;
        const close = () => {
            record.closedAt ??= Date.now();
            clearTimeout(timer);
            client.destroy();
            upstream.destroy();
            this.sockets.delete(client);
            this.sockets.delete(upstream);
        };
        const doCut = () => {
            if (!cut) {
                cut = true;
                record.cut = true;
                this.cuts += 1;
                if (!plan?.stall) {
                    close();
                }
            }
        };
        if (plan?.afterMs !== undefined) {
            timer = setTimeout(doCut, plan.afterMs);
        }
        // Forwards at most what the plan allows, then cuts.
        const forward = (chunk: Buffer, dir: "down" | "up", to: net.Socket, delay: number) => {
            if (cut) {
                return;
            }
            let data = chunk;
            if (plan?.afterBytes !== undefined && (plan.direction ?? "down") !== (dir === "down" ? "up" : "down")) {
                const sent = (plan.direction ?? "down") === "both" ? down + up : dir === "down" ? down : up;
                const room = plan.afterBytes - sent;
                if (room < data.length) {
                    data = data.subarray(0, Math.max(0, room));
                    if (data.length > 0) {
                        to.write(data);
                    }
                    doCut();
                    return;
                }
            }
            if (dir === "down") {
                down += data.length;
                record.down += data.length;
                this.bytesDown += data.length;
            } else {
                up += data.length;
                record.up += data.length;
            }
            if (delay > 0) {
                setTimeout(() => to.writable && !cut && to.write(data), delay);
            } else {
                to.write(data);
            }
        };
        client.on("data", (d: Buffer) => forward(d, "up", upstream, 0));
        upstream.on("data", (d: Buffer) => forward(d, "down", client, this.downstreamDelayMs));
        client.on("close", close).on("error", close);
        upstream.on("close", close).on("error", close);
    }

    /**
     * Whether the connection that took `plan` was cut. A connection that ended before its cut point
     * (it carried fewer bytes, or lived shorter, than planned) was not: its record says what it did
     * carry, so a caller can place the cut again inside it. Waits (bounded) for that connection to end.
     */
    async outcomeOf(plan: CutPlan, waitMs = 15_000): Promise<ConnectionRecord> {
        const deadline = Date.now() + waitMs;
        for (;;) {
            const record = this.records.find((r) => r.plan === plan);
            if (record !== undefined && (record.cut || record.closedAt !== undefined)) {
                return record;
            }
            if (Date.now() > deadline) {
                throw new Error(
                    `FaultProxy: the connection planned as ${JSON.stringify(plan)} ${record === undefined ? "never came" : "neither cut nor ended"} within ${waitMs} ms`,
                );
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    cutAll(): void {
        for (const s of this.sockets) {
            s.destroy();
        }
        this.sockets.clear();
    }

    async close(): Promise<void> {
        this.plans = [];
        this.cutAll();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}
