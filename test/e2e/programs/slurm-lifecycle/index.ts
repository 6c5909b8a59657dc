// One long-running SlurmJob on the local test cluster, for the lifecycle tests
// (test/e2e/slurm-lifecycle.test.ts). Connection from stack config. Optional config:
// hold (submit held with --begin, so it stays PENDING), waitFor, waitTimeoutSeconds,
// ready (run a readiness check that reports the job's start and end).
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";
import type { WaitFor } from "../../../../providers/slurm/types";

const config = new pulumi.Config();
const hold = config.getBoolean("hold") ?? false;
const ready = config.getBoolean("ready") ?? false;

// The readiness check's last line: the job's start as squeue sees it now, and its end (endsAt).
const readyCheck = 'printf \'{"job":"%s","start":"%s","endsAt":%s}\\n\' "$1" "$(squeue -h -j "$1" -o %S)" "$(date -d "$3" +%s)"';

const job = new SlurmJob("service", {
    connection: {
        host: config.require("host"),
        port: config.requireNumber("port"),
        user: config.require("user"),
        privateKey: config.requireSecret("privateKey"),
        hostKey: config.require("hostKey"),
    },
    jobName: "sparc-e2e-lifecycle",
    command: "sleep 3600",
    time: "30",
    output: "/dev/null",
    waitFor: (config.get("waitFor") as WaitFor | undefined) ?? "running",
    waitTimeoutSeconds: config.getNumber("waitTimeoutSeconds") ?? 120,
    waitPollSeconds: 1,
    cancelGraceSeconds: 0,
    ...(ready ? { readyCheck } : {}),
    ...(hold ? { extraArgs: ["--begin=now+1hour"] } : {}),
});

export const jobId = job.jobId;
export const state = job.state;
export const startTime = job.startTime;
export const nodeList = job.nodeList;
export const readyReport = job.readyReport;
export const endsAt = job.endsAt;
