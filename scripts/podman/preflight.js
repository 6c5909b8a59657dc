#!/usr/bin/env node
// @ts-check
"use strict";
// preflight.js - checks before the dev pod is created, each failure naming the fix:
//   * podman is installed and usable (`podman pod exists` opens its store and database),
//   * the Docker-API socket answers /_ping (only when --docker-host is given: image builds),
//   * every host port the pod publishes is free, unless the pod already exists (then
//     it holds them itself: a redeploy).
// Exit 0 = all good; exit 1 = problems listed on stderr. Node builtins only.
//
// usage: node preflight.js --pod sparc-avatar [--docker-host unix:///run/podman/podman.sock]
//          --port masPort=8000/tcp --port turnPort=3478/udp --port webrtcPortRange=49152-49200/udp
const net = require("node:net");
const dgram = require("node:dgram");
const http = require("node:http");
const { execFile } = require("node:child_process");

/** @typedef {{ key: string, port: number, proto: string }} HostPort a published host port and the config key that sets it */

/**
 * @param {string[]} argv
 * @returns {{ pod: string, dockerHost: string, ports: HostPort[], podman: string }}
 */
function parseArgs(argv) {
    /** @type {ReturnType<typeof parseArgs>} */
    const opts = { pod: "", dockerHost: "", ports: [], podman: "podman" };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) throw new Error(`${flag} needs a value`);
        if (flag === "--pod") opts.pod = value;
        else if (flag === "--docker-host") opts.dockerHost = value;
        else if (flag === "--podman") opts.podman = value;
        else if (flag === "--port") {
            const m = /^([A-Za-z]+)=(\d+)(?:-(\d+))?\/(tcp|udp)$/.exec(value);
            if (!m) throw new Error(`--port wants KEY=PORT[-LAST]/tcp|udp, got ${JSON.stringify(value)}`);
            const first = Number(m[2]);
            const last = m[3] === undefined ? first : Number(m[3]);
            for (let p = first; p <= last; p++) opts.ports.push({ key: m[1], port: p, proto: m[4] });
        } else throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
    return opts;
}

/**
 * @param {HostPort} hostPort
 * @returns {Promise<string | null | undefined>} null when free, else the bind error's code (EADDRINUSE, EACCES)
 */
function portFree({ port, proto }) {
    return new Promise((resolve) => {
        if (proto === "tcp") {
            const srv = net.createServer();
            srv.once("error", (/** @type {NodeJS.ErrnoException} */ err) => resolve(err.code));
            srv.listen({ port, host: "0.0.0.0", exclusive: true }, () => srv.close(() => resolve(null)));
        } else {
            const sock = dgram.createSocket("udp4");
            sock.once("error", (/** @type {NodeJS.ErrnoException} */ err) => {
                sock.close();
                resolve(err.code);
            });
            sock.bind({ port, address: "0.0.0.0", exclusive: true }, () => sock.close(() => resolve(null)));
        }
    });
}

/**
 * @param {string} dockerHost
 * @returns {Promise<string | null>} null when the socket answers (or is not a unix:// one), else why not
 */
function pingSocket(dockerHost) {
    const m = /^unix:\/\/(.+)$/.exec(dockerHost);
    if (!m) return Promise.resolve(null); // tcp:// / ssh:// endpoints are left to the docker provider
    return new Promise((resolve) => {
        const req = http.get({ socketPath: m[1], path: "/_ping", timeout: 5000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200 ? null : `HTTP ${res.statusCode}`);
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
        req.on("error", (err) => resolve(err.message));
    });
}

/**
 * A podman command's exit status (null when it did not run or was killed), its stderr, and why it did not run.
 * @param {string} podman
 * @param {string[]} args
 * @returns {Promise<{ status: number | null, stderr: string, error?: string }>}
 */
function podmanStatus(podman, args) {
    return new Promise((resolve) => {
        execFile(podman, args, { encoding: "utf8", timeout: 60_000 }, (err, _stdout, stderr) => {
            const code = /** @type {{ code?: unknown } | null} */ (err)?.code;
            if (err === null) resolve({ status: 0, stderr });
            else if (typeof code === "number") resolve({ status: code, stderr });
            else resolve({ status: null, stderr, error: err.message });
        });
    });
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    /** @type {string[]} */
    const problems = [];
    // One podman call serves both questions (about 0.03 s, where `podman info` takes 0.2-0.3 s): it opens
    // libpod's store and database as every later podman command does, and exits 0 (the pod exists) or 1 (it
    // does not). The socket is asked meanwhile.
    const ping = opts.dockerHost === "" ? Promise.resolve(null) : pingSocket(opts.dockerHost);
    const exists = await podmanStatus(opts.podman, ["pod", "exists", opts.pod || "sparc-preflight-none"]);
    // Exit 1 is also what podman gives when it cannot read its configuration (with a message on stderr): a
    // silent 1 is "no such pod"; with a message, `podman info` decides (a warning must not stop a working podman).
    const usable =
        exists.status === 0 ||
        (exists.status === 1 &&
            (exists.stderr.trim() === "" || (await podmanStatus(opts.podman, ["info", "--format", "{{.Host.OCIRuntime.Name}}"])).status === 0));
    if (!usable) {
        const why = exists.error ?? (exists.stderr.trim() || `exit ${exists.status}`).split("\n").slice(-3).join(" / ");
        problems.push(`podman is missing or not usable (${why}). Fix: run \`bash scripts/podman/setup.sh\` as root (installs and configures rootful podman).`);
    }
    const pingError = await ping;
    if (pingError !== null) {
        problems.push(
            `the Docker API at dockerHost=${opts.dockerHost} does not answer /_ping (${pingError}); image builds need it. Fix: run \`bash scripts/podman/setup.sh\` (starts \`podman system service\`) or \`pulumi config set dockerHost <endpoint>\`.`,
        );
    }
    const podExists = problems.length === 0 && opts.pod !== "" && exists.status === 0;
    if (!podExists) {
        for (const p of opts.ports) {
            const code = await portFree(p);
            if (code !== null) {
                problems.push(
                    `${p.key}: host port ${p.port}/${p.proto} is not free (${code}). Fix: stop what uses it (\`ss -lnp${p.proto === "udp" ? "u" : "t"} 'sport = :${p.port}'\`) or \`pulumi config set ${p.key} <other port>\`.`,
                );
            }
        }
    }
    if (problems.length > 0) {
        console.error(`dev stack preflight failed:\n  - ${problems.join("\n  - ")}`);
        return 1;
    }
    console.log(podExists ? `preflight ok (pod ${opts.pod} exists: port checks skipped)` : `preflight ok (${opts.ports.length} host ports free)`);
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`preflight: ${err.message}`);
        process.exit(2);
    },
);
