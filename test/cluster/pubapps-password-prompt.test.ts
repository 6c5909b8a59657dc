// The pubapps stack's logins (its connection: the instance through the jump host, providers/remote's
// openssh transport) against a real sshd that asks for a password (the second-factor sshd on
// 127.0.0.1:2224 in "password" mode, as UF's port 22 asks for the GatorLink password): at either hop the
// askpass refuses the prompt, and the error names that hop's config key, its value and the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import type { PubappsConfig } from "../../components/pubapps/config";
import { pubappsConnection } from "../../components/pubapps/plan";
import { closeAllConnections, runRemote } from "../../providers/remote";
import { SSH_PORT, TEST_USER, USER_KEY_PATH, requireClusterOrSkip } from "../support/cluster";
import { TFA_PORT, countsSince, requireSecondFactorOrSkip, setMode, settle, tfaCounts, tfaHostKey } from "../support/second-factor";

const ready = requireClusterOrSkip() && requireSecondFactorOrSkip();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-pubapps-pw-"));

function config(hop: "jump" | "instance"): PubappsConfig {
    // The hop under test is the second-factor sshd; the other one is the cluster's sshd (never reached when the jump hop fails).
    const tfa = { host: "127.0.0.1", port: TFA_PORT, hostKey: tfaHostKey() };
    const plain = { host: "127.0.0.1", port: SSH_PORT, hostKey: tfaHostKey() };
    const instance = hop === "instance" ? tfa : plain;
    return {
        host: instance.host,
        port: instance.port,
        user: TEST_USER,
        hostKey: instance.hostKey,
        jumpHost: hop === "jump" ? tfa.host : "",
        jumpPort: tfa.port,
        jumpUser: TEST_USER,
        jumpHostKey: tfa.hostKey,
        insecureIgnoreHostKey: false,
        identityFile: USER_KEY_PATH,
        controlPath: path.join(dir, `cm-${hop}-%C`),
        // Duo answers configured: ssh may prompt, through the askpass.
        mfaAnswers: pulumi.output(["1"]),
    } as unknown as PubappsConfig;
}

describe.skipIf(!ready)("pubapps logins that meet a password prompt", () => {
    afterAll(() => {
        closeAllConnections();
        setMode("totp");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it.each<["jump" | "instance", RegExp]>([
        [
            "jump",
            /connection to hpcuser@127\.0\.0\.1:2224: the server asked for a password .*connection\.port \(pubappsJumpPort\) = 2224: that port asked for a password instead of taking the key\. Fix: `pulumi config set pubappsJumpPort 2222` .*UF federated users log in with a key on port 22/,
        ],
        [
            "instance",
            /connection to hpcuser@127\.0\.0\.1:2224: the server asked for a password .*connection\.port \(pubappsPort\) = 2224: that port asked for a password instead of taking the key\. Fix: give the key UF RC installed for hpcuser on the instance 127\.0\.0\.1/,
        ],
    ])(
        "the %s hop: the prompt is refused unanswered and the error names the key, its value and the fix",
        async (hop, expected) => {
            setMode("password", "1");
            const before = tfaCounts();
            const cfg = config(hop);
            const err = await runRemote(pubappsConnection(cfg, ["1"]), ["true"], { timeoutSeconds: 60 }).catch((e: unknown) => e as Error);
            closeAllConnections();
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).message).toMatch(/asked for a password or passphrase \("(\(hpcuser@127\.0\.0\.1\) )?Password: ?"\)/);
            expect((err as Error).message).toMatch(expected);
            expect((err as Error).message).not.toContain('"1"');
            await settle();
            const d = countsSince(before);
            // Asked once, never answered (ssh was stopped instead of sending "1" as a password).
            expect(d.accepted).toBe(0);
            expect(d.prompts).toEqual([expect.stringMatching(/mode=password prompt user=hpcuser asked$/)]);
        },
        90_000,
    );
});
