// How users reach the hpg service, run for real with bash, curl and sockets on this machine:
// the service job's body picks a free port (a socket of this test holds the configured one) and
// writes the endpoint file; the readiness script accepts only our job's /health and refuses a
// foreign service on the port; the tunnel line, the endpoint file's place, the renewal rule.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
    currentEndpointFile,
    endpointFilePattern,
    parseReadinessReport,
    readinessScript,
    serviceJobBody,
    tunnelCommand,
} from "../../../../components/hpg/commands";
import { run } from "../../../support/spawn";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-reach-"));
const servers: (net.Server | http.Server)[] = [];

function listen(server: net.Server | http.Server, port = 0): Promise<number> {
    servers.push(server);
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, () => resolve((server.address() as net.AddressInfo).port));
    });
}

/** An HTTP server whose /health answers with this body. */
function healthServer(body: object): http.Server {
    return http.createServer((_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(body));
    });
}

/** Runs bash asynchronously: the HTTP servers of this process must keep answering meanwhile. */
async function bash(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await run("bash", ["-c", script, "test", ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
    // A stand-in `apptainer` that shows what the job would run, instead of running it.
    fs.writeFileSync(path.join(dir, "apptainer"), '#!/bin/sh\necho "apptainer $* SPARC_JOB_ID=$APPTAINERENV_SPARC_JOB_ID"\n', { mode: 0o755 });
});

afterAll(() => {
    servers.forEach((s) => s.close());
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("the service job's body", () => {
    const pattern = `${dir}/sparc_service_%j.endpoint`;
    const run = (port: number, jobId: string) =>
        bash(serviceJobBody({ modules: [], sif: "/x/mas.sif", port, endpointPattern: pattern, gpus: false, appDir: "/app" }), [], {
            PATH: `${dir}:${process.env.PATH}`,
            SLURM_JOB_ID: jobId,
            SLURMD_NODENAME: "c0900a-s1",
        });

    it("uses the configured port when it is free, and writes node, port and job id next to the log", async () => {
        const probe = net.createServer();
        const free = await listen(probe);
        await new Promise((r) => probe.close(r));
        const r = await run(free, "7001");
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(`${dir}/sparc_service_7001.endpoint`, "utf8")).toBe(`c0900a-s1 ${free} 7001\n`);
        expect(r.stdout).toContain(`apptainer exec --pwd /app /x/mas.sif uvicorn main:app --host 0.0.0.0 --port ${free} SPARC_JOB_ID=7001`);
    });

    it.each([
        ["IPv6 (any address)", "::"],
        ["IPv4 (any address)", "0.0.0.0"],
        ["IPv4 loopback only", "127.0.0.1"],
    ])("picks another free port when another process holds the configured one on %s", async (_label, host) => {
        const holder = net.createServer();
        servers.push(holder);
        const taken = await new Promise<number>((resolve) => holder.listen(0, host, () => resolve((holder.address() as net.AddressInfo).port)));
        const r = await run(taken, "7002");
        expect(r.code, r.stderr).toBe(0);
        const [node, port, job] = fs.readFileSync(`${dir}/sparc_service_7002.endpoint`, "utf8").trim().split(" ");
        expect([node, job]).toEqual(["c0900a-s1", "7002"]);
        expect(Number(port)).not.toBe(taken);
        expect(Number(port)).toBeGreaterThanOrEqual(20000);
        expect(r.stdout).toContain(`sparc: port ${taken} is taken on c0900a-s1; using ${port}`);
        expect(r.stdout).toContain(`--port ${port} SPARC_JOB_ID=7002`);
        holder.close();
    });
});

describe("the readiness script", () => {
    const pattern = `${dir}/ready_%j.endpoint`;
    const script = readinessScript({ endpointPattern: pattern, timeoutSeconds: 2 });
    const log = `${dir}/job.log`;
    fs.writeFileSync(log, "INFO: Uvicorn running on http://0.0.0.0:1\n");

    it("accepts our job's /health, points the current endpoint file at it and reports node, port, job and end", async () => {
        const port = await listen(healthServer({ status: "ok", job_id: "8001" }));
        fs.writeFileSync(`${dir}/ready_8001.endpoint`, `127.0.0.1 ${port} 8001\n`);
        const r = await bash(script, ["8001", log, "2030-01-01T00:00:00"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`ready: http://127.0.0.1:${port}/health (job 8001)`);
        const report = parseReadinessReport(r.stdout);
        expect(report).toEqual({ node: "127.0.0.1", port, jobId: "8001", endsAt: Math.floor(new Date("2030-01-01T00:00:00").getTime() / 1000) });
        expect(fs.readFileSync(currentEndpointFile(pattern), "utf8")).toBe(`127.0.0.1 ${port} 8001\n`);
    });

    it.each([
        ["another job's service", { status: "ok", job_id: "9999" }],
        ["a service that names no job", { status: "ok" }],
    ])("refuses %s on the port, at once, naming the job's log but showing neither it nor the answer", async (_label, body) => {
        const port = await listen(healthServer(body));
        fs.writeFileSync(`${dir}/ready_8002.endpoint`, `127.0.0.1 ${port} 8002\n`);
        const r = await bash(script, ["8002", log, "2030-01-01T00:00:00"]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            `refusing http://127.0.0.1:${port}/health: it answers, but not as job 8002 (another service holds the port; its answer is not shown)`,
        );
        expect(r.stderr).toContain(`the job's log is not shown here (it may hold secrets): ${log}`);
        expect(r.stderr).not.toContain("Uvicorn running on");
        expect(r.stderr).not.toContain(JSON.stringify(body));
    });

    it("refuses an endpoint file that names another job", async () => {
        fs.writeFileSync(`${dir}/ready_8003.endpoint`, "127.0.0.1 1 7777\n");
        const r = await bash(script, ["8003", log, ""]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`refusing ${dir}/ready_8003.endpoint: it names job '7777' at '127.0.0.1:1', not job 8003`);
    });

    it("gives up within its bound when the job writes no endpoint file", async () => {
        const started = Date.now();
        const r = await bash(script, ["8004", log, ""]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`job 8004 wrote no endpoint file ${dir}/ready_8004.endpoint within 2 s\nthe job's log is not shown here`);
        expect(r.stderr).not.toContain("Uvicorn running on");
        expect(Date.now() - started).toBeLessThan(15_000);
    });

    it("gives up within its bound when nothing answers on the port", async () => {
        const probe = net.createServer();
        const closed = await listen(probe);
        await new Promise((r) => probe.close(r));
        fs.writeFileSync(`${dir}/ready_8005.endpoint`, `127.0.0.1 ${closed} 8005\n`);
        const r = await bash(script, ["8005", log, ""]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`http://127.0.0.1:${closed}/health did not answer within 2 s`);
    });
});

describe("pure pieces", () => {
    it.each([
        ["/blue/g/u/sparc", "sparc_service_%j.log", "/blue/g/u/sparc/sparc_service_%j.endpoint"],
        ["/blue/g/u/sparc", "logs/sparc_%j.out", "/blue/g/u/sparc/logs/sparc_service_%j.endpoint"],
        ["/blue/g/u/sparc", "/blue/g/u/logs/s_%j.log", "/blue/g/u/logs/sparc_service_%j.endpoint"],
    ])("endpoint file next to the log: workDir %s, output %s", (workDir, output, expected) => {
        expect(endpointFilePattern(workDir, output)).toBe(expected);
        expect(currentEndpointFile(expected)).toBe(`${path.dirname(expected)}/sparc_service.endpoint`);
    });

    it.each([
        [{ proxyJump: "", sshPort: 22 }, "ssh -N -L 8000:c1:23456 albert@hpg.rc.ufl.edu"],
        [{ proxyJump: "", sshPort: 2222 }, "ssh -N -L 8000:c1:23456 -p 2222 albert@hpg.rc.ufl.edu"],
        [{ proxyJump: "me@gw.example.org:2200", sshPort: 22 }, "ssh -N -L 8000:c1:23456 -J me@gw.example.org:2200 albert@hpg.rc.ufl.edu"],
    ])("tunnel command %j", (over, expected) => {
        expect(tunnelCommand({ localPort: 8000, node: "c1", port: 23456, user: "albert", host: "hpg.rc.ufl.edu", ...over })).toBe(expected);
    });

    it.each([
        ['{"node":"c1","port":1,"jobId":"2","endsAt":3}', { node: "c1", port: 1, jobId: "2", endsAt: 3 }],
        ['ready\n{"node":"c1","port":1,"jobId":"2"}\n', { node: "c1", port: 1, jobId: "2", endsAt: 0 }],
        ["", undefined],
        ["not json", undefined],
        ['{"node":"c1"}', undefined],
    ])("readiness report %j", (text, expected) => {
        expect(parseReadinessReport(text)).toEqual(expected);
    });
});
