// scripts/podman/wait-ready.js: its argument parsing and the STUN Binding Request it sends the TURN relay.
import { createRequire } from "node:module";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const require = createRequire(__filename);
const waitReady = require(path.resolve(__dirname, "..", "..", "scripts", "podman", "wait-ready.js")) as {
    parseArgs(argv: string[]): { stun: string[]; iceConfig: string[] };
    stunBindingRequest(id: Buffer): Buffer;
    stunResponseProblem(msg: Buffer, id: Buffer): string;
};

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
