// RemoteCommand: one command on the login node as a dynamic resource, run through the
// same pooled transport as SlurmJob (remote.ts: one ssh2 connection or one OpenSSH master
// per host and process). Every dynamic resource of a deployment runs in one provider
// process, so a program's copy, build, readiness check, deletes and its Slurm
// jobs share one login: one Duo prompt per `pulumi up` (a @pulumi/command step would
// run ssh in another process and log in again).
//
// Loaded like SlurmJob's provider (state holds a shim that requires @sparc-deploy/slurm-provider):
// runtime libraries only via require() at call time; credentials travel as the (secret) connection input.
import type * as pulumi from "@pulumi/pulumi";
import { runRemote, type RemoteResult, type SshConnection } from "./remote";
import { withProgressScope } from "./progress";

export interface RemoteCommandInputs {
    connection: SshConnection;
    /** argv run on create (and again on replace). */
    create: string[];
    /** When this argv exits 0, create is skipped (e.g. the file is already there with the same checksum); [] = always run. */
    unless: string[];
    /** A local file streamed to create's stdin (an upload over the same login); "" = none. */
    stdinFile: string;
    /** Text given to create's (and update's) stdin, e.g. a secret's value: stored as a secret, never in argv, logs or errors; "" = none. */
    stdin?: string;
    /** argv run instead of replacing when only `stdin` changed (e.g. a secret's new value), with the new stdin; [] = such a change replaces. */
    update?: string[];
    /**
     * On replace, run the old `delete` before the new `create` (default true). false: create first, delete the old
     * one last (e.g. load a new image while the old one still serves, remove the old one after).
     */
    deleteBeforeReplace?: boolean;
    /** argv run on delete; [] = nothing to undo. */
    delete: string[];
    /** Any change replaces the resource (create runs again). */
    triggers: unknown[];
    /** Bound on each command, in seconds. */
    timeoutSeconds: number;
    /** Names the step in errors. */
    description: string;
}

export interface RemoteCommandOutputs extends RemoteCommandInputs {
    stdout: string;
    stderr: string;
    /** True when `unless` said the work was already done. */
    skipped: boolean;
}

/** Inputs whose change means the command must run again (stdin too, unless an `update` command takes it in place). */
const REPLACING: readonly (keyof RemoteCommandInputs)[] = ["create", "unless", "stdinFile", "triggers"];

/** Inputs added after 0.1.0, with the value that means "not used": a state recorded before them compares as that value. */
const ADDED_DEFAULTS: Required<Pick<RemoteCommandInputs, "stdin" | "update" | "deleteBeforeReplace">> = { stdin: "", update: [], deleteBeforeReplace: true };

function withAddedDefaults<T extends Partial<RemoteCommandInputs>>(r: T): T & Required<Pick<RemoteCommandInputs, "stdin" | "update" | "deleteBeforeReplace">> {
    return {
        ...r,
        stdin: r.stdin ?? ADDED_DEFAULTS.stdin,
        update: r.update ?? ADDED_DEFAULTS.update,
        deleteBeforeReplace: r.deleteBeforeReplace ?? ADDED_DEFAULTS.deleteBeforeReplace,
    };
}

/** Only `stdin` changed among what would replace, and an `update` command takes it: update runs in place. */
function stdinOnlyUpdate(olds: Required<RemoteCommandInputs>, news: Required<RemoteCommandInputs>): boolean {
    return news.update.length > 0 && olds.stdin !== news.stdin && REPLACING.every((k) => JSON.stringify(olds[k]) === JSON.stringify(news[k]));
}

function tail(text: string, lines = 20): string {
    return text.trim().split("\n").slice(-lines).join("\n");
}

/** Output kept in state: the last 16 KiB (an apptainer build prints megabytes; state and its copies stay small). */
export function keptOutput(text: string, limit = 16 * 1024): string {
    return text.length <= limit ? text : `[... ${text.length - limit} characters dropped]\n${text.slice(-limit)}`;
}

function failed(what: string, r: RemoteResult): Error {
    return new Error(
        `${what}: \`${r.command.slice(0, 200)}\` exited ${r.code}${r.signal !== "" ? ` (${r.signal})` : ""}` +
            `${r.stderr.trim() !== "" ? `:\n${tail(r.stderr)}` : ""}${r.stdout.trim() !== "" ? `\nstdout:\n${tail(r.stdout)}` : ""}`,
    );
}

/** Prefix of a command's lines on stdout, and the label of its progress scope. */
function commandLabel(props: { description?: string }): string {
    return `[RemoteCommand ${props.description ?? ""}]`;
}

const lifecycle = {
    async diff(_id: pulumi.ID, recorded: RemoteCommandOutputs, wanted: RemoteCommandInputs): Promise<pulumi.dynamic.DiffResult> {
        const [olds, news] = [withAddedDefaults(recorded), withAddedDefaults(wanted)];
        const replaces = [
            ...REPLACING.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])),
            ...(olds.stdin !== news.stdin && news.update.length === 0 ? (["stdin"] as const) : []),
        ];
        // connection.messages is message text only: never a change.
        const comparable = (r: Partial<RemoteCommandInputs>) => ({
            ...r,
            connection: r.connection === undefined ? undefined : { ...r.connection, messages: undefined },
        });
        const [o, n] = [comparable(olds), comparable(news)];
        const changed =
            replaces.length > 0 ||
            (["delete", "timeoutSeconds", "description", "connection", "stdin", "update", "deleteBeforeReplace"] as const).some(
                (k) => JSON.stringify(o[k]) !== JSON.stringify(n[k]),
            );
        return { changes: changed, replaces: [...replaces], deleteBeforeReplace: news.deleteBeforeReplace };
    },

    async create(given: RemoteCommandInputs): Promise<pulumi.dynamic.CreateResult> {
        const inputs = withAddedDefaults(given);
        if (inputs.stdin !== "" && inputs.stdinFile !== "") {
            throw new Error(`${inputs.description}: give stdin or stdinFile, not both (both are create's stdin)`);
        }
        const id = `${inputs.connection.host}:${inputs.description}`;
        if (inputs.unless.length > 0) {
            const done = await runRemote(inputs.connection, inputs.unless, { timeoutSeconds: inputs.timeoutSeconds });
            if (done.code === 0) {
                return { id, outs: { ...inputs, stdout: keptOutput(done.stdout), stderr: "", skipped: true } };
            }
        }
        const r = await runRemote(inputs.connection, inputs.create, {
            timeoutSeconds: inputs.timeoutSeconds,
            ...(inputs.stdinFile !== "" ? { stdinFile: inputs.stdinFile } : {}),
            ...(inputs.stdin !== "" ? { stdin: inputs.stdin } : {}),
        });
        if (r.code !== 0) {
            throw failed(inputs.description, r);
        }
        return { id, outs: { ...inputs, stdout: keptOutput(r.stdout), stderr: keptOutput(r.stderr), skipped: false } };
    },

    // stdin changed and `update` takes it: run update with the new stdin. Otherwise only settings that need
    // no new run changed (the connection, the delete command): keep what create printed.
    async update(_id: pulumi.ID, recorded: RemoteCommandOutputs, wanted: RemoteCommandInputs): Promise<pulumi.dynamic.UpdateResult> {
        const [olds, news] = [withAddedDefaults(recorded), withAddedDefaults(wanted)];
        if (!stdinOnlyUpdate(olds, news)) {
            return { outs: { ...news, stdout: olds.stdout, stderr: olds.stderr, skipped: olds.skipped } };
        }
        const r = await runRemote(news.connection, news.update, { timeoutSeconds: news.timeoutSeconds, stdin: news.stdin });
        if (r.code !== 0) {
            throw failed(`updating ${news.description}`, r);
        }
        return { outs: { ...news, stdout: keptOutput(r.stdout), stderr: keptOutput(r.stderr), skipped: false } };
    },

    async delete(_id: pulumi.ID, props: RemoteCommandOutputs): Promise<void> {
        if (props.delete.length === 0) {
            return;
        }
        const r = await runRemote(props.connection, props.delete, { timeoutSeconds: props.timeoutSeconds });
        if (r.code !== 0) {
            throw failed(`deleting ${props.description}`, r);
        }
    },
};

/** The provider, create and delete run in the resource's progress scope (progress.ts): the upload's bytes and a login's line appear under it. */
export const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
    diff: (id, olds, news) => lifecycle.diff(id, olds as RemoteCommandOutputs, news as RemoteCommandInputs),
    create: (inputs) => withProgressScope(inputs, commandLabel(inputs as RemoteCommandInputs), () => lifecycle.create(inputs as RemoteCommandInputs)),
    update: (id, olds, news) =>
        withProgressScope(news, commandLabel(news as RemoteCommandInputs), () =>
            lifecycle.update(id, olds as RemoteCommandOutputs, news as RemoteCommandInputs),
        ),
    delete: (id, props) => withProgressScope(props, commandLabel(props as RemoteCommandOutputs), () => lifecycle.delete(id, props as RemoteCommandOutputs)),
};
