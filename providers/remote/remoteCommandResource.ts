// The RemoteCommand resource: a thin class over remoteCommandProvider.
import * as pulumi from "@pulumi/pulumi";
import type { SshConnection } from "./connection";
// The shim lives with the package that state requires by name (providers/slurm), which exports this provider too.
import { remoteCommandShim } from "../slurm/shim";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export interface RemoteCommandArgs {
    /** How to reach the host; the same connection as the stack's SlurmJobs shares their login. Stored as a secret. */
    connection: pulumi.Input<Inputs<SshConnection>>;
    create: pulumi.Input<string[]>;
    unless?: pulumi.Input<string[]>;
    stdinFile?: pulumi.Input<string>;
    delete?: pulumi.Input<string[]>;
    triggers?: pulumi.Input<unknown[]>;
    /** Bound on each command (default 3600 s). */
    timeoutSeconds?: pulumi.Input<number>;
}

export class RemoteCommand extends pulumi.dynamic.Resource {
    declare readonly stdout: pulumi.Output<string>;
    declare readonly stderr: pulumi.Output<string>;
    declare readonly skipped: pulumi.Output<boolean>;

    constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
        // State holds the shim, which loads the installed provider (@sparc-deploy/slurm-provider) at each call.
        super(
            remoteCommandShim,
            name,
            {
                connection: pulumi.secret(args.connection),
                create: args.create,
                unless: args.unless ?? [],
                stdinFile: args.stdinFile ?? "",
                delete: args.delete ?? [],
                triggers: args.triggers ?? [],
                timeoutSeconds: args.timeoutSeconds ?? 3600,
                description: name,
                stdout: undefined,
                stderr: undefined,
                skipped: undefined,
            },
            {
                ...opts,
                additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"],
            },
            "ssh",
            "RemoteCommand",
        );
    }
}
