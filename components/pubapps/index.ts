// Public surface of the pubapps stack (rootless Podman + systemd user services on UF PubApps).
export { loadPubappsConfig, pubappsConfigDefaults, unitFormats } from "./config";
export type { PubappsConfig } from "./config";
export { PubappsStack } from "./pubappsStack";
export { pubappsConnection, podPublish, pubappsServices, localImageId } from "./plan";
export * from "./units";
export * from "./remote";
export { checkPublicUrl, describeProbe, probePublicUrl, probePassed, probeHint, type PublicProbe } from "./publicCheck";
