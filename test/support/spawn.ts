// Child processes for tests that must not block vitest's worker (its RPC times out when a test blocks
// for a minute): spawn, collect the output, resolve on exit. Shared by the Podman tiers.
import { spawn } from "node:child_process";

export interface RunResult {
    status: number | null;
    stdout: string;
    stderr: string;
    error?: Error;
}

/** Runs `file args`; `stdin` is written and closed (empty by default). Never rejects: the result says what happened. */
export function run(
    file: string,
    args: string[],
    opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
    return new Promise((resolve) => {
        const child = spawn(file, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 300_000, cwd: opts.cwd });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
        });
        child.stderr.on("data", (d: Buffer) => {
            stderr += d.toString();
        });
        child.on("error", (error) => resolve({ status: null, stdout, stderr: stderr + String(error), error }));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        // A child that exits without reading its stdin (true, a failed exec) makes the write fail with EPIPE:
        // its exit status says what happened, and an unhandled stream error would fail the whole test run.
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
    });
}

/** One rendered command line run the way @pulumi/command's local.Command runs it (/bin/sh -c); its stdout, trimmed. */
export async function sh(line: string, stdin?: string): Promise<string> {
    const res = await run("/bin/sh", ["-c", line], { stdin });
    if (res.status !== 0) {
        throw new Error(`command failed (exit ${res.status}): ${line}\n${res.stdout}${res.stderr}`);
    }
    return res.stdout.trim();
}
