// A small HTTP server as a tracked Slurm job: a directory with a page (a RemoteCommand over the
// same SSH login), and Python's http.server serving it as a job on a CPU partition. `up` returns
// when the server answers on its compute node; `destroy` cancels the job and removes the page.
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand, SlurmJob, type SshConnectionArgs } from "@sparc-deploy/slurm-provider";

const config = new pulumi.Config();
const connection: SshConnectionArgs = {
    host: config.require("host"),
    port: config.getNumber("port") ?? 22,
    user: config.require("user"),
    privateKey: config.requireSecret("privateKey"),
    hostKey: config.require("hostKey"),
};
const httpPort = config.getNumber("httpPort") ?? 8765;
const site = `slurm-http-server/${pulumi.getStack()}`;

// Create runs once (again only when these argv change); delete undoes it.
const page = new RemoteCommand("page", {
    connection,
    create: ["bash", "-c", 'mkdir -p "$1" && printf "hello from %s\\n" "$2" > "$1/index.html"', "page", site, pulumi.getStack()],
    delete: ["rm", "-rf", site],
});

const server = new SlurmJob(
    "server",
    {
        connection,
        jobName: "http-server",
        partition: config.get("partition") ?? "debug",
        time: "60",
        cpusPerTask: 1,
        mem: "200M",
        workdir: site,
        command: `exec python3 -m http.server ${httpPort} --bind 0.0.0.0`,
        waitFor: "running",
        waitPollSeconds: 2,
        cancelGraceSeconds: 0,
        // Runs on the login node once the job is RUNNING (args: job id, log path, end time); up waits for exit 0.
        readyCheck: [
            'node=$(squeue -h -j "$1" -o %N)',
            "for _ in $(seq 60); do",
            `  if python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "http://$node:${httpPort}/"; then exit 0; fi`,
            "  sleep 1",
            "done",
            `echo "no answer from http://$node:${httpPort}/ within 60 s" >&2; exit 1`,
        ].join("\n"),
        readyTimeoutSeconds: 90,
    },
    { dependsOn: [page] },
);

export const jobId = server.jobId;
export const state = server.state;
export const nodeList = server.nodeList;
export const url = pulumi.interpolate`http://${server.nodeList}:${httpPort}/`;
export const readyReport = server.readyReport;
