// Progress lines of the providers' long waits (a pending job, a build log, an upload, a login that
// may ask for Duo), shown under the resource in `pulumi up`. The dynamic-provider process gets no
// resource URN from Pulumi and its stdout reaches `pulumi up` as global diagnostics, so each resource
// carries its own URN as the `logUrn` input, and a provider call runs in a scope naming it: lines go
// to the engine's Log RPC (the address Pulumi passes the provider process) under that URN, the way
// pulumi-command logs under its resource. Without an engine (tests, scripts) they go to stdout.
// Never put a secret in a line: they reach the terminal and the backend's logs verbatim.
//
// Runtime libraries are require()d at call time; the scope store and the send queue live on
// globalThis, so every loaded copy of the providers shares them.
import type { AsyncLocalStorage } from "node:async_hooks";
import { connectionLabel, type SshConnection } from "./connection";
import { secondFactorAnswers } from "./prompts";

/** The resource a provider call works for: its URN (may be "") and the prefix its stdout lines carry. */
export interface ProgressScope {
    urn: string;
    label: string;
}

/** The input every dynamic resource of this package carries for its progress lines (its own URN); absent in older state. */
export interface ProgressInputs {
    logUrn?: string;
}

interface ProgressGlobals {
    __slurmProviderProgressScope?: AsyncLocalStorage<ProgressScope>;
    __slurmProviderProgressQueue?: Promise<void>;
    __slurmProviderProgressEngine?: { address: string; client: unknown } | null;
}

function globals(): ProgressGlobals {
    return globalThis as unknown as ProgressGlobals;
}

function scopeStore(): AsyncLocalStorage<ProgressScope> {
    const { AsyncLocalStorage: Store } = require("node:async_hooks") as typeof import("node:async_hooks");
    return (globals().__slurmProviderProgressScope ??= new Store<ProgressScope>());
}

/** Runs fn with every progress line of its calls (logins included) attributed to props' resource. */
export function withProgressScope<T>(props: unknown, label: string, fn: () => Promise<T>): Promise<T> {
    const urn = typeof (props as ProgressInputs | undefined)?.logUrn === "string" ? ((props as ProgressInputs).logUrn as string) : "";
    return scopeStore().run({ urn, label }, fn);
}

/** The engine's address when this is Pulumi's dynamic-provider process (`node .../cmd/dynamic-provider <engine>`); else undefined. */
export function engineAddress(argv: readonly string[] = process.argv): string | undefined {
    const script = argv[1] ?? "";
    const address = argv[2] ?? "";
    return /[\\/]cmd[\\/]dynamic-provider(?:[\\/]index\.js)?$/.test(script) && /^[\w.[\]:-]+:\d+$/.test(address) ? address : undefined;
}

type EngineClient = { log(req: unknown, opts: { deadline: number }, cb: (err: Error | null) => void): void };

/**
 * Sends progress lines to the engine at `address` from now on (undefined: the one this process was
 * started with, if any). For tests, which stand up their own Engine service.
 */
export function useProgressEngine(address: string | undefined): void {
    globals().__slurmProviderProgressEngine = undefined;
    connectEngine(address);
}

function connectEngine(address: string | undefined): void {
    const g = globals();
    g.__slurmProviderProgressEngine = null;
    if (address !== undefined) {
        try {
            // The SDK's own grpc-js (its generated stubs check credentials by class).
            const stubs = require.resolve("@pulumi/pulumi/proto/engine_grpc_pb");
            const grpc = require(require.resolve("@grpc/grpc-js", { paths: [stubs] })) as typeof import("@grpc/grpc-js");
            const { EngineClient: Client } = require(stubs) as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
            g.__slurmProviderProgressEngine = { address, client: new Client(address, grpc.credentials.createInsecure()) };
        } catch {
            g.__slurmProviderProgressEngine = null;
        }
    }
}

function engineClient(): { client: EngineClient; proto: typeof import("@pulumi/pulumi/proto/engine_pb") } | undefined {
    const g = globals();
    if (g.__slurmProviderProgressEngine === undefined) {
        connectEngine(engineAddress());
    }
    const engine = g.__slurmProviderProgressEngine;
    if (engine === null || engine === undefined) {
        return undefined;
    }
    return { client: engine.client as EngineClient, proto: require("@pulumi/pulumi/proto/engine_pb") as typeof import("@pulumi/pulumi/proto/engine_pb") };
}

/**
 * One progress line about `label`'s resource: under its URN in `pulumi up` when the current scope
 * is that resource's and an engine is there, else on stdout prefixed with the label. label
 * undefined: whatever resource the current call works for (a login is shared by all of them).
 */
export function progressLine(label: string | undefined, message: string): void {
    const scope = scopeStore().getStore();
    const shownLabel = label ?? scope?.label ?? "[ssh]";
    const engine = scope !== undefined && scope.urn !== "" && (label === undefined || label === scope.label) ? engineClient() : undefined;
    if (scope === undefined || engine === undefined) {
        console.log(`${shownLabel} ${message}`);
        return;
    }
    const req = new engine.proto.LogRequest();
    req.setSeverity(engine.proto.LogSeverity.INFO);
    req.setMessage(message);
    req.setUrn(scope.urn);
    req.setStreamid(0);
    req.setEphemeral(false);
    // In order, one at a time (as the SDK's own log does); a line the engine does not take goes to stdout.
    const g = globals();
    g.__slurmProviderProgressQueue = (g.__slurmProviderProgressQueue ?? Promise.resolve()).then(
        () =>
            new Promise<void>((resolve) => {
                try {
                    engine.client.log(req, { deadline: Date.now() + 10_000 }, (err) => {
                        if (err !== null) {
                            console.log(`${shownLabel} ${message}`);
                        }
                        resolve();
                    });
                } catch {
                    console.log(`${shownLabel} ${message}`);
                    resolve();
                }
            }),
    );
}

/** Waits until every line sent so far has reached the engine (tests; the engine waits for the call anyway). */
export function progressFlushed(): Promise<void> {
    return globals().__slurmProviderProgressQueue ?? Promise.resolve();
}

/**
 * The line before a login that may ask for a second factor (an answer is configured, so one is
 * given): undefined otherwise. Names only user@host:port, never the answer (a passcode is a secret).
 */
export function secondFactorNotice(conn: SshConnection, env: NodeJS.ProcessEnv = process.env): string | undefined {
    if (secondFactorAnswers(conn, env).length === 0) {
        return undefined;
    }
    return (
        `logging in to ${connectionLabel(conn)}, which may ask for a second factor: the configured answer is given now; ` +
        "if it is a Duo push, approve it on your phone now (Duo gives up after 60 s)"
    );
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Reports an upload's bytes at a bounded rate: a line each time another `stepFraction` of the total
 * is sent or `everySeconds` pass without one, and one at the end. Returns the callback to feed
 * with the bytes sent so far. `now` is injectable for tests.
 */
export function uploadReporter(
    what: string,
    total: number,
    emit: (line: string) => void,
    options: { stepFraction?: number; everySeconds?: number; now?: () => number } = {},
): (sent: number) => void {
    const now = options.now ?? Date.now;
    const step = Math.max(1, Math.ceil(total * (options.stepFraction ?? 0.1)));
    const every = (options.everySeconds ?? 15) * 1000;
    const started = now();
    let lastAt = started;
    let nextMark = step;
    let done = false;
    return (sent: number) => {
        if (done) {
            return;
        }
        const at = now();
        const finished = total > 0 && sent >= total;
        if (!finished && sent < nextMark && at - lastAt < every) {
            return;
        }
        done = finished;
        lastAt = at;
        nextMark = (Math.floor(sent / step) + 1) * step;
        const seconds = (at - started) / 1000;
        const rate = seconds > 0 ? `, ${formatBytes(Math.round(sent / seconds))}/s` : "";
        const percent = total > 0 ? ` (${Math.floor((Math.min(sent, total) / total) * 100)}%)` : "";
        emit(`${what}: ${formatBytes(sent)} of ${formatBytes(total)} sent${percent}${rate}`);
    };
}

/**
 * The lines of `current` (a fresh `tail -n`) not shown yet, given the `previous` tail: what follows
 * the longest end of `previous` that `current` starts with. All of `current` when they do not overlap.
 */
export function newTailLines(previous: readonly string[], current: readonly string[]): string[] {
    for (let k = Math.min(previous.length, current.length); k > 0; k--) {
        let same = true;
        for (let i = 0; i < k; i++) {
            if (previous[previous.length - k + i] !== current[i]) {
                same = false;
                break;
            }
        }
        if (same) {
            return current.slice(k);
        }
    }
    return [...current];
}

/**
 * The reporter of a stdinFile upload (uploadReporter over progressLine, the file's size as the
 * total), for the transports to feed with the bytes read so far; a no-op when the file cannot be stat'ed
 * (the read then fails with its own error).
 */
export function uploadProgress(file: string, destination: string): (sent: number) => void {
    const fs = require("node:fs") as typeof import("node:fs");
    let total: number;
    try {
        total = fs.statSync(file).size;
    } catch {
        return () => undefined;
    }
    return uploadReporter(`uploading ${file} to ${destination}`, total, (line) => progressLine(undefined, line));
}

/** What logUrnOf reads of a parent resource: fields the Pulumi SDK sets on every resource at construction. */
interface ResourceChain {
    __pulumiType?: unknown;
    __parentResource?: unknown;
}

/**
 * A resource's URN, known at construction (the `logUrn` input): project, stack, the types of its
 * ancestors below the stack, its type and name, as the engine forms it. Read from the SDK's fields
 * rather than awaited from the parent's URN output, so no input waits on another resource's
 * registration. "" when a parent lacks them (lines then go to stdout).
 */
export function logUrnOf(name: string, type: string, parent: unknown, project: string, stack: string): string {
    const types: string[] = [];
    for (let r = parent as ResourceChain | undefined; r !== undefined && r !== null; r = r.__parentResource as ResourceChain | undefined) {
        if (typeof r.__pulumiType !== "string") {
            return "";
        }
        if (r.__pulumiType !== "pulumi:pulumi:Stack") {
            types.unshift(r.__pulumiType);
        }
    }
    return `urn:pulumi:${stack}::${project}::${[...types, type].join("$")}::${name}`;
}
