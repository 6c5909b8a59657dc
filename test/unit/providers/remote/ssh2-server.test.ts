// The ssh2 transport against an in-process ssh2.Server (after pulumi-command's
// util/testutil/test_ssh_server.go): pooling, a refused channel, the dial bound and the
// keyboard-interactive refusals, with no sshd and no cluster. Keys are generated per run; the server
// runs each command with the local /bin/sh, so the output marker is handled as on a real host.
// The real-sshd tier (test/cluster/ssh2-bounds.test.ts, second-factor.test.ts) stays beside it.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Server, utils, type Connection, type ServerChannel } from "ssh2";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ChannelRefusedError, SshConnectError, sshPool, type SshConnection } from "../../../../providers/remote/connection";
import { closeSsh2Connections, runSsh2 } from "../../../../providers/remote/ssh2";

const hostKey = utils.generateKeyPairSync("ed25519");
const userKey = utils.generateKeyPairSync("ed25519");
const userPublic = ((parsed) => {
    if (parsed instanceof Error) {
        throw parsed;
    }
    return parsed;
})(utils.parseKey(userKey.public));

interface ServerOptions {
    /** After the key, ask this keyboard-interactive prompt (a second factor); the login completes only if the answer is `expect`. */
    prompt?: { text: string; expect: string };
    /** Refuse this many session channels before accepting any. */
    refuseSessions?: number;
    /** Hold every command until this many sessions are open at once (shows the pool's parallelism exactly). */
    holdUntilOpen?: number;
}

interface TestServer {
    port: number;
    connections: number;
    /** Authentication methods the client tried, in order. */
    methods: string[];
    /** Answers the client gave to keyboard-interactive prompts. */
    answers: string[][];
    refused: number;
    /** Ports this server forwarded to as a jump host. */
    forwards: number[];
    open: number;
    maxOpen: number;
    close(): Promise<void>;
}

/** An SSH server on 127.0.0.1 (a free port) that takes userKey and runs commands with /bin/sh. */
async function startServer(options: ServerOptions = {}): Promise<TestServer> {
    let releaseHeld: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    if (options.holdUntilOpen === undefined) {
        releaseHeld();
    }
    const clients = new Set<Connection>();
    const state: Omit<TestServer, "port" | "close"> = { connections: 0, methods: [], answers: [], refused: 0, forwards: [], open: 0, maxOpen: 0 };
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
        state.connections += 1;
        clients.add(client);
        let keyAccepted = false;
        client.on("error", () => undefined);
        client.on("close", () => clients.delete(client));
        client.on("authentication", (ctx) => {
            state.methods.push(ctx.method);
            if (ctx.method === "publickey") {
                const sameKey = ctx.key.algo === userPublic.type && ctx.key.data.equals(userPublic.getPublicSSH());
                if (!sameKey || (ctx.signature !== undefined && !userPublic.verify(ctx.blob!, ctx.signature, ctx.hashAlgo))) {
                    ctx.reject(["publickey"]);
                } else if (ctx.signature === undefined) {
                    ctx.accept(); // the client's "would this key do?" query
                } else if (options.prompt === undefined) {
                    ctx.accept();
                } else {
                    keyAccepted = true;
                    ctx.reject(["keyboard-interactive"], true); // partial success: the key, then the second factor
                }
            } else if (ctx.method === "keyboard-interactive" && keyAccepted && options.prompt !== undefined) {
                const { text, expect: wanted } = options.prompt;
                ctx.prompt([{ prompt: text, echo: false }], (answers) => {
                    state.answers.push(answers);
                    if (answers.length === 1 && answers[0] === wanted) {
                        ctx.accept();
                    } else {
                        ctx.reject();
                    }
                });
            } else {
                ctx.reject(keyAccepted ? ["keyboard-interactive"] : ["publickey"], keyAccepted);
            }
        });
        client.on("session", (accept, reject) => {
            if (state.refused < (options.refuseSessions ?? 0)) {
                state.refused += 1;
                reject();
                return;
            }
            const session = accept();
            state.open += 1;
            state.maxOpen = Math.max(state.maxOpen, state.open);
            if (state.open >= (options.holdUntilOpen ?? 0)) {
                releaseHeld();
            }
            session.on("close", () => (state.open -= 1));
            session.on("exec", (acceptExec, _rejectExec, info) => {
                const channel = acceptExec();
                void held.then(() => runShell(channel, info.command));
            });
        });
        // A jump host: a direct-tcpip channel to another server on this machine.
        client.on("tcpip", (accept, reject, info) => {
            state.forwards.push(info.destPort);
            const socket = net.connect(info.destPort, info.destIP);
            socket.once("error", () => reject());
            socket.once("connect", () => {
                const channel = accept();
                channel.pipe(socket).pipe(channel);
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    return Object.assign(state, {
        port,
        close: async () => {
            for (const c of clients) {
                c.end();
            }
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    }) as TestServer;
}

function runShell(channel: ServerChannel, command: string): void {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    channel.pipe(child.stdin);
    child.stdout.pipe(channel, { end: false });
    child.stderr.pipe(channel.stderr, { end: false });
    child.on("close", (code) => {
        channel.exit(code ?? 255);
        channel.end();
    });
}

function connection(port: number, extra: Partial<SshConnection> = {}): SshConnection {
    return {
        host: "127.0.0.1",
        port,
        user: "hpcuser",
        privateKey: userKey.private,
        hostKey: hostKey.public,
        dialAttempts: 1,
        dialTimeoutSeconds: 10,
        ...extra,
    };
}

const servers: TestServer[] = [];
async function server(options?: ServerOptions): Promise<TestServer> {
    const s = await startServer(options);
    servers.push(s);
    return s;
}

beforeAll(() => {
    // The environment's answers win over configured ones (prompts.ts): this file decides its own.
    vi.stubEnv("SLURM_PROVIDER_MFA_ANSWERS", "");
    vi.stubEnv("SPARC_HPG_MFA_ANSWERS", "");
});
afterEach(async () => {
    closeSsh2Connections();
    await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => {
    vi.unstubAllEnvs();
});

describe("ssh2 transport: pooling", () => {
    it("runs many concurrent commands over one login, at most maxChannels channels at once, each with its own output", async () => {
        const s = await server({ holdUntilOpen: sshPool().maxChannels });
        const conn = connection(s.port);
        const before = sshPool().stats.handshakes;
        const results = await Promise.all(Array.from({ length: 12 }, (_x, i) => runSsh2(conn, ["echo", `command ${i}`, "it's quoted"])));
        expect(results.map((r) => [r.code, r.stdout, r.stderr])).toEqual(Array.from({ length: 12 }, (_x, i) => [0, `command ${i} it's quoted\n`, ""]));
        expect(s.connections).toBe(1);
        expect(sshPool().stats.handshakes - before).toBe(1);
        expect(s.maxOpen).toBe(sshPool().maxChannels);
        // The next command reuses the pooled login.
        expect((await runSsh2(conn, ["sh", "-c", "echo out; echo err >&2; exit 3"])).code).toBe(3);
        expect(s.connections).toBe(1);
    });

    it("passes stdin and reports stderr and the exit status", async () => {
        const s = await server();
        const r = await runSsh2(connection(s.port), ["sh", "-c", "cat; echo oops >&2; exit 7"], { stdin: "batch script\n" });
        expect(r).toMatchObject({ code: 7, stdout: "batch script\n", stderr: "oops\n" });
    });
});

describe("ssh2 transport: a refused channel", () => {
    it("is tried again on the same login (nothing ran), and the command then runs once", async () => {
        const s = await server({ refuseSessions: 2 });
        const r = await runSsh2(connection(s.port), ["echo", "ran"]);
        expect(r.stdout).toBe("ran\n");
        expect(s.refused).toBe(2);
        expect(s.connections).toBe(1);
    });

    it("fails as ChannelRefusedError (did not run) after 5 refusals", async () => {
        const s = await server({ refuseSessions: 1000 });
        const err = await runSsh2(connection(s.port), ["echo", "ran"]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ChannelRefusedError);
        expect((err as Error).message).toMatch(/^cannot open an SSH channel on hpcuser@127\.0\.0\.1:\d+: /);
        expect(s.refused).toBe(5);
    });
});

describe("ssh2 transport: the dial bound", () => {
    it("gives up on a server that accepts TCP and never speaks, once per attempt, with the bound and its key in the error", async () => {
        const sockets: net.Socket[] = [];
        const closed: Promise<void>[] = [];
        const silent = net.createServer((sock) => {
            sockets.push(sock);
            closed.push(new Promise((resolve) => sock.on("close", () => resolve())));
        });
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as net.AddressInfo).port;
        try {
            const err = await runSsh2(connection(port, { dialTimeoutSeconds: 0.5, dialAttempts: 2 }), ["true"]).catch((e: unknown) => e);
            expect(err).toBeInstanceOf(SshConnectError);
            expect((err as SshConnectError).retryable).toBe(true);
            expect((err as Error).message).toBe(
                `connection to hpcuser@127.0.0.1:${port} did not complete (TCP, key exchange and authentication) within 0.5 s (connection.dialTimeoutSeconds)`,
            );
            expect(sockets).toHaveLength(2);
            // The abandoned clients' sockets close inside this test: a late ssh2 "error" from them
            // (formerly uncaught: a provider crash) would fail this file.
            sockets.forEach((s) => s.destroy());
            await Promise.all(closed);
            for (let i = 0; i < 3; i++) {
                await new Promise((resolve) => setImmediate(resolve));
            }
        } finally {
            sockets.forEach((s) => s.destroy());
            await new Promise<void>((resolve) => silent.close(() => resolve()));
        }
    });
});

describe("ssh2 transport: keyboard-interactive", () => {
    it("answers a second-factor prompt with the configured answer, after the key", async () => {
        const s = await server({ prompt: { text: "Passcode or option (1-3): ", expect: "push" } });
        const r = await runSsh2(connection(s.port, { keyboardInteractiveAnswers: ["push"] }), ["echo", "in"]);
        expect(r.stdout).toBe("in\n");
        expect(s.answers).toEqual([["push"]]);
    });

    it("without configured answers does not try keyboard-interactive: the login fails at once, not retried, naming the fix", async () => {
        const s = await server({ prompt: { text: "Passcode or option (1-3): ", expect: "push" } });
        const err = await runSsh2(connection(s.port, { dialAttempts: 3 }), ["echo", "in"]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SshConnectError);
        expect((err as SshConnectError).retryable).toBe(false);
        expect((err as Error).message).toMatch(/authentication failed .*set connection\.keyboardInteractiveAnswers\./);
        expect(s.methods).not.toContain("keyboard-interactive");
        expect(s.answers).toEqual([]);
        expect(s.connections).toBe(1);
    });

    it("refuses to give the second-factor answer to a password prompt, and says why", async () => {
        const s = await server({ prompt: { text: "Password: ", expect: "push" } });
        const err = await runSsh2(connection(s.port, { keyboardInteractiveAnswers: ["push"], dialAttempts: 3 }), ["echo", "in"]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SshConnectError);
        expect((err as SshConnectError).retryable).toBe(false);
        expect((err as Error).message).toContain('the server asked for a password or passphrase ("Password:")');
        expect((err as Error).message).not.toContain("push");
        expect(s.answers).toEqual([]);
        expect(s.connections).toBe(1);
    });

    it("refuses a prompt that is not a second factor, naming the pattern key", async () => {
        const s = await server({ prompt: { text: "Favourite colour: ", expect: "push" } });
        const err = await runSsh2(connection(s.port, { keyboardInteractiveAnswers: ["push"] }), ["echo", "in"]).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(/does not look like a second-factor prompt .*mfaPromptPattern/);
        expect(s.answers).toEqual([]);
    });
});

describe("RemoteCommand through a jump host (ssh2: a direct-tcpip channel through the jump's pooled login)", () => {
    const jumped = (jump: TestServer, target: TestServer, extra: Partial<SshConnection> = {}) =>
        connection(target.port, {
            ...extra,
            jump: connection(jump.port, { messages: { keyNames: { port: "jumpPortKey" }, passwordPortFix: "use the jump's key port" } }),
        });

    it("a secret stdin reaches create; a changed one runs update in place with the new value; neither is in argv", async () => {
        const { remoteCommandProvider } = await import("../../../../providers/remote/remoteCommand");
        const [jump, target] = [await server(), await server()];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rc-stdin-"));
        const file = path.join(dir, "secret");
        const inputs = {
            connection: jumped(jump, target),
            create: ["sh", "-c", 'cat > "$1"; echo created', "sh", file],
            update: ["sh", "-c", 'cat > "$1"; echo updated', "sh", file],
            unless: [],
            stdinFile: "",
            stdin: "first value",
            delete: ["rm", "-f", file],
            triggers: [],
            timeoutSeconds: 30,
            description: "secret",
        };
        const created = await remoteCommandProvider.create(inputs);
        expect(fs.readFileSync(file, "utf8")).toBe("first value");
        expect(created.outs).toMatchObject({ stdout: "created\n", skipped: false });
        expect(JSON.stringify(created.outs.create)).not.toContain("first value");
        const news = { ...inputs, stdin: "second value" };
        expect(await remoteCommandProvider.diff!(created.id, created.outs, news)).toMatchObject({ changes: true, replaces: [] });
        const updated = await remoteCommandProvider.update!(created.id, created.outs, news);
        expect(fs.readFileSync(file, "utf8")).toBe("second value");
        expect(updated.outs).toMatchObject({ stdout: "updated\n" });
        // Without an update command a changed stdin replaces (create runs again).
        expect(await remoteCommandProvider.diff!(created.id, { ...created.outs, update: [] }, { ...news, update: [] })).toMatchObject({
            replaces: ["stdin"],
        });
        // One login at each host, the instance's through the jump's.
        expect([jump.connections, target.connections, jump.forwards]).toEqual([1, 1, [target.port]]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a state recorded before stdin and update existed compares unchanged (no replace on upgrade)", async () => {
        const { remoteCommandProvider } = await import("../../../../providers/remote/remoteCommand");
        const recorded = {
            connection: connection(1),
            create: ["true"],
            unless: [],
            stdinFile: "",
            delete: [],
            triggers: [],
            timeoutSeconds: 60,
            description: "d",
        };
        const olds = { ...recorded, stdout: "", stderr: "", skipped: false };
        expect(await remoteCommandProvider.diff!("id", olds, { ...recorded, stdin: "", update: [], deleteBeforeReplace: true })).toMatchObject({
            changes: false,
            replaces: [],
            deleteBeforeReplace: true,
        });
        // Create-first replacement on request (e.g. a new image loaded while the old one still serves).
        expect(await remoteCommandProvider.diff!("id", olds, { ...recorded, create: ["false"], deleteBeforeReplace: false })).toMatchObject({
            replaces: ["create"],
            deleteBeforeReplace: false,
        });
    });

    it("uploads a file through the jump (stdinFile), skipped when `unless` says it is there", async () => {
        const { remoteCommandProvider } = await import("../../../../providers/remote/remoteCommand");
        const [jump, target] = [await server(), await server()];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rc-upload-"));
        const [local, remote] = [path.join(dir, "a.tar"), path.join(dir, "copy.tar")];
        fs.writeFileSync(local, Buffer.alloc(300_000, 7));
        const inputs = {
            connection: jumped(jump, target),
            create: ["sh", "-c", 'cat > "$1" && echo "sent $(wc -c < "$1") bytes"', "sh", remote],
            unless: ["test", "-e", remote],
            stdinFile: local,
            stdin: "",
            update: [],
            delete: [],
            triggers: [],
            timeoutSeconds: 30,
            description: "upload",
        };
        expect((await remoteCommandProvider.create(inputs)).outs).toMatchObject({ stdout: "sent 300000 bytes\n", skipped: false });
        expect(fs.readFileSync(remote).equals(fs.readFileSync(local))).toBe(true);
        expect((await remoteCommandProvider.create(inputs)).outs).toMatchObject({ skipped: true });
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it.each<["jump" | "instance", RegExp]>([
        ["jump", /connection\.port \(jumpPortKey\) = \d+: that port asked for a password instead of taking the key\. Fix: use the jump's key port/],
        ["instance", /connection\.port \(instancePortKey\) = \d+: that port asked for a password instead of taking the key\. Fix: use the instance's key/],
    ])("a password prompt at the %s hop names that hop's key, its value and its fix", async (hop, expected) => {
        const prompt = { prompt: { text: "Password: ", expect: "push" } };
        const [jump, target] = [await server(hop === "jump" ? prompt : {}), await server(hop === "instance" ? prompt : {})];
        const conn = jumped(jump, target, {
            keyboardInteractiveAnswers: ["push"],
            messages: { keyNames: { port: "instancePortKey" }, passwordPortFix: "use the instance's key" },
        });
        conn.jump = { ...conn.jump!, keyboardInteractiveAnswers: ["push"] };
        const err = await runSsh2(conn, ["true"]).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(expected);
        expect((err as Error).message).not.toContain("push");
        expect([...jump.answers, ...target.answers]).toEqual([]);
    });
});
