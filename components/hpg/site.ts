// What the hpg stack tells the SlurmJob provider about HiPerGator and about its own config keys: the
// provider package knows neither (issue 23), so its messages name sparc-deploy's keys only because the
// connection built here carries them (connection.messages), and GPU requests are judged against this table.
import type { ConnectionMessages } from "../../providers";
import { ufKeyPortFix } from "../sshConfig";

/**
 * HiPerGator's partitions as UF RC and user notes describe them (checked 2026-11-30; see docs/hpg.md).
 * GPUs are requested by type; B200s have their own partition. CPU partitions list no types.
 * A partition missing here is not judged at preview: `up` asks sinfo.
 */
export const HIPERGATOR_GPU_OFFER: Readonly<Record<string, readonly string[]>> = {
    "hpg-ai": ["a100"],
    "hpg-b200": ["b200"],
    "hpg-rtx6000": ["rtx_pro_6000"],
    "hpg-turin": ["l4"],
    "hpg-default": [],
    "hpg-milan": [],
    "hpg-dev": [],
    bigmem: [],
};

/** SPARC's own default for hpgControlPath (Pulumi.yaml): where the user's own master is looked for. */
export const HPG_CONTROL_PATH = "~/.ssh/sparc-cm-%C";

/**
 * The hpg stack's config keys for the connection fields the provider's messages name, and UF RC's fix for
 * a password prompt: "connection.port (hpgPort) = 22: ... Fix: `pulumi config set hpgPort 2222` ...".
 * Text only: the provider never compares it, so changing it never updates a job.
 */
export const HPG_CONNECTION_MESSAGES: ConnectionMessages = {
    keyNames: {
        host: "hpgHost",
        port: "hpgPort",
        user: "hpgUser",
        hostKey: "hpgHostKey",
        privateKey: "hpgIdentityFile",
        identityFile: "hpgIdentityFile",
        passphrase: "hpgKeyPassphrase",
        keyboardInteractiveAnswers: "hpgMfaAnswers",
        mfaPromptPattern: "hpgMfaPromptPattern",
        insecureIgnoreHostKey: "hpgInsecureIgnoreHostKey",
        transport: "hpgSshTransport",
        controlPath: "hpgControlPath",
    },
    passwordPortFix: ufKeyPortFix("hpgPort"),
};
