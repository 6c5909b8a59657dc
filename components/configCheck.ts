// Shared by the config loaders: read a key through the SDK's validation (allowedValues,
// pattern, min/max) and, when it refuses the value, keep the SDK's message (it names the
// key and the value), add the fix, and go on, so one preview reports every problem.
export type CheckedRead = <T>(howToFix: string, fallback: T, read: () => T | undefined) => T;

export function checkedReader(problems: string[]): CheckedRead {
    return <T>(howToFix: string, fallback: T, read: () => T | undefined): T => {
        try {
            return read() ?? fallback;
        } catch (err) {
            problems.push(`${(err as Error).message}. Fix: ${howToFix}`);
            return fallback;
        }
    };
}
