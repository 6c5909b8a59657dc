export { SlurmJob, ownerTagFor, type SlurmJobArgs } from "./resource";
export { slurmJobProvider, slurmStats, queryJobs, findJobsByTag, SlurmCommandError, SLURM_JOB_DEFAULTS } from "./provider";
export { runRemote, closeAllConnections, sshPool } from "./ssh";
export { renderBatchScript, sbatchOptions } from "./render";
export { diffJob, FIELD_POLICY } from "./fields";
export type * from "./types";
