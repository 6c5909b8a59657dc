// Self-renewing SlurmJob chains on the local test cluster, one per name in config `moments`
// (test/cluster/slurm-chain.test.ts drives `pulumi destroy` at the worst moments of a renewal).
// Each chain lives in <dir>/<moment>, and its jobs find `sbatch` first in <dir>/<moment>/bin,
// where the test may put a wrapper that holds the successor's sbatch at a chosen moment.
// Connection from stack config; `time` (minutes) and `renewBeforeSeconds` set the renewal period.
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";
import { readinessScript } from "../../../../components/hpg/commands";
import { chainEndpointPattern, chainService } from "../../../support/chainService";

const config = new pulumi.Config();
const dir = config.require("dir");
const connection = {
    host: config.require("host"),
    port: config.requireNumber("port"),
    user: config.require("user"),
    privateKey: config.requireSecret("privateKey"),
    hostKey: config.require("hostKey"),
};

export const chains: Record<string, pulumi.Output<string | undefined>> = {};
for (const moment of config.require("moments").split(",")) {
    const work = `${dir}/${moment}`;
    const job = new SlurmJob(moment, {
        connection,
        jobName: `sparc-e2e-chain-${moment}`,
        command: chainService(work),
        partition: "debug",
        time: config.require("time"),
        mem: "100M",
        output: `${work}/chain_%j.log`,
        workdir: work,
        extraArgs: [`--export=ALL,PATH=${work}/bin:/usr/local/bin:/usr/bin:/bin`],
        waitFor: "running",
        waitTimeoutSeconds: 60,
        cancelGraceSeconds: 2,
        deleteTimeoutSeconds: 60,
        readyCheck: readinessScript({ endpointPattern: chainEndpointPattern(work), timeoutSeconds: 30 }),
        readyTimeoutSeconds: 30,
        renewBeforeSeconds: config.requireNumber("renewBeforeSeconds"),
        chainDir: `${work}/chains`,
        chainPollSeconds: 2,
    });
    chains[moment] = job.chainPath;
}
