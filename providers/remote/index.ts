// The neutral shell/SSH module: quoting, the OpenSSH command lines, second-factor prompts, pinned
// host keys, runRemote over one pooled login per host, and the RemoteCommand resource. The Slurm
// provider (providers/slurm) and the components use it; it knows nothing of Slurm.
export { shJoin, shQuote } from "./quote";
export { AmbiguousRemoteError, ChannelRefusedError, SshConnectError, closeAllConnections, connectionKey, runRemote, sshPool } from "./remote";
export type { RemoteResult, RunOptions, SshConnection, SshStats } from "./remote";
export {
    DEFAULT_CONTROL_PATH,
    controlArgv,
    destination,
    forwardArgv,
    knownHostsLine,
    masterArgv,
    muxArgv,
    openSshOptions,
    proxyThroughMaster,
    sshArgv,
    type OpenSshTarget,
} from "./openssh";
export { openSshMaster } from "./opensshTransport";
export { DEFAULT_MFA_PROMPT_PATTERN, MFA_ANSWERS_ENV, classifyPrompt, passwordPortMessage, secondFactorAnswersFromEnv } from "./prompts";
export type { ConnectionField, ConnectionMessages } from "./keyNames";
export { parsePinnedHostKey, parsePinnedHostKeys } from "./hostKey";
export { RemoteCommand, type RemoteCommandArgs } from "./remoteCommandResource";
export { remoteCommandProvider, type RemoteCommandInputs, type RemoteCommandOutputs } from "./remoteCommand";
