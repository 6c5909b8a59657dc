// The ONE place where the pubapps stack turns "run this on the instance" / "copy this file there"
// into local shell commands. It uses the hpg stack's OpenSSH mechanism (providers/remote/openssh.ts):
// pinned host keys in a known_hosts file, one ControlMaster login shared by every step, a jump host
// (HiPerGator) reached through its own master (proxyThroughMaster: one login there, one at the
// instance), and the second-factor-only askpass. Swap this module to change the transport; nothing
// else builds ssh lines.
import * as path from "node:path";
import {
    DEFAULT_MFA_PROMPT_PATTERN,
    controlArgv,
    destination,
    knownHostsLine,
    muxArgv,
    openSshOptions,
    proxyThroughMaster,
    shJoin,
    shQuote,
    type OpenSshTarget,
} from "../../../../providers";

export type { OpenSshTarget } from "../../../../providers";

/**
 * The askpass ssh runs for the logins: answers only a second-factor prompt (Duo's "Passcode or
 * option"), from $SLURM_PROVIDER_ASKPASS_ANSWER; a password prompt is refused (the same script as the hpg
 * stack's openssh transport, ASKPASS_SCRIPT in providers/remote/opensshTransport.ts).
 */
export const askpassScript = path.join(__dirname, "ssh-askpass.sh");

export interface PubappsTransport {
    /** The instance; with a jump host its proxyCommand goes through the jump host's master. */
    target: OpenSshTarget;
    /** The jump host (HiPerGator's login node), its own master; absent = the instance is reached directly. */
    jump?: OpenSshTarget;
    /** Whether Duo answers are configured (then ssh may prompt through askpassScript). */
    interactive: boolean;
    /** Per hop, what askpassScript prints when that hop asks for a password: the config key, its value and the fix. */
    passwordHints?: { instance?: string; jump?: string };
}

/** Seconds a master stays up after its last step: the steps are separate processes of the command plugin. */
export const CONTROL_PERSIST_SECONDS = 600;

/** Bound on waiting for another step that is opening the shared login. */
const MASTER_LOCK_SECONDS = 300;

function controlBase(controlPath: string): string {
    return controlPath.replace(/%[A-Za-z]/g, "_");
}

/** Where the pinned key of `role` is written for ssh (a file: works with OpenSSH older than 8.5 too). */
export function knownHostsFileFor(controlPath: string, role: "instance" | "jump"): string {
    return `${controlBase(controlPath)}.${role}.known_hosts`;
}

/**
 * The transport for an instance (and a jump host): host keys pinned through known_hosts files
 * next to the ControlPath, the instance reached through the jump host's master.
 */
export function pubappsTargets(
    instance: Omit<OpenSshTarget, "knownHostsFile" | "proxyCommand">,
    jump: Omit<OpenSshTarget, "knownHostsFile" | "proxyCommand" | "controlPath"> | undefined,
    interactive: boolean,
    passwordHints?: PubappsTransport["passwordHints"],
): PubappsTransport {
    const jumpTarget =
        jump === undefined ? undefined : { ...jump, controlPath: instance.controlPath, knownHostsFile: knownHostsFileFor(instance.controlPath, "jump") };
    return {
        target: {
            ...instance,
            knownHostsFile: knownHostsFileFor(instance.controlPath, "instance"),
            ...(jumpTarget !== undefined ? { proxyCommand: proxyThroughMaster(jumpTarget) } : {}),
        },
        ...(jumpTarget !== undefined ? { jump: jumpTarget } : {}),
        interactive,
        ...(passwordHints !== undefined ? { passwordHints } : {}),
    };
}

function lockFile(t: PubappsTransport): string {
    return `${controlBase(t.target.controlPath)}.lock`;
}

/** Writes the pinned key's known_hosts line (atomically: other steps may be reading it). */
function writeKnownHosts(target: OpenSshTarget): string | undefined {
    if (target.insecureIgnoreHostKey) {
        return undefined;
    }
    return `printf '%s\\n' ${shQuote(knownHostsLine(target))} > ${shQuote(target.knownHostsFile)}.$$ && mv -f ${shQuote(target.knownHostsFile)}.$$ ${shQuote(target.knownHostsFile)}`;
}

/** `check || open` for one master. */
function masterUp(t: PubappsTransport, target: OpenSshTarget): string {
    const batch = t.interactive ? [] : ["-o", "BatchMode=yes"];
    const open = [
        "ssh",
        ...batch,
        "-o",
        "ControlMaster=yes",
        "-o",
        `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
        "-f",
        "-N",
        ...openSshOptions(target),
        destination(target),
    ];
    const hint = t.passwordHints?.[target === t.jump ? "jump" : "instance"];
    // The askpass prints the hint as given: the "sparc-deploy:" prefix is ours, not the provider package's.
    const withHint = hint === undefined ? open : ["env", `SLURM_PROVIDER_ASKPASS_PASSWORD_HINT=sparc-deploy: ${hint}`, ...open];
    return `{ ${shJoin(controlArgv(target, "check"))} 2>/dev/null || ${shJoin(withHint)}; }`;
}

/**
 * Opens the shared master connections unless they are up (the jump host's first). Steps run in
 * parallel; the lock makes the first one log in (one Duo prompt per host) and the others wait and reuse it.
 */
function ensureMaster(t: PubappsTransport): string {
    const targets = [...(t.jump !== undefined ? [t.jump] : []), t.target];
    const script = [
        ...targets.map(writeKnownHosts).filter((l): l is string => l !== undefined),
        targets.map((target) => masterUp(t, target)).join(" && "),
    ].join(" && ");
    return `mkdir -p ${shQuote(path.posix.dirname(lockFile(t)))} && ` + `flock -w ${MASTER_LOCK_SECONDS} ${shQuote(lockFile(t))} sh -c ${shQuote(script)}`;
}

/** A local shell line that runs `remote` (an argv) on the instance over the shared login. */
export function remoteCommand(t: PubappsTransport, remote: readonly string[]): string {
    return `${ensureMaster(t)} && ${shJoin(muxArgv(t.target, remote))}`;
}

/** A remote bash script (lines joined by newlines) as the argv remoteCommand takes. */
export function remoteScript(lines: readonly string[]): string[] {
    return ["bash", "-c", lines.join("\n")];
}

/** A local shell line that copies `localFile` to `remoteFile` over the shared login (never a login of its own). */
export function copyCommand(t: PubappsTransport, localFile: string, remoteFile: string): string {
    // scp's port flag is -P; everything else is the same options as ssh's, so ssh finds the same master (%C).
    const options = openSshOptions(t.target).map((a, i) => (i === 0 && a === "-p" ? "-P" : a));
    const scp = [
        "scp",
        "-q",
        "-o",
        "ControlMaster=no",
        "-o",
        "BatchMode=yes",
        "-o",
        "ProxyCommand=/bin/false",
        ...options,
        localFile,
        `${destination(t.target)}:${remoteFile}`,
    ];
    return `${ensureMaster(t)} && ${shJoin(scp)}`;
}

/** Closes the shared logins, the instance's then the jump host's (tests, and users who want the next run to log in afresh). */
export function closeCommand(t: PubappsTransport): string {
    return [t.target, ...(t.jump !== undefined ? [t.jump] : [])].map((target) => `${shJoin(controlArgv(target, "exit"))} 2>/dev/null`).join("; ");
}

/**
 * Environment for the commands: with Duo answers, ssh asks askpassScript, which gives the answer
 * (a secret environment value, never on a command line) to second-factor prompts only; without,
 * BatchMode keeps ssh from prompting.
 */
export function transportEnvironment(answer: string | undefined): Record<string, string> {
    return answer === undefined
        ? {}
        : {
              SSH_ASKPASS: askpassScript,
              SSH_ASKPASS_REQUIRE: "force",
              DISPLAY: ":0",
              SLURM_PROVIDER_ASKPASS_ANSWER: answer,
              SLURM_PROVIDER_ASKPASS_PATTERN: DEFAULT_MFA_PROMPT_PATTERN,
          };
}
