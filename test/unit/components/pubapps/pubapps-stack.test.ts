// The pubapps stack under Pulumi's mocks: the TURN relay and the player in the pod's units, the
// podman secrets created on the instance over SSH with the value on stdin (never in argv or a unit), every
// remote step a RemoteCommand over the one connection (the instance through HiPerGator).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadDevConfig } from "../../../../components/podConfig";
import { loadPubappsConfig } from "../../../../components/pubapps/config";
import { mockStack, valueOf as val, type MockedStack } from "../../../support/mocks";

let mocks: MockedStack;
let pubapps: typeof import("../../../../components/pubapps");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const root = path.resolve(__dirname, "..", "..", "..", "..");
const REMOTE = "pulumi-nodejs:dynamic/ssh:RemoteCommand";

beforeAll(async () => {
    mocks = await mockStack({
        stack: "pubapps",
        outputsOf: (a) => ({
            ...(a.type === "docker:index/image:Image" ? { repoDigest: `sha256:${Buffer.from(a.name).toString("hex").padEnd(64, "0").slice(0, 64)}` } : {}),
            ...(a.type === "command:local:Command" || a.type === REMOTE
                ? { stdout: a.name.endsWith("-host") ? "podman=4.3.1\nformat=systemd\nlinger=already\n" : `${a.name}-out\nsha-of-${a.name}\n` }
                : {}),
        }),
    });
    pubapps = await import("../../../../components/pubapps");
});
beforeEach(() => mocks.reset());

function configs(extra: Record<string, string> = {}) {
    pulumi.runtime.setAllConfig(
        Object.fromEntries(
            Object.entries({
                pubappsInstance: "pubapps-1.rc.ufl.edu",
                pubappsUser: "svc",
                pubappsInsecureIgnoreHostKey: "true",
                pubappsJumpHost: "",
                pubappsProxyPort: "8443",
                pubappsPublicHost: "avatar.rc.ufl.edu",
                pubappsArchiveDir: "/podman/svc/sparc-archives",
                pubappsLocalArchiveDir: "/tmp/sparc-archives",
                turnSecret: "configured-secret-0123456789",
                ...extra,
            }).map(([k, v]) => [`sparc-deploy:${k}`, v]),
        ),
        ["sparc-deploy:turnSecret"],
    );
    const config = new pulumi.Config("sparc-deploy");
    return { pubapps: loadPubappsConfig(config, {}), dev: loadDevConfig(config, root) };
}

describe("PubappsStack: TURN and the player", () => {
    it("creates both podman secrets on the instance from stdin, and units that name them only", async () => {
        const stack = new pubapps.PubappsStack("sparc", configs());
        expect(await val(stack.receiverUrl)).toBe("https://avatar.rc.ufl.edu/");
        expect(await val(stack.player)).toMatch(/^stand-in player/);
        expect(await val(stack.unitNames)).toEqual({
            pod: "sparc-avatar-pod.service",
            mas: "mas-server.service",
            turn: "turn-server.service",
            signaling: "signaling-server.service",
            unity: "unity-server.service",
        });
        await val(stack.readiness);
        for (const [resource, name] of [
            ["sparc-turn-secret", "sparc-avatar-turn-secret"],
            ["sparc-ice-servers", "sparc-avatar-ice-servers"],
        ]) {
            const inputs = mocks.byName(resource).inputs;
            expect(mocks.byName(resource).type).toBe(REMOTE);
            expect(JSON.stringify(inputs.connection)).toContain("pubapps-1.rc.ufl.edu");
            expect((inputs.create as string[])[2]).toContain(`cat | podman secret create ${name} -`);
            expect(inputs.update).toEqual(inputs.create);
            expect(SECRET_SIG in (inputs.stdin as object), `${resource} stdin is a secret`).toBe(true);
        }
        expect((mocks.byName("sparc-turn-secret").inputs.stdin as { value: string }).value).toBe("configured-secret-0123456789");
        const ice = JSON.parse((mocks.byName("sparc-ice-servers").inputs.stdin as { value: string }).value);
        expect(ice.iceServers[0].urls).toEqual(["turn:localhost:3478?transport=udp"]);
        // Nothing but stdin carries a secret value: no command line, no unit.
        for (const r of mocks.registered) {
            for (const key of ["create", "update", "delete", "unless"]) {
                const text = JSON.stringify(r.inputs[key] ?? "");
                expect(text, `${r.name}.${key}`).not.toContain("configured-secret-0123456789");
                expect(text, `${r.name}.${key}`).not.toContain(ice.iceServers[0].credential);
            }
        }
        const unit = (service: string) => JSON.stringify(mocks.byName(`sparc-${service}-unit`).inputs.create);
        expect(JSON.stringify(mocks.byName("sparc-pod").inputs.create)).toContain("-p 3478:3478/udp -p 3478:3478/tcp");
        expect(unit("turn")).toContain("-e TURN_SECRET_FILE=/run/secrets/sparc-avatar-turn-secret --secret sparc-avatar-turn-secret");
        expect(unit("signaling")).toContain("--secret sparc-avatar-turn-secret,type=env,target=TURN_SECRET");
        expect(unit("signaling")).toContain("ICE_SERVER_URLS=turn:avatar.rc.ufl.edu:3478?transport=udp,turn:avatar.rc.ufl.edu:3478?transport=tcp");
        expect(unit("unity")).toContain("-importJson /run/secrets/sparc-avatar-ice-servers");
        expect(unit("unity")).not.toContain("nvidia.com/gpu");
        // A re-created secret restarts the units that read it.
        expect(mocks.byName("sparc-signaling-unit").inputs.triggers).toContain("sparc-turn-secret-out\nsha-of-sparc-turn-secret\n");
    });

    it("turnHost moves the browsers' relay off the proxy's name", async () => {
        const stack = new pubapps.PubappsStack("sparc", configs({ turnHost: "pubapps-1.rc.ufl.edu" }));
        await val(stack.readiness);
        expect(JSON.stringify(mocks.byName("sparc-signaling-unit").inputs.create)).toContain("ICE_SERVER_URLS=turn:pubapps-1.rc.ufl.edu:3478?transport=udp");
        expect(JSON.stringify(mocks.byName("sparc-turn-unit").inputs.create)).toContain("-e TURN_HOST=pubapps-1.rc.ufl.edu");
    });
});

describe("PubappsStack: the public URL and its readiness check (pubappsPublicUrl, pubappsPublicCheckSeconds)", () => {
    it("defaults to https://<pubappsPublicHost>/ with no check", async () => {
        const stack = new pubapps.PubappsStack("sparc", configs());
        expect(await val(stack.publicUrl)).toBe("https://avatar.rc.ufl.edu/");
        expect(await val(stack.signalingUrl)).toBe("wss://avatar.rc.ufl.edu/");
        expect(await val(stack.publicCheck)).toBe("off");
    });

    it("checks the configured URL after the instance is ready, from this machine (a real local server)", async () => {
        const http = await import("node:http");
        const { WebSocketServer } = await import("ws");
        const server = http.createServer((req, res) => res.writeHead(req.url === "/health" ? 200 : 404).end());
        new WebSocketServer({ server });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const url = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}/`;
            const stack = new pubapps.PubappsStack("sparc", configs({ pubappsPublicUrl: url, pubappsPublicCheckSeconds: "30" }));
            expect(await val(stack.publicUrl)).toBe(url);
            expect(await val(stack.signalingUrl)).toBe(url.replace("http:", "ws:"));
            expect(await val(stack.publicCheck)).toMatch(/^ready through the public URL after 1 attempt\(s\): .* -> HTTP 101/);
        } finally {
            await new Promise((r) => server.close(r));
        }
    });

    it.each<[Record<string, string>, RegExp]>([
        [
            { pubappsPublicUrl: "ftp://avatar.rc.ufl.edu/" },
            /sparc-deploy:pubappsPublicUrl = "ftp:\/\/avatar\.rc\.ufl\.edu\/": is not an http\(s\) URL\. Fix: give the URL browsers open/,
        ],
        [
            { pubappsPublicCheckSeconds: "-1" },
            /sparc-deploy:pubappsPublicCheckSeconds = -1: is outside of the legal range .*Fix: pulumi config set pubappsPublicCheckSeconds <0-3600; 0 = no check>/,
        ],
    ])("refuses %j with the key, the value and the fix", (extra, message) => {
        expect(() => configs(extra)).toThrow(message);
    });
});

describe("PubappsStack's warnings at preview", () => {
    it("says which samples it would deploy (the defaults: the sample MAS and signaling server, the stand-in player), each with its key and fix", () => {
        const { pubapps: p, dev } = configs();
        const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        try {
            new pubapps.PubappsStack("sparc", { pubapps: p, dev });
            const said = warn.mock.calls.map((c) => String(c[0]));
            expect(said).toEqual([
                expect.stringMatching(
                    /^masContext is the sample \(samples\/mas\): the pubapps stack would deploy the sample MAS, not SPARC's\. Fix: pulumi config set --stack pubapps masContext /,
                ),
                expect.stringMatching(/^signalingContext is the sample \(samples\/signaling\): .*Fix: pulumi config set --stack pubapps signalingContext /),
                expect.stringMatching(/^unityBuildDir is "": the pubapps stack would run the stand-in player \(a test pattern\), not the avatar\. Fix: /),
            ]);
        } finally {
            warn.mockRestore();
        }
    });
});

/** Paths in `value` where one of `needles` appears outside a secret (the engine encrypts only secrets in state). */
function plaintext(value: unknown, needles: string[], at: string): string[] {
    if (typeof value === "string") {
        return needles.some((n) => value.includes(n)) ? [at] : [];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => plaintext(v, needles, `${at}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        return SECRET_SIG in value ? [] : Object.entries(value).flatMap(([k, v]) => plaintext(v, needles, `${at}.${k}`));
    }
    return [];
}

/** "type name" of a URN's resource: the last type of its type chain, and its name. */
function resourceOf(urn: string): string {
    if (urn === "") {
        return "(stack)";
    }
    const [, , types, name] = urn.split("::");
    return `${types.split("$").pop()} ${name}`;
}

describe("PubappsStack: what it registers for a typical config", () => {
    // Through HiPerGator with a Duo answer and a pinned instance key: the usual way to reach an instance.
    const typical = {
        pubappsInsecureIgnoreHostKey: "false",
        pubappsHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0LWluc3RhbmNlLWtleS0wMDAwMDAwMDAwMDA=",
        pubappsJumpHost: "hpg.rc.ufl.edu",
        pubappsJumpUser: "albert",
        pubappsJumpHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        pubappsMfaAnswers: '["739201"]',
    };

    // The stacks built here get their own name: a stack of an earlier test (the warnings test does not
    // wait for its resources) may still be registering while these run.
    const mine = () => mocks.registered.filter((r) => r.name === "typical" || r.name.startsWith("typical-"));

    it("registers the images, the host check, the secrets, one archive, copy, load and unit per service, the pod and the readiness check, each under its component", async () => {
        const stack = new pubapps.PubappsStack("typical", configs(typical));
        await val(stack.readiness);
        const stackUrn = "sparc:pubapps:PubappsStack typical";
        const images = "sparc:images:SparcImages typical-images";
        const services = ["unity", "mas", "turn", "signaling"];
        const expected: [string, string][] = [
            [stackUrn, "(stack)"],
            [images, stackUrn],
            ["pulumi:providers:docker typical-images-docker", images],
            ...services.map((s): [string, string] => [`docker:index/image:Image typical-images-${s}`, images]),
            ...services.map((s): [string, string] => [`command:local:Command typical-images-${s}-owned`, images]),
            ...["host", "turn-secret", "ice-servers", "pod", "ready"].map((n): [string, string] => [`${REMOTE} typical-${n}`, stackUrn]),
            ...services.map((s): [string, string] => [`command:local:Command typical-${s}-archive`, stackUrn]),
            ...services.flatMap((s) => ["copy", "image", "unit"].map((step): [string, string] => [`${REMOTE} typical-${s}-${step}`, stackUrn])),
        ];
        const got = mine().map((r): [string, string] => [`${r.type} ${r.name}`, resourceOf(r.parent)]);
        expect([...got].sort()).toEqual([...expected].sort());
        // Built from the repository's Dockerfiles as they are: no per-stack label (components/images.ts ownImageIds),
        // whose new image ids would rebuild and reload every existing PubApps stack's images once on upgrade.
        expect((mocks.byName("typical-images-mas").inputs.build as { dockerfile: string }).dockerfile).toBe(path.join(root, "dockerfiles", "Dockerfile.mas"));
    });

    it("keeps the TURN secret, the ICE credential and the Duo answer out of every input in plaintext (secrets only)", async () => {
        const stack = new pubapps.PubappsStack("typical", configs(typical));
        await val(stack.readiness);
        const ice = JSON.parse((mocks.byName("typical-ice-servers").inputs.stdin as { value: string }).value);
        const secrets = ["configured-secret-0123456789", ice.iceServers[0].credential as string, "739201"];
        expect(secrets[1]).toMatch(/^.{8,}$/);
        const leaks = mine().flatMap((r) => plaintext(r.inputs, secrets, r.name));
        expect(leaks).toEqual([]);
        // Every remote step goes through the instance's connection with HiPerGator as its jump host.
        for (const r of mine().filter((x) => x.type === REMOTE)) {
            const conn = (r.inputs.connection as { value: Record<string, unknown> }).value;
            expect(conn, r.name).toMatchObject({ host: "pubapps-1.rc.ufl.edu", user: "svc", jump: { host: "hpg.rc.ufl.edu", user: "albert" } });
        }
        // Not vacuous: each value does reach the commands that need it, as a secret.
        const everything = JSON.stringify(mine().map((r) => r.inputs));
        for (const secret of secrets) {
            expect(everything, "the value is in some input (as a secret)").toContain(secret.slice(0, 6));
        }
    });
});
