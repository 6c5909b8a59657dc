// The pubapps transport's logins against a real sshd that asks for a password (the second-factor
// sshd on 127.0.0.1:2224 in "password" mode, as UF's port 22 asks for the GatorLink password): at
// either hop the askpass refuses the prompt, and the error names the config key, its value and the fix.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import type { PubappsConfig } from "../../components/pubapps/config";
import { pubappsTransport } from "../../components/pubapps/plan";
import { closeCommand, remoteCommand, transportEnvironment } from "../../components/pubapps/transport";
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
        // Duo answers configured: ssh may prompt, through the askpass (the answer itself is transportEnvironment's).
        mfaAnswers: pulumi.output(["1"]),
    } as unknown as PubappsConfig;
}

describe.skipIf(!ready)("pubapps logins that meet a password prompt", () => {
    afterAll(() => {
        setMode("totp");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it.each<["jump" | "instance", RegExp]>([
        [
            "jump",
            /sparc-deploy: the jump host 127\.0\.0\.1: pubappsJumpPort = 2224: that port asked for a password instead of taking the key\. Fix: `pulumi config set pubappsJumpPort 2222` .*UF federated users log in with a key on port 22/,
        ],
        [
            "instance",
            /sparc-deploy: pubappsPort = 2224: the instance 127\.0\.0\.1 asked for a password, so it did not take your key\. Fix: give the key UF RC installed for hpcuser/,
        ],
    ])(
        "the %s hop: the prompt is refused unanswered and the error names the key, its value and the fix",
        async (hop, expected) => {
            setMode("password", "1");
            const before = tfaCounts();
            const t = pubappsTransport(config(hop));
            const r = spawnSync("bash", ["-c", remoteCommand(t, ["true"])], {
                encoding: "utf8",
                env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...transportEnvironment("1") },
                timeout: 60_000,
            });
            spawnSync("bash", ["-c", closeCommand(t)], { timeout: 15_000 });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/slurm-provider-refused-prompt: (\(hpcuser@127\.0\.0\.1\) )?Password:/);
            expect(r.stderr).toMatch(expected);
            await settle();
            const d = countsSince(before);
            // Asked once, never answered (ssh was stopped instead of sending "1" as a password).
            expect(d.accepted).toBe(0);
            expect(d.prompts).toEqual([expect.stringMatching(/mode=password prompt user=hpcuser asked$/)]);
        },
        90_000,
    );
});
