// Public surface of the hpg stack (Apptainer + SLURM on HiPerGator).
export { loadHpgConfig, hpgConfigDefaults, gpuConfigProblems } from "./config";
export type { HpgConfig } from "./config";
export { HpgStack, identityHash, slurmConnection, serviceJobSpec, serviceJobCommand, endpointFileOf, endpointPatternOf, sifBuildJobSpec } from "./hpgStack";
export * from "./commands";
export { resolveSshHost } from "./sshConfig";
