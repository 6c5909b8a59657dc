// Which keyboard-interactive prompts get the configured second-factor answer.
// A site with Duo (e.g. UF's HiPerGator) asks for it after the key ("Passcode or option (1-3): "); a prompt for a
// password or a key passphrase must never receive that answer (a password prompt answered
// with "push" counts as a failed password: lockout risk), so such a
// prompt fails the login at once with a clear error. Pure (no runtime library), shared by
// the ssh2 transport (ssh2.ts), the openssh transport's askpass (opensshTransport.ts) and config checks.
import type { SshConnection } from "./connection";
import { keyShown, keyToSet } from "./keyNames";
import { DEPRECATED_ENV } from "../legacy";

/**
 * Prompts answered by default (case-insensitive, POSIX extended regex syntax, so the same
 * text works in the ssh2 transport (JS RegExp) and in the openssh transport's askpass (grep -E)):
 * Duo's "Passcode or option (1-3):", "Verification code:" (TOTP), "Passcode:".
 */
export const DEFAULT_MFA_PROMPT_PATTERN = "passcode or option|verification code|passcode";

/** A prompt that asks for a secret this tool must never give the second-factor answer to. */
const PASSWORD_PROMPT = /pass(word|phrase)/i;

export type PromptVerdict = "answer" | "password" | "unknown";

/** The last non-empty line of a prompt (OpenSSH's askpass gets the server's instructions above it). */
export function promptLine(prompt: string): string {
    const lines = prompt
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "");
    return lines.length === 0 ? "" : lines[lines.length - 1];
}

/** "answer" only for a second-factor prompt; "password" for a password or passphrase prompt; else "unknown" (refused too). */
export function classifyPrompt(prompt: string, pattern: string = DEFAULT_MFA_PROMPT_PATTERN): PromptVerdict {
    const line = promptLine(prompt);
    if (PASSWORD_PROMPT.test(line)) {
        return "password";
    }
    return new RegExp(pattern, "i").test(line) ? "answer" : "unknown";
}

/**
 * "<key> = <port>: that port asked for a password instead of taking the key. Fix: <fix>": `port` is the
 * port dialled, `shownAs` the setting that chose it, `fix` what to do (a site's key-login port, how to set it).
 */
export function passwordPortMessage(
    port: number | undefined,
    shownAs: string,
    fix: string = `set ${shownAs} to the port on which the server takes key logins`,
): string {
    const value = port === undefined ? "(ssh's default)" : String(port);
    return `${shownAs} = ${value}: that port asked for a password instead of taking the key. Fix: ${fix}`;
}

/** The error for a refused prompt: names the prompt, why, and the fix (with the port dialled, for a password prompt). */
export function refusedPromptMessage(
    where: string,
    prompt: string,
    verdict: PromptVerdict,
    pattern: string,
    conn: Pick<SshConnection, "port" | "messages"> = {},
): string {
    const line = JSON.stringify(promptLine(prompt));
    if (verdict !== "password") {
        return (
            `${where}: the server asked ${line}, which does not look like a second-factor prompt (pattern /${pattern}/i), so it was not answered. ` +
            `If this is your site's second-factor prompt, set ${keyToSet(conn, "mfaPromptPattern")} to match it.`
        );
    }
    const refusal = `${where}: the server asked for a password or passphrase (${line}); the second-factor answer is never sent there and passwords are never used to log in.`;
    // A key passphrase is asked locally by ssh: the port is not the cause.
    return /passphrase/i.test(promptLine(prompt))
        ? `${refusal} For an encrypted key set ${keyToSet(conn, "passphrase")} or load the key into ssh-agent.`
        : `${refusal} ${passwordPortMessage(conn.port, keyShown(conn, "port"), conn.messages?.passwordPortFix)}; and use key-based SSH (${keyToSet(conn, "identityFile")} or ssh-agent).`;
}

/** The error for a second-factor answer the server refused (not retried: each try is another Duo prompt, a passcode works once). */
export function refusedAnswerMessage(label: string, detail: string, conn: Pick<SshConnection, "messages"> = {}): string {
    return (
        `connection to ${label}: the key was accepted but the server refused the second-factor answer (${detail}); ` +
        `not retried. Check ${keyShown(conn, "keyboardInteractiveAnswers")}: e.g. Duo's "1"/"push", or a fresh passcode (a passcode works once).`
    );
}

/** The environment variable with this run's second-factor answers (comma-separated). */
export const MFA_ANSWERS_ENV = "SLURM_PROVIDER_MFA_ANSWERS";

/**
 * The answers in SLURM_PROVIDER_MFA_ANSWERS (comma-separated; empty entries dropped), else in its
 * deprecated 0.1.0 name (legacy.ts); read by the providers and a calling program's config checks alike.
 */
export function secondFactorAnswersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
    return (env[MFA_ANSWERS_ENV] ?? env[DEPRECATED_ENV.mfaAnswers] ?? "").split(",").filter((a) => a !== "");
}

/**
 * The second-factor answers for a login: SLURM_PROVIDER_MFA_ANSWERS (comma-separated) in this process's
 * environment wins over those stored with the resource, so a one-time passcode typed for this run
 * also serves refresh and destroy (which otherwise replay the answer stored in state, already used).
 */
export function secondFactorAnswers(conn: SshConnection, env: NodeJS.ProcessEnv = process.env): string[] {
    const fromEnv = secondFactorAnswersFromEnv(env);
    return fromEnv.length > 0 ? fromEnv : (conn.keyboardInteractiveAnswers ?? []);
}

/** Extra seconds a login may take when a second factor is answered: a Duo push waits for a person (Duo gives up after 60 s). */
export function secondFactorAllowanceSeconds(conn: SshConnection): number {
    return secondFactorAnswers(conn).length > 0 ? 75 : 0;
}
