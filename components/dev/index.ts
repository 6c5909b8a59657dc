// Public surface of the dev stack (local Podman pod).
export { loadDevConfig, devConfigDefaults, unityPlayerPath, imageSources } from "../podConfig";
export type { DevConfig, ImageSource, PortRange } from "../podConfig";
export { DevStack, skippedServices, builtImageName, devScripts, dockerfiles } from "./devStack";
export type { SkippedService } from "./devStack";
export {
    containerPorts,
    referenceContainerNames,
    podPortArgs,
    podCreateArgv,
    podRmArgv,
    containerRunArgv,
    containerRmArgv,
    containerLogsArgv,
    devContainerSpecs,
    render,
} from "../pod";
export type { PodSpec, ContainerSpec, DevContainerPlan, ServiceImages, ServiceName } from "../pod";
