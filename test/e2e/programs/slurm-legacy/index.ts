// The e2e SlurmJob program with the SlurmJob of main before issue 9 (provider-v0/ is a
// verbatim copy of providers/slurm at commit 512b1ed): it writes a state that holds the
// whole provider, frozen, as every stack deployed before the shim does. The test then runs
// the current program (../slurm) on that state: refresh, up, destroy must work.
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "./provider-v0";

const config = new pulumi.Config();

const job = new SlurmJob("service", {
    connection: {
        host: config.require("host"),
        port: config.requireNumber("port"),
        user: config.require("user"),
        privateKey: config.requireSecret("privateKey"),
        hostKey: config.require("hostKey"),
    },
    jobName: config.get("jobName") ?? "sparc-e2e-service",
    command: "sleep 3600",
    time: "30",
    output: "/dev/null",
    waitFor: "running",
    waitTimeoutSeconds: 120,
    waitPollSeconds: 1,
    cancelGraceSeconds: 0,
});

export const jobId = job.jobId;
export const state = job.state;
export const ownerTag = job.ownerTag;
