export { SlurmJob, ownerTagFor, type SlurmJobArgs } from "./resource";
export { slurmJobProvider, SLURM_JOB_DEFAULTS } from "./provider";
export { slurmStats, queryJobs, findJobsByTag, SlurmCommandError } from "./scheduler";
export { renderBatchScript, sbatchOptions } from "./render";
export { diffJob, FIELD_POLICY } from "./fields";
// Slurm's own vocabulary (sizes, time limits, GPU requests), for config checks before anything reaches a provider.
export { CLUSTER_CHECK_MODES, WAIT_FOR_VALUES } from "./types";
export { parseSlurmMemory } from "./memory";
export { parseSlurmTime } from "./time";
export { gpuRequestProblem, parseGpuRequest } from "./gpus";
// The provider's own field rules, so a stack can run them at preview and name its config key instead of the field.
export { validateJobInputs } from "./validate";
export { describeValue } from "./validation";
export type * from "./types";
// The neutral SSH module's runner and RemoteCommand: state's shim requires remoteCommandProvider from this
// package, and both providers must use the same module instance (one pool, one login per host).
export { runRemote, closeAllConnections, sshPool, openSshMaster, DEFAULT_MFA_PROMPT_PATTERN, classifyPrompt } from "../remote";
export { RemoteCommand, type RemoteCommandArgs } from "../remote";
export { remoteCommandProvider, type RemoteCommandInputs, type RemoteCommandOutputs } from "../remote";
