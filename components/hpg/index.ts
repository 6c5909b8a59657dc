// Public surface of the hpg stack (Apptainer + SLURM on HiPerGator).
export { loadHpgConfig, hpgConfigDefaults, hpgDefaultSshPort } from "./config";
export { SERVICE_JOB_KEYS, SIF_BUILD_JOB_KEYS, hpgJobProblems, jobSpecProblems, gpuConfigProblems } from "./jobSpecs";
export type { HpgConfig } from "./config";
export { HpgStack, identityHash, slurmConnection, serviceJobSpec, serviceJobCommand, endpointFileOf, endpointPatternOf, sifBuildJobSpec } from "./hpgStack";
export * from "./commands";
export { resolveSshHost } from "../sshConfig";
