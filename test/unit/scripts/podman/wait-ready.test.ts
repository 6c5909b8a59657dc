// scripts/podman/wait-ready.js: its argument parsing and the STUN Binding Request it sends the TURN relay.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const require = createRequire(__filename);
const waitReady = require(path.resolve(__dirname, "..", "..", "..", "..", "scripts", "podman", "wait-ready.js")) as {
    parseArgs(argv: string[]): { stun: string[]; iceConfig: string[] };
    stunBindingRequest(id: Buffer): Buffer;
    stunResponseProblem(msg: Buffer, id: Buffer): string;
    runningCheck(podman: string, name: string, inspector?: Inspector): () => Promise<string>;
    containerInspector(podman: string, names: string[]): Inspector;
};
type Inspector = { get(name: string): { status: string; restarts: string; startedAt: number }; newRound(): void };

const id = Buffer.from("0102030405060708090a0b0c", "hex");

describe("STUN Binding Request (RFC 5389)", () => {
    it("is a 20-byte header: type 0x0001, length 0, magic cookie 0x2112A442, the transaction id", () => {
        expect(waitReady.stunBindingRequest(id).toString("hex")).toBe("00010000" + "2112a442" + "0102030405060708090a0b0c");
    });

    it("refuses a transaction id that is not 12 bytes", () => {
        expect(() => waitReady.stunBindingRequest(Buffer.alloc(8))).toThrow(/12 bytes/);
    });

    const answer = (type: number, cookie = 0x2112a442, tid = id) => {
        const b = Buffer.alloc(32);
        b.writeUInt16BE(type, 0);
        b.writeUInt16BE(12, 2);
        b.writeUInt32BE(cookie, 4);
        tid.copy(b, 8);
        return b;
    };
    it.each([
        { label: "Binding success", msg: answer(0x0101), problem: "" },
        { label: "Binding error", msg: answer(0x0111), problem: "message type 0x0111 instead of 0x0101 (Binding success)" },
        { label: "no cookie", msg: answer(0x0101, 0), problem: "no STUN magic cookie" },
        { label: "another transaction", msg: answer(0x0101, 0x2112a442, Buffer.alloc(12)), problem: "another transaction id" },
        { label: "too short", msg: Buffer.alloc(4), problem: "4 bytes, not a STUN message" },
    ])("answer: $label", ({ msg, problem }) => {
        expect(waitReady.stunResponseProblem(msg, id)).toBe(problem);
    });
});

describe("parseArgs", () => {
    it("takes --stun HOST:PORT and --ice-config URL, repeatedly", () => {
        expect(waitReady.parseArgs(["--stun", "127.0.0.1:3478", "--ice-config", "http://127.0.0.1:8080/config"])).toMatchObject({
            stun: ["127.0.0.1:3478"],
            iceConfig: ["http://127.0.0.1:8080/config"],
        });
    });
    it("refuses --stun without a port", () => {
        expect(() => waitReady.parseArgs(["--stun", "127.0.0.1"])).toThrow(/--stun wants HOST:PORT/);
    });
});

describe("--running: a container that stays up", () => {
    // A stub `podman inspect` answering "<status> <restart count> [<StartedAt in ms>]" from a script per case.
    it.each([
        { container: "steady", answers: "echo unity-server running 0", passes: true },
        // Up 5 s since its start: passes on the first look.
        { container: "up 5 s", answers: "echo unity-server running 0 $(( $(date +%s%3N) - 5000 ))", passes: true, firstLook: true },
        // Started again just now at every look (a crash loop; the same count, so only StartedAt tells): never up 1 s.
        { container: "started again at each look", answers: "echo unity-server running 0 $(date +%s%3N)", passes: false },
        // --restart on-failure: a player that exits at start is running again with a higher count each look.
        { container: "restarting", answers: 'n=$(cat "$0.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.n"; echo unity-server running $n', passes: false },
        { container: "exited", answers: "echo unity-server exited 0", passes: false },
        { container: "missing", answers: "echo 'no such container' >&2; exit 125", passes: false },
    ])("$container -> passes: $passes", async ({ answers, passes, firstLook }) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-running-"));
        try {
            const podman = path.join(dir, "podman");
            fs.writeFileSync(podman, `#!/bin/sh\n${answers}\n`, { mode: 0o755 });
            const check = waitReady.runningCheck(podman, "unity-server");
            // Looks 600 ms apart over 3 s, as the wait loop would.
            let result: string | undefined;
            const errors: string[] = [];
            for (let i = 0; i < 5 && result === undefined; i++) {
                result = await check().catch((e: Error) => {
                    errors.push(e.message);
                    return undefined;
                });
                await new Promise((r) => setTimeout(r, 600));
            }
            expect(result !== undefined, errors.join("; ")).toBe(passes);
            if (passes) {
                expect(result).toBe("running (restarts 0)");
                // Without StartedAt: seen once, then seen again under 1 s later, then passed.
                expect(errors).toEqual(firstLook ? [] : ["running (restarts 0), looking again", "running, looking again"]);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("one podman inspect per round for every --running container", () => {
    // A stub podman that counts its runs and answers for two of the three names it is given (the third is gone).
    function stub(): { podman: string; runs: () => number; dir: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-inspect-"));
        const podman = path.join(dir, "podman");
        // Each answer says the containers started 100 ms before it: however slow the machine, every look finds them in their first second.
        fs.writeFileSync(
            podman,
            `#!/bin/sh\necho x >> "$0.runs"\nt=$(( $(date +%s%3N) - 100 ))\necho "mas running 0 $t"\necho "player running 2 $t"\n` +
                `echo 'Error: inspecting object: no such object: "gone"' >&2\nexit 125\n`,
            { mode: 0o755 },
        );
        const runs = () => (fs.existsSync(`${podman}.runs`) ? fs.readFileSync(`${podman}.runs`, "utf8").split("\n").filter(Boolean).length : 0);
        return { podman, runs, dir };
    }

    it("the checks of a round share one answer; the next round asks again", async () => {
        const { podman, runs, dir } = stub();
        try {
            const inspector = waitReady.containerInspector(podman, ["mas", "player", "gone"]);
            const checks = ["mas", "player", "gone"].map((n) => waitReady.runningCheck(podman, n, inspector));
            const round = () => Promise.all(checks.map((c) => c().then(String, (e: Error) => e.message)));
            inspector.newRound();
            const first = await round();
            expect(runs()).toBe(1);
            // Up 100 ms: each says when its first second is over; the one podman does not know gets podman's words.
            expect(first[0]).toMatch(/^running for \d+ ms, looking again$/);
            expect(first[1]).toMatch(/^running for \d+ ms, looking again$/);
            expect(first[2]).toBe('Error: inspecting object: no such object: "gone"');
            inspector.newRound();
            await round();
            expect(runs()).toBe(2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a container in its first second says how long until it can pass (the wait sleeps no longer)", async () => {
        const { podman, dir } = stub();
        try {
            const err = (await waitReady
                .runningCheck(podman, "mas")()
                .then(
                    () => undefined,
                    (e: unknown) => e,
                )) as { inMs?: number; message: string };
            expect(err.message).toMatch(/^running for \d+ ms, looking again$/);
            // Started 100 ms before podman answered: about 900 ms to go (a little less by the time the check computes it).
            expect(err.inMs).toBeGreaterThan(0);
            expect(err.inMs).toBeLessThanOrEqual(900);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
