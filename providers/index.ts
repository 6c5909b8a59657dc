/**
 * `@sparc-deploy/slurm-provider`: Slurm batch jobs as Pulumi resources, over SSH.
 *
 * - {@link SlurmJob}: one Slurm job (sbatch exactly once, read with squeue/sacct, scancel on
 *   destroy, in-place `scontrol update` where Slurm allows it, a service that renews itself as a chain).
 * - {@link RemoteCommand}: one command on the login node over the same login (one second-factor
 *   prompt per `pulumi up`).
 * - {@link SshConnection}: how both reach the cluster.
 *
 * The helpers below them are the provider's own rules (field policy, validation, Slurm's time and
 * memory syntax) and the neutral SSH layer's quoting and OpenSSH command lines, for programs that
 * want to check their configuration at preview or build their own ssh lines the same way.
 *
 * @packageDocumentation
 */

import type * as pulumi from "@pulumi/pulumi";
import type { SshConnection } from "./remote/connection";

// The resources and their types.
export { SlurmJob, ownerTagFor, type SlurmJobArgs } from "./slurm/resource";
export { RemoteCommand, type RemoteCommandArgs } from "./remote/remoteCommandResource";
export { ShimResource } from "./dynamicResource";
export type { RemoteCommandInputs, RemoteCommandOutputs } from "./remote/remoteCommand";
export type { ClusterChecks, JobSpec, JobStatusFields, RenewalOutputs, SlurmJobInputs, SlurmJobOutputs, WaitFor } from "./slurm/types";
export type { SshConnection } from "./remote/connection";

/**
 * {@link SshConnection} with every field a `pulumi.Input` (for example `privateKey` from
 * `config.requireSecret`): what {@link SlurmJobArgs.connection} and {@link RemoteCommandArgs.connection} take.
 */
export type SshConnectionArgs = { [K in keyof SshConnection]: pulumi.Input<SshConnection[K]> };

// What each input change does, the defaults, and the provider's own input rules.
export { FIELD_POLICY, type FieldPolicy } from "./slurm/fields";
export { SLURM_JOB_DEFAULTS } from "./slurm/defaults";
export { CLUSTER_CHECK_MODES, WAIT_FOR_VALUES } from "./slurm/types";
export { validateJobInputs } from "./slurm/validate";
export { describeValue, type ValidationFailure } from "./slurm/validation";
export { parseSlurmMemory } from "./slurm/memory";
export { parseSlurmTime } from "./slurm/time";
export { gpuRequestProblem, parseGpuRequest } from "./slurm/gpus";
export { JOURNAL_DIR_ENV } from "./slurm/journal";

// The neutral SSH layer: quoting, the OpenSSH command lines, second-factor prompts, pinned host keys.
export { shJoin, shQuote } from "./remote/quote";
export {
    DEFAULT_CONTROL_PATH,
    controlArgv,
    destination,
    knownHostsLine,
    masterArgv,
    muxArgv,
    openSshOptions,
    proxyThroughMaster,
    sshArgv,
    type OpenSshTarget,
} from "./remote/openssh";
export {
    DEFAULT_MFA_PROMPT_PATTERN,
    MFA_ANSWERS_ENV,
    classifyPrompt,
    passwordPortMessage,
    secondFactorAnswersFromEnv,
    type PromptVerdict,
} from "./remote/prompts";
export type { ConnectionField, ConnectionMessages } from "./remote/keyNames";
export { parsePinnedHostKey, parsePinnedHostKeys, type PinnedHostKey } from "./remote/hostKey";
export { closeAllConnections } from "./remote/remote";

/**
 * The providers that Pulumi state's shim calls: state holds a few hundred bytes that
 * `require("@sparc-deploy/slurm-provider")` and call these, so every operation, also on old
 * resources, runs the installed version. Not for programs.
 * @internal
 */
export { slurmJobProvider } from "./slurm/provider";
/** @internal */
export { remoteCommandProvider } from "./remote/remoteCommand";
