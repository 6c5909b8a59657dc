// An upload (RemoteCommand with stdinFile) and then a SlurmJob held PENDING (--begin one hour
// out) that waits waitTimeoutSeconds for RUNNING, over one connection from stack config: the
// progress lines of both, and the line before the login, are what the engine test reads.
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand, SlurmJob, type SshConnectionArgs } from "../../../../providers";

const config = new pulumi.Config();
const transport = config.get("transport") === "openssh" ? "openssh" : "ssh2";
// The second-factor answer comes from SPARC_HPG_MFA_ANSWERS in the environment (never config or state).
const connection: SshConnectionArgs = {
    host: config.require("host"),
    port: config.requireNumber("port"),
    user: config.require("user"),
    hostKey: config.require("hostKey"),
    transport,
    dialTimeoutSeconds: 15,
    ...(transport === "ssh2"
        ? { privateKey: config.requireSecret("privateKey") }
        : { identityFile: config.require("identityFile"), controlPath: config.require("controlPath") }),
};

const remoteFile = config.require("remoteFile");
const upload = new RemoteCommand("upload", {
    connection,
    create: ["dd", `of=${remoteFile}`, "bs=1M", "status=none"],
    stdinFile: config.require("uploadFile"),
    delete: ["rm", "-f", "--", remoteFile],
});

const held = new SlurmJob(
    "held",
    {
        connection,
        jobName: config.require("jobName"),
        command: "sleep 600",
        time: "30",
        output: "/dev/null",
        extraArgs: ["--begin=now+1hour"],
        waitFor: "running",
        waitTimeoutSeconds: config.requireNumber("waitTimeoutSeconds"),
        waitPollSeconds: 1,
        cancelGraceSeconds: 0,
    },
    { dependsOn: [upload] },
);

export const jobId = held.jobId;
