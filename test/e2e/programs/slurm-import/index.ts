// One SlurmJob on the local test cluster, taken over with Pulumi's `import` resource option
// (config importId: refused) or with adoptJobId (config adoptJobId) instead of being submitted.
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";

const config = new pulumi.Config();
const importId = config.get("importId");
const adoptJobId = config.get("adoptJobId");

const job = new SlurmJob(
    "adopted",
    {
        connection: {
            host: config.require("host"),
            port: config.requireNumber("port"),
            user: config.require("user"),
            privateKey: config.requireSecret("privateKey"),
            hostKey: config.require("hostKey"),
        },
        command: "sleep 600",
        output: "/dev/null",
        time: "10",
        cancelGraceSeconds: 0,
        ...(adoptJobId === undefined ? {} : { adoptJobId }),
    },
    importId === undefined ? {} : { import: importId },
);

export const jobId = job.jobId;
export const state = job.state;
