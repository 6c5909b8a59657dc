// @ts-check
"use strict";
// PLACEHOLDER for the Unity player stand-in (the real one, a WebRTC peer, comes from branch "player"):
// it takes Unity Render Streaming's arguments, logs them and what -importJson names (never the
// credential), and stays up, so that the pod's unity-server runs without a GPU.
const fs = require("node:fs");

const args = process.argv.slice(2);
const value = (/** @type {string} */ flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
};
console.log(`unity-player-standin (placeholder): arguments ${JSON.stringify(args)}`);
const importJson = value("-importJson");
if (importJson !== undefined) {
    try {
        const settings = JSON.parse(fs.readFileSync(importJson, "utf8"));
        const servers = (settings.iceServers ?? []).map((/** @type {{ urls: string[] }} */ s) => s.urls);
        console.log(`-importJson ${importJson}: signaling ${settings.signalingType} ${settings.signalingUrl}, ICE servers ${JSON.stringify(servers)}`);
    } catch (err) {
        console.error(`-importJson ${importJson}: ${/** @type {Error} */ (err).message}`);
    }
}
setInterval(() => {}, 1 << 30);
