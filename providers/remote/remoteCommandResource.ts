// The RemoteCommand resource: a thin class over remoteCommandProvider.
import * as pulumi from "@pulumi/pulumi";
import type { SshConnection } from "./connection";
// State keeps the shim, which requires the package by name at each call (one module instance with SlurmJob's provider).
import { remoteCommandShim } from "./shim";
import { ShimResource } from "../dynamicResource";
import { logUrnOf } from "./progress";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Arguments of a RemoteCommand. */
export interface RemoteCommandArgs {
    /** How to reach the host; the same connection as the stack's SlurmJobs shares their login. Stored as a secret. */
    connection: pulumi.Input<Inputs<SshConnection>>;
    /** argv run on create (and again on replace). */
    create: pulumi.Input<string[]>;
    /** When this argv exits 0, create is skipped (`skipped` is true); default [] = always run. */
    unless?: pulumi.Input<string[]>;
    /** A local file streamed to create's stdin (an upload over the same login); default "" = none. */
    stdinFile?: pulumi.Input<string>;
    /**
     * Text given to `create`'s stdin, e.g. a secret's value (not with `stdinFile`). Stored as a secret; never
     * in argv, logs or errors. A change replaces the resource, or runs `update` when one is given. Default "" = none.
     */
    stdin?: pulumi.Input<string>;
    /** argv run in place (with the new `stdin`) when only `stdin` changed; default [] = such a change replaces. */
    update?: pulumi.Input<string[]>;
    /**
     * On replace, run the old `delete` before the new `create` (default true); false creates the new one first
     * and deletes the old one last (a new image loaded while the old one still serves).
     */
    deleteBeforeReplace?: pulumi.Input<boolean>;
    /** argv run on destroy; default [] = nothing to undo. */
    delete?: pulumi.Input<string[]>;
    /** Any values; a change replaces the resource, so create runs again. */
    triggers?: pulumi.Input<unknown[]>;
    /** Bound on each command (default 3600 s). */
    timeoutSeconds?: pulumi.Input<number>;
}

/**
 * One command on a remote host (an argv, quoted by shJoin), over the same pooled SSH login as the
 * SlurmJobs of the run: `up` runs `create` (unless `unless` exits 0), `destroy` runs `delete`.
 * A change of `create`, `unless`, `stdinFile` or `triggers` replaces it; a change of `stdin` too, unless `update` is given.
 */
export class RemoteCommand extends ShimResource {
    declare readonly stdout: pulumi.Output<string>;
    declare readonly stderr: pulumi.Output<string>;
    declare readonly skipped: pulumi.Output<boolean>;

    constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
        // State holds the shim, which loads the installed provider (@sparc-deploy/slurm-provider) at each call.
        super(
            "remoteCommand",
            remoteCommandShim,
            name,
            {
                connection: pulumi.secret(args.connection),
                create: args.create,
                unless: args.unless ?? [],
                stdinFile: args.stdinFile ?? "",
                stdin: args.stdin === undefined ? "" : pulumi.secret(args.stdin),
                update: args.update ?? [],
                deleteBeforeReplace: args.deleteBeforeReplace ?? true,
                delete: args.delete ?? [],
                triggers: args.triggers ?? [],
                timeoutSeconds: args.timeoutSeconds ?? 3600,
                description: name,
                // Where the provider logs this command's progress (the dynamic provider is not told the URN); diff ignores it.
                logUrn: logUrnOf(name, "pulumi-nodejs:dynamic/ssh:RemoteCommand", opts?.parent, pulumi.getProject(), pulumi.getStack()),
                stdout: undefined,
                stderr: undefined,
                skipped: undefined,
            },
            {
                ...opts,
                additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection", "stdin"],
            },
            "ssh",
            "RemoteCommand",
        );
    }
}
