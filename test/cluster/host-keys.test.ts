// Several pinned host keys for one name, against the cluster's real sshd, with both transports: a
// load-balanced login name (hpg.rc.ufl.edu) may be answered by any of its nodes, each with its own key, so
// hostKey may hold one key per line and any of them is accepted; none of them matching still refuses.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { closeAllConnections, runRemote } from "../../providers/remote/remote";
import { HOST_KEY_PATH, USER_KEY_PATH, requireClusterOrSkip, testConnection } from "../support/cluster";
import { HPG_CONNECTION_MESSAGES } from "../../components/hpg/site";

const ready = requireClusterOrSkip();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-hostkeys-"));

/** The public half of a fresh key: another node's key, as far as this server is concerned. */
function otherNodeKey(name: string, type: "ed25519" | "ecdsa" = "ed25519"): string {
    const file = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", file]);
    return fs.readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

describe.skipIf(!ready)("several pinned host keys", () => {
    const real = ready ? fs.readFileSync(HOST_KEY_PATH, "utf8").trim().split(" ").slice(0, 2).join(" ") : "";
    const nodeB = ready ? otherNodeKey("b") : "";
    const nodeC = ready ? otherNodeKey("c", "ecdsa") : "";
    afterEach(() => closeAllConnections());
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    // As the hpg stack builds it (components/hpg/site.ts): the error names hpgHostKey.
    const messages = HPG_CONNECTION_MESSAGES;
    const connection = (transport: "ssh2" | "openssh", hostKey: string) =>
        transport === "ssh2"
            ? testConnection({ transport, hostKey, messages })
            : testConnection({
                  transport,
                  hostKey,
                  messages,
                  privateKey: undefined,
                  identityFile: USER_KEY_PATH,
                  controlPath: path.join(dir, `cm-${Date.now()}-%C`),
              });

    describe.each(["ssh2", "openssh"] as const)("%s transport", (transport) => {
        it.each<[string, () => string]>([
            ["the server's key second, after another node's", () => `${nodeB}\n${real}`],
            ["the server's key first", () => `${real}\n${nodeB}\n`],
            ["another node's key of another type first (ECDSA), then the server's ed25519", () => `${nodeC}\n${real}`],
        ])("connects when any line is the server's key: %s", async (_what, keys) => {
            expect((await runRemote(connection(transport, keys()), ["true"])).code).toBe(0);
        });

        it("refuses when none of the lines is the server's key", async () => {
            await expect(runRemote(connection(transport, `${nodeB}\n${nodeC}`), ["true"])).rejects.toThrow(
                /host key does not match connection\.hostKey \(hpgHostKey; none of its lines\)/,
            );
        });
    });
});
