#!/usr/bin/env node
"use strict";
// remove-image.js - removes one image the stack built, by id, through the Docker API it was
// built with (docker.Image's delete is a no-op, so without this `pulumi destroy` and every
// rebuild would leave the old image behind). Gone already = success; only that id is touched,
// never a base image. Node builtins only.
//
// usage: node remove-image.js --docker-host unix:///run/podman/podman.sock --image sha256:<id>
const http = require("node:http");

function parseArgs(argv) {
    const opts = { dockerHost: "", image: "" };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) throw new Error(`${flag} needs a value`);
        if (flag === "--docker-host") opts.dockerHost = value;
        else if (flag === "--image") opts.image = value;
        else throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
    if (opts.image === "") throw new Error("--image is required");
    return opts;
}

/** http.request options for a Docker endpoint: unix:// socket or tcp:// (plain HTTP). */
function endpoint(dockerHost) {
    const unix = /^unix:\/\/(.+)$/.exec(dockerHost);
    if (unix) return { socketPath: unix[1] };
    const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
    if (tcp) return { host: tcp[1], port: Number(tcp[2] ?? 2375) };
    return null;
}

function removeImage(target, image) {
    return new Promise((resolve, reject) => {
        const req = http.request({ ...target, method: "DELETE", path: `/images/${encodeURIComponent(image)}`, timeout: 60_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode, body }));
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 60 s")));
        req.on("error", reject);
        req.end();
    });
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const target = endpoint(opts.dockerHost);
    if (target === null) {
        console.log(`${opts.image} left in place: dockerHost=${opts.dockerHost} is neither unix:// nor tcp://; remove it with \`docker image rm ${opts.image}\``);
        return 0;
    }
    const { status, body } = await removeImage(target, opts.image);
    if (status === 200) {
        console.log(`removed ${opts.image}`);
        return 0;
    }
    if (status === 404) {
        console.log(`${opts.image} already gone`);
        return 0;
    }
    // 409: still used by a container (one the stack does not manage); say which fix applies.
    console.error(`could not remove image ${opts.image} at ${opts.dockerHost}: HTTP ${status} ${body.trim()}. ` +
        `Fix: remove the containers that use it (\`podman ps -a --filter ancestor=${opts.image}\`), then rerun.`);
    return 1;
}

main().then((code) => process.exit(code), (err) => { console.error(`remove-image: ${err.message}`); process.exit(2); });
