// What an interrupted `pulumi up` (Ctrl-C) means for a SlurmJob that is being created.
//
// What the provider process gets (engine v3.274.1, read in pkg/backend/cancellation_scope.go,
// engine/deployment.go, resource/deploy/deployment_executor.go, resource/plugin/plugin.go):
// - first SIGINT to the CLI: the engine stops starting steps, waits for the ones in flight, and sends
//   each provider a Cancel RPC. Pulumi's Node dynamic-provider host answers it and does nothing
//   else (cmd/dynamic-provider: `cancel()` is empty); the Create call in flight is not cancelled.
// - second SIGINT: the engine terminates. Closing a plugin sends SIGINT to its process group, waits
//   5 s, then SIGKILLs it; the CLI may also exit first, which closes the provider's stdin.
// So the provider notices the Cancel RPC itself, at the host's gRPC server (grpc-js looks each
// call's handler up through Server.prototype._retrieveHandler), and waits stop: the job goes back to
// the engine as an init failure, its id in state. A job whose id has not reached the engine when the
// process is told to go (SIGINT, or stdin closed) is cancelled before the process exits, so a
// terminated up leaves no job that no state holds.
import type { SlurmJobInputs } from "./types";

const CANCEL_RPC = "/pulumirpc.ResourceProvider/Cancel";
/** Bound on cancelling the jobs in flight once told to go: the engine SIGKILLs 5 s after its SIGINT. */
const EXIT_GRACE_MS = 4000;

interface CancelWatch {
    installed: boolean;
    cancelled: boolean;
    wakers: Set<() => void>;
    /** Jobs submitted by a create that has not yet returned them to the engine, and what to do once one is cancelled. */
    inFlight: Map<string, { inputs: SlurmJobInputs; cancelled: () => void }>;
}

/** One watch per process (the shim may load this module through more than one path). */
function watch(): CancelWatch {
    const g = globalThis as { __slurmProviderCancelWatch?: CancelWatch };
    return (g.__slurmProviderCancelWatch ??= { installed: false, cancelled: false, wakers: new Set(), inFlight: new Map() });
}

function markCancelled(): void {
    const w = watch();
    if (!w.cancelled) {
        w.cancelled = true;
        for (const wake of w.wakers) {
            wake();
        }
    }
}

/** True inside Pulumi's dynamic-provider host (not in unit tests or other programs). */
function inProviderHost(): boolean {
    return /[\\/]cmd[\\/]dynamic-provider/.test(process.argv[1] ?? "");
}

/**
 * Starts noticing the engine's Cancel RPC and the engine going away. Idempotent; a no-op outside
 * the provider host, or when the host's grpc-js no longer has the method (then waits run to their bound).
 */
export function watchEngineCancel(): void {
    const w = watch();
    if (w.installed || !inProviderHost()) {
        return;
    }
    w.installed = true;
    try {
        const path = require("node:path") as typeof import("node:path");
        // The host's own copy of grpc-js: the one @pulumi/pulumi resolves.
        const grpcPath = require.resolve("@grpc/grpc-js", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] });
        const server = (require(grpcPath) as { Server?: { prototype: Record<string, unknown> } }).Server?.prototype;
        const lookup = server?._retrieveHandler;
        if (server !== undefined && typeof lookup === "function") {
            server._retrieveHandler = function (this: unknown, rpcPath: string) {
                if (rpcPath === CANCEL_RPC) {
                    markCancelled();
                }
                return (lookup as (p: string) => unknown).call(this, rpcPath);
            };
        }
    } catch {
        // Without the hook a cancelled up waits as before: to waitTimeoutSeconds.
    }
    process.once("SIGINT", () => void leave("SIGINT"));
    // The engine holds the write end of the provider's stdin (a pipe): EOF while a create is in flight means
    // the CLI is gone. Only a pipe: a host started with stdin /dev/null (a test harness) sees EOF at once.
    const fs = require("node:fs") as typeof import("node:fs");
    if (fs.fstatSync(0).isFIFO()) {
        process.stdin.on("end", () => {
            if (w.inFlight.size > 0) {
                void leave("the engine closed the provider's stdin");
            }
        });
        process.stdin.on("error", () => undefined);
        process.stdin.resume();
    }
}

/** The engine asked this provider to stop (the first Ctrl-C). */
export function engineCancelled(): boolean {
    return watch().cancelled;
}

/** Sleeps `seconds`, cut short when the engine cancels; true when it has. */
export function sleepUnlessCancelled(seconds: number): Promise<boolean> {
    const w = watch();
    if (w.cancelled) {
        return Promise.resolve(true);
    }
    return new Promise((resolve) => {
        // Declared before wake: Pulumi's closure serializer (the frozen provider of old states) needs it so.
        let timer: ReturnType<typeof setTimeout> | undefined = undefined;
        const wake = () => {
            clearTimeout(timer);
            w.wakers.delete(wake);
            resolve(w.cancelled);
        };
        timer = setTimeout(wake, seconds * 1000);
        w.wakers.add(wake);
    });
}

/** Settles when the engine cancels (at once if it has); dispose forgets it. No timer: a wait of any length can race it. */
export function whenCancelled(): { cancelled: Promise<void>; dispose: () => void } {
    const w = watch();
    let wake: () => void = () => undefined;
    const cancelled = new Promise<void>((resolve) => {
        wake = () => {
            w.wakers.delete(wake);
            resolve();
        };
    });
    if (w.cancelled) {
        wake();
    } else {
        w.wakers.add(wake);
    }
    return { cancelled, dispose: () => w.wakers.delete(wake) };
}

/**
 * Records a job whose id has not reached the engine yet; the returned function forgets it (once it has).
 * `cancelled` runs when leaving cancelled the job (e.g. to drop its journal entry).
 */
export function trackInFlight(jobId: string, inputs: SlurmJobInputs, cancelled: () => void = () => undefined): () => void {
    const w = watch();
    w.inFlight.set(jobId, { inputs, cancelled });
    return () => void w.inFlight.delete(jobId);
}

/** The engine is gone or terminating: cancel the jobs no state will hold, then exit. */
async function leave(why: string): Promise<void> {
    const w = watch();
    const jobs = [...w.inFlight];
    if (jobs.length > 0) {
        const { runRemote } = require("../remote/remote") as typeof import("../remote/remote");
        await Promise.race([
            Promise.all(
                jobs.map(async ([jobId, { inputs, cancelled }]) => {
                    const result = await runRemote(inputs.connection, ["scancel", jobId], { timeoutSeconds: 3 }).catch((err: Error) => ({
                        code: -1,
                        stderr: err.message,
                    }));
                    if (result.code === 0) {
                        cancelled();
                    }
                    console.log(
                        `[${inputs.ownerTag}] ${why} before job ${jobId} reached the state: ` +
                            (result.code === 0
                                ? `cancelled it, so no job is left that no state holds`
                                : `cancelling it failed (${result.stderr.trim()}); cancel it with \`scancel ${jobId}\``),
                    );
                }),
            ),
            new Promise((r) => setTimeout(r, EXIT_GRACE_MS)),
        ]);
    }
    process.exit(130);
}
