// POSIX shell quoting: the one place where strings become shell words (remote commands of the
// SlurmJob and RemoteCommand providers, and the components' local and ssh command lines).
// No imports: pure, so any module (and a serialized closure) can use it.

/** Characters that stand for themselves in a shell word and in an #SBATCH value (render.ts): no quoting needed. */
export const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote `s` as one POSIX shell word: unchanged when it is made of safe characters, else single-quoted. */
export function shQuote(s: string): string {
    if (s.includes("\0")) {
        // No shell word can carry a NUL byte: the argument would be cut short silently.
        throw new TypeError(`shQuote: a shell argument cannot contain a NUL byte: ${JSON.stringify(s.slice(0, 80))}`);
    }
    if (SAFE_WORD.test(s)) {
        return s;
    }
    return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** Quote each argument and join them with spaces into one command line. */
export function shJoin(argv: readonly string[]): string {
    return argv.map(shQuote).join(" ");
}
