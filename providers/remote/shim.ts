// What Pulumi stores in state for every RemoteCommand: a few hundred bytes that load the provider from the
// installed @sparc-deploy/slurm-provider package at each call (the same module instance as SlurmJob's, so one
// pool and one login per host). Beside the resource it serves, so providers/remote needs nothing of providers/slurm.
// State holds only the serialized functions (they require the package by name), never this file's path.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteCommandInputs, RemoteCommandOutputs } from "./remoteCommand";
import { LEGACY_SHIM_MARKER } from "../legacy";

type CommandProvider = pulumi.dynamic.ResourceProvider<RemoteCommandInputs, RemoteCommandOutputs>;

/** The same for every RemoteCommand (e.g. a copy, a build and a delete step): today's code, and the same module (one pool, one login) as SlurmJob. */
export const remoteCommandShim: CommandProvider & { shim: string } = {
    shim: LEGACY_SHIM_MARKER,
    diff: (id, olds, news) => (require("@sparc-deploy/slurm-provider").remoteCommandProvider as Required<CommandProvider>).diff(id, olds, news),
    create: (inputs) => (require("@sparc-deploy/slurm-provider").remoteCommandProvider as Required<CommandProvider>).create(inputs),
    update: (id, olds, news) => (require("@sparc-deploy/slurm-provider").remoteCommandProvider as Required<CommandProvider>).update(id, olds, news),
    delete: (id, props) => (require("@sparc-deploy/slurm-provider").remoteCommandProvider as Required<CommandProvider>).delete(id, props),
};
