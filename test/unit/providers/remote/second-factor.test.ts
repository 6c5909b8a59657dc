// Which prompts get the second-factor answer, pinned host keys of every type, and the
// OpenSSH command lines of the one-login transport: pure, table-driven.
import { describe, expect, it } from "vitest";
import { DEFAULT_MFA_PROMPT_PATTERN, classifyPrompt, promptLine, refusedPromptMessage } from "../../../../providers/remote/prompts";
import { blobKeyType, hostKeyAlgorithmsFor, parsePinnedHostKey } from "../../../../providers/remote/hostKey";
import { secondFactorAnswers } from "../../../../providers/remote/prompts";
import { HPG_CONNECTION_MESSAGES } from "../../../../components/hpg/site";
import { masterLoginError } from "../../../../providers/remote/opensshTransport";
import { controlArgv, knownHostsLine, masterArgv, muxArgv, proxyThroughMaster, type OpenSshTarget } from "../../../../providers/remote/openssh";

const DUO =
    "Duo two-factor login for albert@ufl.edu\n\nEnter a passcode or select one of the following options:\n\n" +
    " 1. Duo Push to XXX-XXX-1234\n 2. Phone call to XXX-XXX-1234\n\nPasscode or option (1-2): ";
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIHpgHostKeyForTests";
const ECDSA = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=";
const RSA = "AAAAB3NzaC1yc2EAAAADAQABAAABgQ==";

describe("classifyPrompt", () => {
    it.each<[string, string, string]>([
        ["Duo's prompt (after its info lines)", DUO, "answer"],
        ["OpenSSH's askpass form of Duo's prompt", `(albert@hpg.rc.ufl.edu) ${DUO}`, "answer"],
        ["TOTP", "Verification code: ", "answer"],
        ["a bare passcode prompt", "Passcode: ", "answer"],
        ["a password", "Password: ", "password"],
        ["OpenSSH's password prompt", "(albert@hpg.rc.ufl.edu) Password: ", "password"],
        ["a GatorLink password", "GatorLink Password:", "password"],
        ["a key passphrase", "Enter passphrase for key '/home/albert/.ssh/id_ed25519': ", "password"],
        ["password and code in one", "Password & verification code: ", "password"],
        ["anything else", "Favourite colour: ", "unknown"],
        ["an empty prompt", "", "unknown"],
    ])("%s", (_what, prompt, verdict) => {
        expect(classifyPrompt(prompt)).toBe(verdict);
    });

    it("takes a site's own pattern, and still never answers a password prompt with it", () => {
        expect(classifyPrompt("Token code: ", "token code")).toBe("answer");
        expect(classifyPrompt("Token code: ")).toBe("unknown");
        expect(classifyPrompt("Password: ", ".*")).toBe("password");
    });

    it("reads the last line of a prompt", () => {
        expect(promptLine(DUO)).toBe("Passcode or option (1-2):");
    });

    it("says what was asked and how to fix it, naming connection fields by default", () => {
        expect(refusedPromptMessage("connection to a@h:22", "Password: ", "password", DEFAULT_MFA_PROMPT_PATTERN, { port: 22 })).toBe(
            'connection to a@h:22: the server asked for a password or passphrase ("Password:"); the second-factor answer is never sent there and passwords are never used to log in. ' +
                "connection.port = 22: that port asked for a password instead of taking the key. Fix: set connection.port to the port on which the server takes key logins; " +
                "and use key-based SSH (connection.identityFile or ssh-agent).",
        );
        expect(refusedPromptMessage("connection to a@h:22", "Colour?", "unknown", DEFAULT_MFA_PROMPT_PATTERN)).toContain(
            "set connection.mfaPromptPattern to match it",
        );
        expect(refusedPromptMessage("connection to a@h:22", "Enter passphrase for key 'k': ", "password", DEFAULT_MFA_PROMPT_PATTERN)).toContain(
            "set connection.passphrase or load the key into ssh-agent",
        );
    });

    it("names the calling program's keys and takes its site's fix when the connection carries them (the hpg stack's)", () => {
        const conn = { port: 22, messages: HPG_CONNECTION_MESSAGES };
        const password = refusedPromptMessage("connection to a@h:22", "Password: ", "password", DEFAULT_MFA_PROMPT_PATTERN, conn);
        expect(password).toContain(
            "connection.port (hpgPort) = 22: that port asked for a password instead of taking the key. Fix: `pulumi config set hpgPort 2222` (UF RC takes key logins on port 2222",
        );
        expect(password).toContain("UF federated users log in with a key on port 22; and use key-based SSH (hpgIdentityFile or ssh-agent).");
        expect(refusedPromptMessage("connection to a@h:22", "Colour?", "unknown", DEFAULT_MFA_PROMPT_PATTERN, conn)).toContain(
            "set hpgMfaPromptPattern to match it",
        );
        expect(refusedPromptMessage("connection to a@h:22", "Enter passphrase for key 'k': ", "password", DEFAULT_MFA_PROMPT_PATTERN, conn)).toContain(
            "set hpgKeyPassphrase or load the key into ssh-agent",
        );
    });
});

describe("pinned host keys", () => {
    it.each<[string, string | undefined]>([
        [`ssh-ed25519 ${ED25519}`, "ssh-ed25519"],
        [`ssh-ed25519 ${ED25519} root@hpg`, "ssh-ed25519"],
        [`[hpg.rc.ufl.edu]:2222 ecdsa-sha2-nistp256 ${ECDSA}`, "ecdsa-sha2-nistp256"],
        [ECDSA, "ecdsa-sha2-nistp256"],
        [RSA, "ssh-rsa"],
        [ED25519, "ssh-ed25519"],
        [`ssh-rsa ${ED25519}`, undefined],
        ["ssh-ed25519 hello", undefined],
        ["", undefined],
    ])("%s -> %s", (line, type) => {
        expect(parsePinnedHostKey(line)?.type).toBe(type);
    });

    it("offers only the pinned type (RSA with its SHA-2 signatures)", () => {
        expect(hostKeyAlgorithmsFor("ecdsa-sha2-nistp256")).toEqual(["ecdsa-sha2-nistp256"]);
        expect(hostKeyAlgorithmsFor("ssh-rsa")).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        expect(blobKeyType("AAAA")).toBeUndefined();
    });
});

describe("OpenSSH command lines", () => {
    const target: OpenSshTarget = {
        host: "hpg",
        user: "",
        hostKey: ECDSA,
        insecureIgnoreHostKey: false,
        identityFile: "",
        controlPath: "/home/albert/.ssh/sparc-cm-%C",
        knownHostsFile: "/tmp/sparc-ssh-x/known_hosts",
    };

    it("passes an alias as given, with no -p or -l when ~/.ssh/config supplies them", () => {
        const argv = muxArgv(target, ["squeue", "-u", "albert"]);
        expect(argv.slice(-3)).toEqual(["hpg", "--", "squeue -u albert"]);
        expect(argv).not.toContain("-p");
        expect(argv).not.toContain("-l");
        expect(muxArgv({ ...target, user: "albert", port: 2222 }, ["true"])).toEqual(expect.arrayContaining(["-p", "2222", "albert@hpg"]));
    });

    it("pins the key in a known_hosts file named by HostKeyAlias, offering only its type (any OpenSSH version)", () => {
        expect(knownHostsLine(target)).toBe(`hpg ecdsa-sha2-nistp256 ${ECDSA}`);
        const argv = masterArgv(target, 20).join(" ");
        expect(argv).toContain("-o UserKnownHostsFile=/tmp/sparc-ssh-x/known_hosts -o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=hpg");
        expect(argv).toContain("-o HostKeyAlgorithms=ecdsa-sha2-nistp256");
        expect(argv).not.toContain("KnownHostsCommand");
    });

    it("logs in once in the master; every command is a client that never logs in by itself", () => {
        expect(masterArgv(target, 20).slice(0, 5)).toEqual(["ssh", "-M", "-N", "-o", "ControlPersist=no"]);
        const master = masterArgv(target, 20).join(" ");
        expect(master).toContain("-o PasswordAuthentication=no");
        expect(master).toContain("-o NumberOfPasswordPrompts=1");
        expect(master).toContain("-o ServerAliveInterval=15");
        expect(muxArgv(target, ["true"]).slice(0, 7)).toEqual([
            "ssh",
            "-o",
            "ControlMaster=no",
            "-o",
            "BatchMode=yes",
            "-o",
            "ProxyCommand=sh -c 'echo slurm-provider-master-unreachable >&2'",
        ]);
        expect(controlArgv(target, "exit").slice(0, 3)).toEqual(["ssh", "-O", "exit"]);
    });

    it("reaches a host behind a jump host through the jump host's master (no second login there)", () => {
        const proxy = proxyThroughMaster({ ...target, user: "albert", port: 2222 });
        expect(proxy).toMatch(
            /^ssh -o ControlMaster=no -o BatchMode=yes -o 'ProxyCommand=sh -c .*echo slurm-provider-master-unreachable >&2.*' -p 2222 .* -o ControlPath=\/home\/albert\/.ssh\/sparc-cm-%%C .* -W %h:%p albert@hpg$/,
        );
    });
});

describe("secondFactorAnswers", () => {
    it.each<[string | undefined, string[] | undefined, string[]]>([
        [undefined, ["1"], ["1"]],
        ["", ["1"], ["1"]],
        ["123456", ["1"], ["123456"]],
        ["push,1", undefined, ["push", "1"]],
        [undefined, undefined, []],
    ])("env %j, stored %j -> %j (the run's own passcode wins over the one in state)", (env, stored, expected) => {
        expect(
            secondFactorAnswers(
                { host: "h", user: "u", ...(stored ? { keyboardInteractiveAnswers: stored } : {}) },
                env === undefined ? {} : { SLURM_PROVIDER_MFA_ANSWERS: env },
            ),
        ).toEqual(expected);
    });

    it.each<[string, NodeJS.ProcessEnv, string[]]>([
        ["0.1.0's name, still read (deprecated; sparc-deploy documents it)", { SPARC_HPG_MFA_ANSWERS: "push" }, ["push"]],
        ["the new name wins over the old", { SLURM_PROVIDER_MFA_ANSWERS: "123456", SPARC_HPG_MFA_ANSWERS: "push" }, ["123456"]],
    ])("%s", (_what, env, expected) => {
        expect(secondFactorAnswers({ host: "h", user: "u", keyboardInteractiveAnswers: ["1"] }, env)).toEqual(expected);
    });
});

describe("masterLoginError: the openssh transport's login errors, in the provider's words or the caller's", () => {
    const hpg = { port: 2222, messages: HPG_CONNECTION_MESSAGES };
    it.each<[string, string, object, string]>([
        [
            "a refused key, no names given",
            "hpcuser@127.0.0.1: Permission denied (publickey).",
            { port: 22 },
            "Check connection.user, the key (connection.identityFile or ssh-agent), connection.port (some sites take keys on another port than their password logins) and, with a second factor, connection.keyboardInteractiveAnswers.",
        ],
        ["a refused key, the hpg stack's names", "Permission denied (publickey).", hpg, "Check hpgUser, the key (hpgIdentityFile or ssh-agent), hpgPort"],
        ["a changed host key, no names given", "Host key verification failed.", {}, "does not match connection.hostKey (none of its lines)"],
        [
            "a changed host key, the hpg stack's names",
            "Host key verification failed.",
            hpg,
            "does not match connection.hostKey (hpgHostKey; none of its lines)",
        ],
        [
            "a refused second-factor answer",
            "slurm-provider-answered-second-factor\nPermission denied (keyboard-interactive).",
            hpg,
            "Check connection.keyboardInteractiveAnswers (hpgMfaAnswers)",
        ],
        ["a refused password prompt", "slurm-provider-refused-prompt: Password:", hpg, "connection.port (hpgPort) = 2222: that port asked for a password"],
    ])("%s", (_what, stderr, conn, expected) => {
        expect(masterLoginError("u@h:22", stderr, DEFAULT_MFA_PROMPT_PATTERN, conn).message).toContain(expected);
    });
});
