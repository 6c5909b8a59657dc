"use strict";
// Receiver page for the SPARC avatar stream (the role of Unity Render Streaming's "Receiver" sample): it
// offers to receive video and audio over the signaling WebSocket of the server that served it, and plays
// what the Unity player sends. Tests read window.sparcReceiver; people read #status.
(() => {
    const RELAY_WAIT_MS = 5000;
    const params = new URLSearchParams(location.search);
    const forceRelay = params.get("relay") === "1";
    const connectionId = crypto.randomUUID();
    const video = document.getElementById("video");
    const statusEl = document.getElementById("status");
    const state = { signaling: "new", error: null, candidateTypes: new Set(), iceErrors: [], offerSentAt: 0, firstFrameMs: null };
    let pc = null;
    let ws = null;
    let remoteSet = false;
    const pendingCandidates = [];

    const setStatus = (text) => {
        if (state.error) return; // the first failure stays on screen
        statusEl.textContent = text;
    };

    const report = (event, detail) => {
        fetch("client-event", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ connectionId, event, detail }) }).catch(
            () => {},
        );
    };

    const fail = (event, message) => {
        if (state.error) return;
        state.error = message;
        statusEl.textContent = message;
        statusEl.className = "error";
        console.error(`sparc receiver: ${message}`);
        report(event, message);
    };

    const send = (msg) => {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
    };

    // The socket goes to the page's own origin and path: behind an HTTPS reverse proxy the page is https, so wss.
    const signalingUrl = () => {
        const url = new URL("./", location.href);
        url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
        url.search = "";
        return url.href;
    };

    const turnUrls = (iceServers) => iceServers.flatMap((s) => [].concat(s.urls)).filter((u) => /^turns?:/.test(u));

    async function start() {
        setStatus("fetching ICE configuration");
        const response = await fetch("config", { cache: "no-store" });
        if (!response.ok) throw new Error(`GET config: HTTP ${response.status}`);
        const config = await response.json();
        const policy = forceRelay ? "relay" : config.iceTransportPolicy || "all";
        const turn = turnUrls(config.iceServers || []);
        if (policy === "relay" && turn.length === 0) {
            fail("no-turn-configured", "Relay-only mode, but the server offers no TURN server (set ICE_SERVER_URLS and TURN_SECRET on the signaling server)");
            return;
        }

        pc = new RTCPeerConnection({ iceServers: config.iceServers || [], iceTransportPolicy: policy });
        pc.addTransceiver("video", { direction: "recvonly" });
        pc.addTransceiver("audio", { direction: "recvonly" });
        const stream = new MediaStream();
        pc.ontrack = (e) => {
            stream.addTrack(e.track);
            video.srcObject = stream;
        };
        pc.onicecandidate = (e) => {
            if (!e.candidate || !e.candidate.candidate) return;
            state.candidateTypes.add(e.candidate.type);
            send({
                type: "candidate",
                data: { connectionId, candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex, sdpMid: e.candidate.sdpMid },
            });
        };
        pc.onicecandidateerror = (e) => {
            // e.g. 401 from the TURN server for a wrong credential; kept for the failure message.
            if (state.iceErrors.length < 5) state.iceErrors.push(`${e.url || "?"}: ${e.errorCode} ${e.errorText || ""}`.trim());
        };
        pc.oniceconnectionstatechange = () => {
            if (pc.iceConnectionState === "failed") {
                fail(
                    "ice-failed",
                    `ICE failed: no candidate pair between this browser and the player worked (candidates gathered here: ${[...state.candidateTypes].join(", ") || "none"}; TURN: ${turn.join(" ") || "none"})`,
                );
            }
        };
        pc.onconnectionstatechange = () => {
            if (pc.connectionState === "connected") setStatus(`connected (${policy === "relay" ? "relay only" : "all paths"}); waiting for video`);
        };
        video.requestVideoFrameCallback?.(() => {
            state.firstFrameMs = Math.round(performance.now() - state.offerSentAt);
            setStatus(`playing (first frame ${state.firstFrameMs} ms after the offer)`);
        });

        setStatus("connecting to signaling");
        state.signaling = "connecting";
        ws = new WebSocket(signalingUrl());
        ws.onopen = () => {
            state.signaling = "open";
            send({ type: "connect", connectionId });
        };
        ws.onerror = () =>
            fail("signaling-error", `Signaling WebSocket ${signalingUrl()} failed (is the signaling server up, and does the proxy pass WebSocket upgrades?)`);
        ws.onclose = () => {
            state.signaling = "closed";
            if (!pc || pc.connectionState !== "connected") fail("signaling-closed", "Signaling WebSocket closed before the stream connected");
            else setStatus("signaling closed; the stream continues");
        };
        ws.onmessage = (e) => {
            let msg;
            try {
                msg = JSON.parse(e.data);
            } catch {
                return;
            }
            onMessage(msg, turn.length > 0 || policy === "relay").catch((err) => fail("signaling-error", `Signaling: ${err.message}`));
        };
    }

    async function onMessage(msg, expectRelay) {
        switch (msg.type) {
            case "connect":
                if (msg.connectionId !== connectionId) return;
                await pc.setLocalDescription(await pc.createOffer());
                send({ type: "offer", data: { connectionId, sdp: pc.localDescription.sdp } });
                state.offerSentAt = performance.now();
                setStatus("offer sent; waiting for the player's answer");
                if (expectRelay) {
                    setTimeout(() => {
                        if (state.candidateTypes.has("relay")) return;
                        const why = state.iceErrors.length ? ` (${state.iceErrors.join("; ")})` : "";
                        fail(
                            "no-relay-candidate",
                            `No TURN relay candidate within ${RELAY_WAIT_MS / 1000} s: the TURN server refused these credentials or is unreachable${why}. Check the TURN secret shared by signaling and coturn, the TURN port, and that UDP/TCP to it reaches the server.`,
                        );
                    }, RELAY_WAIT_MS);
                }
                break;
            case "answer":
                if (msg.from !== connectionId) return;
                await pc.setRemoteDescription({ type: "answer", sdp: msg.data.sdp });
                remoteSet = true;
                for (const c of pendingCandidates.splice(0)) await pc.addIceCandidate(c);
                setStatus("answer received; connecting");
                break;
            case "candidate": {
                // Public mode relays candidates to every client: keep only this connection's.
                if (msg.from !== connectionId || !msg.data || !msg.data.candidate) return;
                const c = { candidate: msg.data.candidate, sdpMLineIndex: msg.data.sdpMLineIndex, sdpMid: msg.data.sdpMid };
                if (remoteSet) await pc.addIceCandidate(c);
                else pendingCandidates.push(c);
                break;
            }
            case "disconnect":
                if (msg.connectionId === connectionId) fail("player-disconnected", "The player left (signaling disconnect)");
                break;
            case "error":
                fail("signaling-error", `Signaling server error: ${String(msg.message).slice(0, 200)}`);
                break;
            default:
                break;
        }
    }

    async function stats() {
        const out = {
            signaling: state.signaling,
            connectionState: pc ? pc.connectionState : "new",
            iceConnectionState: pc ? pc.iceConnectionState : "new",
            framesDecoded: 0,
            frameWidth: 0,
            frameHeight: 0,
            candidateTypes: [...state.candidateTypes],
            selectedLocalType: null,
            selectedRemoteType: null,
            firstFrameMs: state.firstFrameMs,
            error: state.error,
        };
        if (!pc) return out;
        const report = await pc.getStats();
        let pair = null;
        report.forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "video") {
                out.framesDecoded = s.framesDecoded || 0;
                out.frameWidth = s.frameWidth || 0;
                out.frameHeight = s.frameHeight || 0;
            }
            if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
        });
        if (!pair) report.forEach((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && (pair = s));
        if (pair) {
            out.selectedLocalType = report.get(pair.localCandidateId)?.candidateType ?? null;
            out.selectedRemoteType = report.get(pair.remoteCandidateId)?.candidateType ?? null;
        }
        return out;
    }

    // A few pixels of the current frame (RGB of a 4x3 grid), to show the picture changes.
    const canvas = document.createElement("canvas");
    canvas.width = 32;
    canvas.height = 24;
    function snapshot() {
        if (video.readyState < 2) return []; // no frame yet
        const g = canvas.getContext("2d", { willReadFrequently: true });
        g.drawImage(video, 0, 0, canvas.width, canvas.height);
        const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
        const out = [];
        for (let y = 4; y < 24; y += 8) for (let x = 4; x < 32; x += 8) out.push(...px.slice((y * 32 + x) * 4, (y * 32 + x) * 4 + 3));
        return out;
    }

    window.sparcReceiver = { stats, snapshot, connectionId };
    start().catch((err) => fail("start-failed", `Could not start: ${err.message}`));
})();
