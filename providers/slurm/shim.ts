// What Pulumi stores in state for every SlurmJob: a few hundred bytes that load the
// provider from the installed @sparc-deploy/slurm-provider package at each call, instead
// of a ~91 KB frozen copy of the whole provider. So read and delete of a job submitted
// months ago run today's code, and fixes reach running jobs.
//
// Every method requires the package by name at call time (the dynamic-provider host
// resolves it from the program's node_modules, where the workspace links it).
import type * as pulumi from "@pulumi/pulumi";
import type { SlurmJobInputs, SlurmJobOutputs } from "./types";
import { LEGACY_SHIM_MARKER } from "../legacy";

/** Marks state written through the shim; diff() migrates states that hold an older, frozen provider. */
export const SHIM_MARKER = LEGACY_SHIM_MARKER;

type Provider = pulumi.dynamic.ResourceProvider<SlurmJobInputs, SlurmJobOutputs>;

export const slurmJobShim: Provider & { shim: string } = {
    shim: SHIM_MARKER,
    check: (olds, news) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).check(olds, news),
    diff: (id, olds, news) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).diff(id, olds, news),
    create: (inputs) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).create(inputs),
    read: (id, props) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).read(id, props),
    update: (id, olds, news) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).update(id, olds, news),
    delete: (id, props) => (require("@sparc-deploy/slurm-provider").slurmJobProvider as Required<Provider>).delete(id, props),
};

// RemoteCommand's shim lives beside its resource (providers/remote/shim.ts); re-exported so this module's
// exports stay what they were (state holds the serialized functions, which require only the package by name).
export { remoteCommandShim } from "../remote/shim";
