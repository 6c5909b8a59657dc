// One held SlurmJob over the openssh transport with a key file from config (identityFile):
// the state records that path, as it records the connection of whichever machine ran `up`.
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";

const config = new pulumi.Config();

const job = new SlurmJob("service", {
    connection: {
        host: config.require("host"),
        port: config.requireNumber("port"),
        user: config.require("user"),
        hostKey: config.require("hostKey"),
        transport: "openssh",
        identityFile: config.require("identityFile"),
        controlPath: config.require("controlPath"),
    },
    command: "true",
    output: "/dev/null",
    time: "10",
    extraArgs: ["--begin=now+1hour"],
    cancelGraceSeconds: 0,
});

export const jobId = job.jobId;
