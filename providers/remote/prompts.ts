// Which keyboard-interactive prompts get the configured second-factor answer.
// HiPerGator asks for Duo after the key ("Passcode or option (1-3): "); a prompt for a
// password or a key passphrase must never receive that answer (a GatorLink password
// prompt answered with "push" counts as a failed password: lockout risk), so such a
// prompt fails the login at once with a clear error. Pure (no runtime library), shared by
// the ssh2 transport (ssh2.ts), the openssh transport's askpass (opensshTransport.ts) and config checks.
import type { SshConnection } from "./connection";

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
 * The fix for a server that asks for a password: UF RC takes key logins on port 2222 and asks for the
 * GatorLink password on 22 (UF's federated users are the exception: keys on 22). `port` is the port dialled;
 * the caller names the config key that chose it.
 */
export function passwordPortFix(port: number | undefined, portKey: string, shownAs: string = portKey): string {
    const value = port === undefined ? "(ssh's default)" : String(port);
    return (
        `${shownAs} = ${value}: that port asked for a password instead of taking the key. ` +
        `Fix: \`pulumi config set ${portKey} 2222\` (UF RC takes key logins on port 2222; its port 22 asks for the GatorLink password), ` +
        `or 0 to use the Port of your ~/.ssh/config; UF federated users log in with a key on port 22`
    );
}

/** The error for a refused prompt: names the prompt, why, and the fix (with the port dialled, for a password prompt). */
export function refusedPromptMessage(where: string, prompt: string, verdict: PromptVerdict, pattern: string, port?: number): string {
    const line = JSON.stringify(promptLine(prompt));
    if (verdict !== "password") {
        return (
            `${where}: the server asked ${line}, which does not look like a second-factor prompt (pattern /${pattern}/i), so it was not answered. ` +
            "If this is your site's second-factor prompt, set hpgMfaPromptPattern (connection.mfaPromptPattern) to match it."
        );
    }
    const refusal = `${where}: the server asked for a password or passphrase (${line}); sparc-deploy never sends the second-factor answer there and does not log in with passwords.`;
    // A key passphrase is asked locally by ssh: the port is not the cause.
    return /passphrase/i.test(promptLine(prompt))
        ? `${refusal} For an encrypted key set hpgKeyPassphrase (--secret) or load the key into ssh-agent.`
        : `${refusal} ${passwordPortFix(port, "hpgPort", "connection.port (hpgPort)")}; and use key-based SSH (hpgIdentityFile or ssh-agent).`;
}

/** The error for a second-factor answer the server refused (not retried: each try is another Duo prompt, a passcode works once). */
export function refusedAnswerMessage(label: string, detail: string): string {
    return (
        `connection to ${label}: the key was accepted but the server refused the second-factor answer (${detail}); ` +
        'not retried. Check hpgMfaAnswers (connection.keyboardInteractiveAnswers): Duo "1"/"push", or a fresh passcode (a passcode works once).'
    );
}

/** The answers in SPARC_HPG_MFA_ANSWERS (comma-separated; empty entries dropped), read by the providers and the config loaders alike. */
export function secondFactorAnswersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
    return (env.SPARC_HPG_MFA_ANSWERS ?? "").split(",").filter((a) => a !== "");
}

/**
 * The second-factor answers for a login: SPARC_HPG_MFA_ANSWERS (comma-separated) in this process's
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
