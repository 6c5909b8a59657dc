#!/usr/bin/env node
// @ts-check
"use strict";
// remove-image.js - removes one image the stack built, by id, through the Docker API it was
// built with (docker.Image's delete is a no-op, so without this `pulumi destroy` and every
// rebuild would leave the old image behind). Gone already = success; only that id is touched,
// never a base image. Node builtins only.
//
// usage: node remove-image.js --docker-host unix:///run/podman/podman.sock --image sha256:<id>
const http = require("node:http");

/** @typedef {{ socketPath: string } | { host: string, port: number }} Endpoint where the Docker API listens */
/** @typedef {{ Id: string, Parent?: string, RepoTags?: string[] | null, RootFS?: { Layers?: string[] } }} ImageInfo the fields used of libpod's image JSON */
/** @typedef {{ Id: string, State: string, ImageID: string }} ContainerInfo the fields used of libpod's container list */

/** @param {string[]} argv */
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

/**
 * http.request options for a Docker endpoint: unix:// socket or tcp:// (plain HTTP).
 * @param {string} dockerHost
 * @returns {Endpoint | null}
 */
function endpoint(dockerHost) {
    const unix = /^unix:\/\/(.+)$/.exec(dockerHost);
    if (unix) return { socketPath: unix[1] };
    const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
    if (tcp) return { host: tcp[1], port: Number(tcp[2] ?? 2375) };
    return null;
}

/**
 * @param {Endpoint} target
 * @param {string} method
 * @param {string} apiPath
 * @returns {Promise<{ status: number | undefined, body: string }>}
 */
function call(target, method, apiPath, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
        const req = http.request({ ...target, method, path: apiPath, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer within ${timeoutMs / 1000} s`)));
        req.on("error", reject);
        req.end();
    });
}

/**
 * @param {Endpoint} target
 * @param {string} apiPath
 * @returns {Promise<any>} the parsed body of a 200 answer, else null
 */
async function json(target, apiPath) {
    const { status, body } = await call(target, "GET", apiPath);
    return status === 200 ? JSON.parse(body) : null;
}

const libpod = "/v4.0.0/libpod";

/**
 * The image and its untagged (intermediate) parents, top first, down to the first tagged one (the base); null when not Podman or gone.
 * @param {Endpoint} target
 * @param {string} image
 * @returns {Promise<ImageInfo[] | null>}
 */
async function intermediateChain(target, image) {
    /** @type {ImageInfo | null} */
    const own = await json(target, `${libpod}/images/${encodeURIComponent(image)}/json`);
    if (own === null) return null;
    const chain = [own];
    for (let parent = own.Parent; parent;) {
        /** @type {ImageInfo | null} */
        const img = await json(target, `${libpod}/images/${parent}/json`);
        if (img === null || (img.RepoTags ?? []).length > 0) break;
        chain.push(img);
        parent = img.Parent;
    }
    return chain;
}

/**
 * @pulumi/docker builds with rm=0 (ImageBuildOptions.Remove unset), so Podman keeps the build's
 * working containers ("storage" state, listed only with external=true), and they keep the image
 * in use. Removed here: those sitting on the image, on one of its untagged intermediate parents, or
 * on an untagged image with the same top layer (the metadata-only steps at the end of the build,
 * EXPOSE/HEALTHCHECK/CMD, which Podman's parent links skip). Returns those images too.
 * (A build running right now that shares one of those cached intermediates would lose its working
 * container; buildah gives no way to tell which build a working container belongs to.)
 * Containers that run, or were ever started (any state but "storage"), are never touched.
 * @param {Endpoint} target
 * @param {ImageInfo[]} chain
 * @returns {Promise<{ removed: string[], tail: string[] }>} short ids of the containers removed; ids of the same-top-layer images
 */
async function removeBuildLeftovers(target, chain) {
    const ids = new Set(chain.map((img) => img.Id));
    const top = (chain[0].RootFS?.Layers ?? []).at(-1);
    /** @type {ContainerInfo[]} */
    const containers = (await json(target, `${libpod}/containers/json?all=true&external=true`)) ?? [];
    /** @type {Map<string, ImageInfo | null>} */
    const imageOf = new Map();
    /** @type {string[]} */
    const removed = [];
    /** @type {Set<string>} */
    const tail = new Set();
    for (const c of containers) {
        if (c.State !== "storage") continue;
        if (!ids.has(c.ImageID)) {
            if (!imageOf.has(c.ImageID)) imageOf.set(c.ImageID, await json(target, `${libpod}/images/${c.ImageID}/json`));
            const img = /** @type {ImageInfo | null} */ (imageOf.get(c.ImageID)); // set just above
            const sameTail = img !== null && top !== undefined && (img.RepoTags ?? []).length === 0 && (img.RootFS?.Layers ?? []).at(-1) === top;
            if (!sameTail) continue;
            tail.add(img.Id);
        }
        const { status } = await call(target, "DELETE", `${libpod}/containers/${c.Id}?force=true`);
        if (status === 200 || status === 204 || status === 404) removed.push(c.Id.slice(0, 12));
    }
    return { removed, tail: [...tail] };
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const target = endpoint(opts.dockerHost);
    if (target === null) {
        console.log(
            `${opts.image} left in place: dockerHost=${opts.dockerHost} is neither unix:// nor tcp://; remove it with \`docker image rm ${opts.image}\``,
        );
        return 0;
    }
    const chain = await intermediateChain(target, opts.image);
    /** @type {string[]} */
    let tail = [];
    if (chain !== null) {
        const leftovers = await removeBuildLeftovers(target, chain);
        if (leftovers.removed.length > 0) console.log(`removed the build's working containers ${leftovers.removed.sort().join(" ")}`);
        tail = leftovers.tail;
    }
    // Podman also prunes the image's dangling parents, and answers 409 when one of them is in use
    // by another build, although this image itself is gone by then: what counts is whether it is.
    const { status, body } = await call(target, "DELETE", `/images/${encodeURIComponent(opts.image)}`);
    if (status === 404) {
        console.log(`${opts.image} already gone`);
        return 0;
    }
    const gone = status === 200 || (await call(target, "GET", `/images/${encodeURIComponent(opts.image)}/json`)).status === 404;
    if (!gone) {
        // 409: still used by a container the stack does not manage; say which fix applies.
        console.error(
            `could not remove image ${opts.image} at ${opts.dockerHost}: HTTP ${status} ${body.trim()}. ` +
                `Fix: remove the containers that use it (\`podman ps -a --external --filter ancestor=${opts.image}\`), then rerun.`,
        );
        return 1;
    }
    for (const id of tail) {
        await call(target, "DELETE", `/images/sha256:${id.replace(/^sha256:/, "")}`);
    }
    // Intermediate parents still there (Docker keeps them with rm=0 builds; Podman when one is in use):
    // removed from the top down, stopping at the first one another image or build still uses.
    let kept = 0;
    const intermediates = (chain ?? []).slice(1);
    for (const img of intermediates) {
        const r = await call(target, "DELETE", `/images/sha256:${img.Id.replace(/^sha256:/, "")}`);
        if (r.status === 200 || r.status === 404) continue;
        kept = intermediates.length - intermediates.indexOf(img); // this one and every one below it stay
        break;
    }
    console.log(`removed ${opts.image}${kept > 0 ? ` (${kept} intermediate image(s) kept: another build uses them)` : ""}`);
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`remove-image: ${err.message}`);
        process.exit(2);
    },
);
