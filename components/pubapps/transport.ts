// The ONE place where the pubapps stack turns "run this on the instance" / "copy this file there"
// into local shell commands. Today: the hpg stack's OpenSSH mechanism (pinned host keys, one
// ControlMaster login shared by every step, Duo answers through SSH_ASKPASS), plus a jump host
// (HiPerGator) as a ProxyCommand. Swap this module to change the transport; nothing else builds ssh lines.
import * as path from "node:path";
import { shJoin, shQuote } from "../../providers/slurm/quote";
import { openSshOptions, sshArgv, type OpenSshTarget } from "../../providers/slurm/openssh";

export type { OpenSshTarget, OpenSshJump } from "../../providers/slurm/openssh";

/** Prints $SPARC_ASKPASS_ANSWER: ssh asks it for the keyboard-interactive (Duo) answer, never a command line. */
export const askpassScript = path.resolve(__dirname, "..", "..", "scripts", "ssh-askpass.sh");

export interface PubappsTransport {
    target: OpenSshTarget;
    /** Whether Duo answers are configured (then ssh may prompt through askpassScript). */
    interactive: boolean;
}

/** Bound on waiting for another step that is opening the shared login. */
const MASTER_LOCK_SECONDS = 300;

function lockFile(t: PubappsTransport): string {
    return `${t.target.controlPath.replace(/%[A-Za-z]/g, "_")}.lock`;
}

/**
 * Opens the shared master connection unless one is up. Steps run in parallel; the lock makes the
 * first one log in (one Duo prompt) and the others wait for it and reuse it.
 */
function ensureMaster(t: PubappsTransport): string {
    const base = openSshOptions(t.target, "-p");
    const batch = t.interactive ? [] : ["-o", "BatchMode=yes"];
    const dest = `${t.target.user}@${t.target.host}`;
    const check = shJoin(["ssh", ...base, "-O", "check", dest]);
    const open = shJoin(["ssh", ...batch, ...base, "-o", "ControlMaster=yes", "-f", "-N", dest]);
    return `mkdir -p ${shQuote(path.posix.dirname(lockFile(t)))} && ` +
        `flock -w ${MASTER_LOCK_SECONDS} ${shQuote(lockFile(t))} sh -c ${shQuote(`${check} 2>/dev/null || ${open}`)}`;
}

/** A local shell line that runs `remote` (an argv) on the instance over the shared login. */
export function remoteCommand(t: PubappsTransport, remote: readonly string[]): string {
    const argv = sshArgv(t.target, remote);
    return `${ensureMaster(t)} && ${shJoin([argv[0], ...(t.interactive ? [] : ["-o", "BatchMode=yes"]), ...argv.slice(1)])}`;
}

/** A remote bash script (lines joined by newlines) as the argv remoteCommand takes. */
export function remoteScript(lines: readonly string[]): string[] {
    return ["bash", "-c", lines.join("\n")];
}

/** A local shell line that copies `localFile` to `remoteFile` over the shared login. */
export function copyCommand(t: PubappsTransport, localFile: string, remoteFile: string): string {
    const scp = ["scp", "-q", ...(t.interactive ? [] : ["-o", "BatchMode=yes"]), ...openSshOptions(t.target, "-P"),
        localFile, `${t.target.user}@${t.target.host}:${remoteFile}`];
    return `${ensureMaster(t)} && ${shJoin(scp)}`;
}

/** Closes the shared login (tests, and users who want the next run to log in afresh). */
export function closeCommand(t: PubappsTransport): string {
    return shJoin(["ssh", ...openSshOptions(t.target, "-p"), "-O", "exit", `${t.target.user}@${t.target.host}`]);
}

/**
 * Environment for the commands: with Duo answers, ssh asks askpassScript (the answer travels as a
 * secret environment value, never on a command line); without, BatchMode keeps ssh from prompting.
 */
export function transportEnvironment(answer: string | undefined): Record<string, string> {
    return answer === undefined ? {} : {
        SSH_ASKPASS: askpassScript,
        SSH_ASKPASS_REQUIRE: "force",
        DISPLAY: ":0",
        SPARC_ASKPASS_ANSWER: answer,
    };
}
