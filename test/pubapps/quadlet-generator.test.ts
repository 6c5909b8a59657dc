// The Quadlet files the pubapps stack writes, fed to the real Quadlet generator (podman v5.4.2's
// cmd/quadlet, built by test/pubapps/build.sh): they must parse, and the services it generates must
// run the pod and containers the stack means, under the unit names the stack uses.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerSpec } from "../../components/pod";
import { podUnits, type PodUnitSpec } from "../../components/pubapps";

const cacheHome = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
const QUADLET = process.env.SPARC_QUADLET_BIN ?? path.join(cacheHome, "sparc-deploy", "pubapps-testbed", "quadlet");
const present = fs.existsSync(QUADLET);
if (!present && process.env.CI === "true") {
    throw new Error(`${QUADLET} missing: test/pubapps/build.sh builds it (.ci/run does)`);
}

const pod: PodUnitSpec = {
    podName: "sparc-avatar",
    publish: ["8443:8080", "127.0.0.1:8000:8000", "3478:3478/udp", "3478:3478/tcp", "49152-49153:49152-49153/udp"],
    stopTimeoutSeconds: 5,
};
const containers: ContainerSpec[] = [
    {
        service: "mas",
        name: "mas-server",
        podName: "sparc-avatar",
        image: "localhost/sparc-mas:0123456789abcdef",
        restart: "on-failure",
        env: {},
        runOptions: [],
        args: [],
    },
    {
        service: "turn",
        name: "turn-server",
        podName: "sparc-avatar",
        image: "localhost/sparc-turn:3333333333333333",
        restart: "on-failure",
        env: { TURN_HOST: "sparc.rc.ufl.edu", TURN_SECRET_FILE: "/run/secrets/sparc-avatar-turn-secret" },
        secrets: [{ name: "sparc-avatar-turn-secret" }],
        runOptions: [],
        args: [],
    },
    {
        service: "signaling",
        name: "signaling-server",
        podName: "sparc-avatar",
        image: "localhost/sparc-signaling:1111111111111111",
        restart: "on-failure",
        env: { PUBLIC_HOST: "sparc.rc.ufl.edu", ICE_SERVER_URLS: "turn:sparc.rc.ufl.edu:3478?transport=udp,turn:sparc.rc.ufl.edu:3478?transport=tcp" },
        secrets: [{ name: "sparc-avatar-turn-secret", env: "TURN_SECRET" }],
        runOptions: [],
        args: [],
    },
    {
        service: "unity",
        name: "unity-server",
        podName: "sparc-avatar",
        image: "localhost/sparc-unity:2222222222222222",
        restart: "on-failure",
        env: { SIGNALING_URL: "ws://localhost:8080" },
        secrets: [{ name: "sparc-avatar-ice-servers" }],
        runOptions: ["--device", "nvidia.com/gpu=all"],
        args: ["-logFile", "/dev/stdout", "-force-vulkan", "-signalingType", "websocket", "-importJson", "/run/secrets/sparc-avatar-ice-servers"],
    },
];

/** `quadlet -dryrun -user` over a directory holding our files: generated unit name -> text. */
function generate(): Record<string, string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-quadlet-"));
    const units = podUnits(pod, containers);
    for (const f of [units.pod.quadlet, ...units.containers.map((c) => c.files.quadlet)]) {
        fs.writeFileSync(path.join(dir, f.file), f.text);
    }
    const r = spawnSync(QUADLET, ["-dryrun", "-user"], { encoding: "utf8", env: { ...process.env, QUADLET_UNIT_DIRS: dir }, timeout: 30_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).not.toMatch(/error|unsupported|invalid/i);
    expect(r.status).toBe(0);
    const out: Record<string, string> = {};
    for (const part of r.stdout
        .split(/^---(.+)---$/m)
        .slice(1)
        .reduce<string[][]>((acc, x, i) => (i % 2 === 0 ? [...acc, [x]] : (acc[acc.length - 1].push(x), acc)), [])) {
        out[part[0]] = part[1];
    }
    return out;
}

describe.skipIf(!present)("Quadlet rendering through the real generator (podman v5.4.2 cmd/quadlet)", () => {
    it("generates the pod's and each container's service under the names the stack uses", () => {
        const units = podUnits(pod, containers);
        expect(Object.keys(generate()).sort()).toEqual([units.pod.quadlet.unit, ...units.containers.map((c) => c.files.quadlet.unit)].sort());
    });

    it("the pod service creates the pod with every port, wants the containers and starts at boot", () => {
        const text = generate()["sparc-avatar-pod.service"];
        expect(text).toMatch(
            /^ExecStartPre=\/usr\/bin\/podman pod create .*--publish 8443:8080 --publish 127\.0\.0\.1:8000:8000 --publish 3478:3478\/udp --publish 3478:3478\/tcp --publish 49152-49153:49152-49153\/udp .*--name sparc-avatar$/m,
        );
        const wanted = text
            .split("\n")
            .filter((l) => l.startsWith("Wants="))
            .flatMap((l) => l.slice("Wants=".length).split(" "));
        expect(wanted).toEqual(expect.arrayContaining(["mas-server.service", "turn-server.service", "signaling-server.service", "unity-server.service"]));
        expect(text).toMatch(/^WantedBy=default.target$/m);
    });

    it.each([
        [
            "mas-server",
            /^ExecStart=\/usr\/bin\/podman run --name mas-server .*--stop-timeout 5 .*--pod-id-file %t\/sparc-avatar-pod\.pod-id localhost\/sparc-mas:0123456789abcdef$/m,
        ],
        [
            "turn-server",
            /^ExecStart=\/usr\/bin\/podman run --name turn-server .*--env TURN_SECRET_FILE=\/run\/secrets\/sparc-avatar-turn-secret --secret sparc-avatar-turn-secret .*localhost\/sparc-turn:3333333333333333$/m,
        ],
        [
            "signaling-server",
            /^ExecStart=\/usr\/bin\/podman run --name signaling-server .*--env PUBLIC_HOST=sparc\.rc\.ufl\.edu .*--secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET .*localhost\/sparc-signaling:1111111111111111$/m,
        ],
        [
            "unity-server",
            /^ExecStart=\/usr\/bin\/podman run --name unity-server .*--env SIGNALING_URL=ws:\/\/localhost:8080 .*--secret sparc-avatar-ice-servers .*--device nvidia\.com\/gpu=all .*localhost\/sparc-unity:2222222222222222 -logFile \/dev\/stdout -force-vulkan -signalingType websocket -importJson \/run\/secrets\/sparc-avatar-ice-servers$/m,
        ],
    ])("%s runs in the pod with its image, env and arguments, bound to the pod, restarted on failure", (name, execStart) => {
        const text = generate()[`${name}.service`];
        expect(text).toMatch(execStart);
        expect(text).toContain("BindsTo=sparc-avatar-pod.service");
        expect(text).toMatch(/^Restart=on-failure$/m);
        expect(text).toMatch(/^WantedBy=default.target$/m);
    });
});
