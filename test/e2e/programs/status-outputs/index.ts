// The outputs `npm run status` reads from an hpg stack (index.ts's hpg target), given by the test:
// a real job it submitted on the test cluster, so status and logs meet a real squeue, curl and log.
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
export const jobId = config.require("outJobId");
export const logPath = config.require("outLogPath");
export const masEndpoint = config.get("outMasEndpoint") ?? "";
