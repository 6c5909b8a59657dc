// Two SlurmJobs on the local test cluster that fail the hpg stack's readiness check while their
// log and their /health answer hold a secret the job read from a file on the cluster (config `dir`):
// "silent" prints it and never writes its endpoint file; "foreign" prints it and serves it as its
// /health body without its job id. The secret itself is in no input of this program.
import * as pulumi from "@pulumi/pulumi";
import { SlurmJob } from "../../../../providers/slurm";
import { readinessScript } from "../../../../components/hpg/commands";
import { shQuote } from "../../../../providers/remote/quote";

const config = new pulumi.Config();
const dir = config.require("dir");
const endpointPattern = `${dir}/ready_%j.endpoint`;
const connection = {
    host: config.require("host"),
    port: config.requireNumber("port"),
    user: config.require("user"),
    privateKey: config.requireSecret("privateKey"),
    hostKey: config.require("hostKey"),
};
const common = {
    connection,
    time: "10",
    waitFor: "running" as const,
    waitTimeoutSeconds: 120,
    waitPollSeconds: 1,
    cancelGraceSeconds: 0,
    readyCheck: readinessScript({ endpointPattern, timeoutSeconds: 20 }),
    readyTimeoutSeconds: 60,
};
const token = `$(cat ${shQuote(`${dir}/token`)})`;

const silent = new SlurmJob("silent", {
    ...common,
    output: `${dir}/silent_%j.log`,
    command: `echo "SERVICE_TOKEN=${token}"\nexec sleep 600`,
});

const foreign = new SlurmJob("foreign", {
    ...common,
    output: `${dir}/foreign_%j.log`,
    command: [
        `echo "SERVICE_TOKEN=${token}"`,
        `www=${shQuote(dir)}/www_$SLURM_JOB_ID; mkdir -p "$www"; printf '{"status":"ok","token":"%s"}' "${token}" > "$www/health"`,
        "port=$((20000 + RANDOM % 20000))",
        'cd "$www" && python3 -m http.server --bind 0.0.0.0 "$port" &',
        // The endpoint file only once the server answers, so the check meets the foreign answer, not a closed port.
        'for _ in $(seq 100); do curl -fsS -o /dev/null "http://localhost:$port/health" 2>/dev/null && break; sleep 0.2; done',
        `printf '%s %s %s\\n' "\${SLURMD_NODENAME:-$(hostname -s)}" "$port" "$SLURM_JOB_ID" > ${shQuote(dir)}/ready_$SLURM_JOB_ID.endpoint`,
        "wait",
    ].join("\n"),
});

export const silentJob = silent.jobId;
export const foreignJob = foreign.jobId;
