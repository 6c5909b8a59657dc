// A tunnel that follows the service chain's renewals (docs/hpg-renewal.md): a local port whose
// connections go, through the login node, to the node:port the cluster's current-endpoint file
// names. The file is read over the one login (its OpenSSH master: no second login, no second-factor
// prompt, no scheduler query); each new local connection is a new channel of that login
// (`ssh -W`), to the endpoint read last. When the file names another job, new connections go there;
// open ones stay with the old job, which serves until it ends after the handover.
import { spawn } from "node:child_process";
import * as net from "node:net";
import { forwardArgv, openSshMaster, runRemote, type SshConnection } from "../../providers/remote";

export interface Endpoint {
    node: string;
    port: number;
    jobId: string;
}

/** "node port jobid" (the endpoint file's one line); undefined when it is not that. */
export function parseEndpointLine(text: string): Endpoint | undefined {
    const m = /^([A-Za-z0-9._-]+) ([0-9]{1,5}) ([0-9]+)$/.exec(text.trim());
    return m === null ? undefined : { node: m[1], port: Number(m[2]), jobId: m[3] };
}

export interface TunnelOptions {
    connection: SshConnection;
    endpointFile: string;
    /** Local port (0 = any free one). */
    localPort: number;
    /** Local address to listen on. */
    bind?: string;
    /** Seconds between reads of the endpoint file (a `cat` over the login; no scheduler query). */
    checkSeconds: number;
    log: (line: string) => void;
}

export interface Tunnel {
    port: number;
    current(): Endpoint;
    /** Endpoint reads so far, and how many of them found a new endpoint. */
    stats(): { reads: number; switches: number; connections: number };
    close(): Promise<void>;
}

/** Opens the login (once), reads the endpoint, listens, and re-reads the endpoint every checkSeconds. */
export async function startTunnel(o: TunnelOptions): Promise<Tunnel> {
    if (o.connection.transport !== "openssh") {
        throw new Error('the tunnel forwards over an OpenSSH master: set hpgSshTransport to "openssh" (the default)');
    }
    const master = await openSshMaster(o.connection);
    let reads = 0;
    let switches = 0;
    let connections = 0;
    const read = async (): Promise<Endpoint> => {
        reads += 1;
        const r = await runRemote(o.connection, ["cat", "--", o.endpointFile], { defaultTimeoutSeconds: 30 });
        const e = parseEndpointLine(r.stdout);
        if (r.code !== 0 || e === undefined) {
            throw new Error(
                `reading the endpoint file ${o.endpointFile} failed (${r.stderr.trim() || `exit ${r.code}`}): is the service up? \`npm run status\``,
            );
        }
        return e;
    };
    let endpoint = await read();
    o.log(`service: job ${endpoint.jobId} at ${endpoint.node}:${endpoint.port}`);
    let refreshing: Promise<void> | undefined;
    const refresh = () =>
        (refreshing ??= read()
            .then((e) => {
                if (e.node !== endpoint.node || e.port !== endpoint.port || e.jobId !== endpoint.jobId) {
                    switches += 1;
                    o.log(
                        `renewed: job ${endpoint.jobId} at ${endpoint.node}:${endpoint.port} -> job ${e.jobId} at ${e.node}:${e.port}; new connections go there`,
                    );
                    endpoint = e;
                }
            })
            .catch((err: Error) => o.log(`endpoint not read (kept ${endpoint.node}:${endpoint.port}): ${err.message}`))
            .finally(() => {
                refreshing = undefined;
            }));
    const children = new Set<ReturnType<typeof spawn>>();
    // A stream that fails before the service sent a byte went to an endpoint that has just moved (the old job
    // ends right after the handover): the endpoint is read again and the stream tried once more there,
    // with what the client sent so far, so the client sees no failure.
    const server = net.createServer((socket) => {
        connections += 1;
        const sent: Buffer[] = [];
        let got = false;
        let closed = false;
        socket.on("data", (c: Buffer) => {
            if (!got) {
                sent.push(c);
            }
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            closed = true;
        });
        const connect = (to: Endpoint, retry: boolean) => {
            const argv = forwardArgv(master.target, to.node, to.port);
            const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
            children.add(child);
            child.stdin.on("error", () => undefined);
            for (const c of sent) {
                child.stdin.write(c);
            }
            const forward = (c: Buffer) => child.stdin.write(c);
            socket.on("data", forward);
            child.stdout.on("data", (c: Buffer) => {
                got = true;
                socket.write(c);
            });
            socket.on("close", () => child.kill());
            child.on("exit", () => {
                children.delete(child);
                socket.off("data", forward);
                if (!got && retry && !closed) {
                    void refresh().then(() => connect(endpoint, false));
                    return;
                }
                socket.end();
            });
        };
        connect(endpoint, true);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.localPort, o.bind ?? "127.0.0.1", () => resolve());
    });
    const timer = setInterval(() => void refresh(), o.checkSeconds * 1000);
    return {
        port: (server.address() as net.AddressInfo).port,
        current: () => endpoint,
        stats: () => ({ reads, switches, connections }),
        close: async () => {
            clearInterval(timer);
            for (const c of children) {
                c.kill();
            }
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
