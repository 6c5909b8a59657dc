// One long-running SlurmJob on the local test cluster, connection from stack config.
// Optional config: resourceName (renamed with an alias to "service"), hold (submit held
// with --begin, so it stays PENDING).
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";

const config = new pulumi.Config();
const resourceName = config.get("resourceName") ?? "service";
const hold = config.getBoolean("hold") ?? false;

const job = new SlurmJob(
    resourceName,
    {
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
        ...(hold ? { extraArgs: ["--begin=now+1hour"] } : {}),
    },
    resourceName === "service" ? {} : { aliases: [{ name: "service" }] },
);

export const jobId = job.jobId;
export const state = job.state;
export const ownerTag = job.ownerTag;
