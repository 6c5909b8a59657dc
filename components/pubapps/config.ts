// Typed loader for the pubapps stack's config keys (declared in Pulumi.yaml between the pubapps markers).
// The pod's images and containers come from the dev keys (the same pod as `pulumi up --stack dev`).
// Read once; every problem is collected and reported together, each naming the key, the value and the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { checkedReader } from "../configCheck";
import type { UnitFormatChoice } from "./remote";
import { parsePinnedHostKey } from "../../providers/remote";

export const unitFormats = ["auto", "quadlet", "systemd"] as const;

export interface PubappsConfig {
    /** The PubApps instance (from HiPerGator) and its service account. */
    host: string;
    port: number;
    user: string;
    hostKey: string;
    /** The jump host, HiPerGator's login node; "" = the instance is reached directly. */
    jumpHost: string;
    jumpPort: number;
    jumpUser: string;
    jumpHostKey: string;
    insecureIgnoreHostKey: boolean;
    /** Private key for both hops; "" = ssh-agent. */
    identityFile: string;
    mfaAnswers: pulumi.Output<string[]> | undefined;
    controlPath: string;
    /** The instance port UF's reverse proxy forwards to (signaling, 8080 in the pod). */
    proxyPort: number;
    /** Instance-local port of MAS (bound to 127.0.0.1; Unity reaches MAS inside the pod). */
    masPort: number;
    /** The host name UF RC gives the app; PUBLIC_HOST of the signaling server. */
    publicHost: string;
    archiveDir: string;
    localArchiveDir: string;
    localCli: "podman" | "docker";
    unitFormat: UnitFormatChoice;
    readinessTimeoutSeconds: number;
}

export const pubappsConfigDefaults = {
    port: 22,
    jumpHost: "hpg.rc.ufl.edu",
    jumpPort: 22,
    controlPath: "~/.ssh/sparc-pubapps-cm-%C",
    masPort: 8000,
    localCli: "podman",
    unitFormat: "auto",
    readinessTimeoutSeconds: 180,
} as const;

function expandHome(p: string): string {
    return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

export function loadPubappsConfig(config = new pulumi.Config(), env: NodeJS.ProcessEnv = process.env): PubappsConfig {
    const d = pubappsConfigDefaults;
    const problems: string[] = [];
    const checked = checkedReader(problems);
    const text = (key: string): string => config.get(key) ?? "";
    const need = (key: string, fix: string): string => {
        const value = text(key);
        if (value === "") {
            problems.push(`${key} is not set. Fix: ${fix}`);
        }
        return value;
    };
    const port = (key: string, fallback: number, fix: string): number => {
        const value = checked(`pulumi config set ${key} <1-65535>`, fallback, () => config.getNumber(key, { min: 0, max: 65535 }));
        if (value === 0 || !Number.isInteger(value)) {
            problems.push(`${key} = ${JSON.stringify(value)}: not a port. Fix: ${fix}`);
        }
        return value;
    };
    const insecureIgnoreHostKey = config.getBoolean("pubappsInsecureIgnoreHostKey") ?? false;
    const host = need("pubappsInstance", "pulumi config set pubappsInstance <instance host name, as UF RC gave it>");
    const user = need("pubappsUser", "pulumi config set pubappsUser <the instance's service account>");
    const hostKey = text("pubappsHostKey");
    if (hostKey === "" && !insecureIgnoreHostKey) {
        problems.push("pubappsHostKey is not set. Fix: from HiPerGator run `ssh-keyscan -t ed25519 <instance>`, check the fingerprint with UF RC, " +
            "then `pulumi config set pubappsHostKey \"ssh-ed25519 AAAA...\"`");
    }
    const jumpHost = config.get("pubappsJumpHost") ?? d.jumpHost;
    const jumpUser = jumpHost === "" ? "" : need("pubappsJumpUser", "pulumi config set pubappsJumpUser <your GatorLink user> (or pubappsJumpHost \"\" to connect directly)");
    const jumpHostKey = text("pubappsJumpHostKey");
    if (jumpHost !== "" && jumpHostKey === "" && !insecureIgnoreHostKey) {
        problems.push(`pubappsJumpHostKey is not set. Fix: run \`ssh-keyscan -t ed25519 ${jumpHost}\`, compare the fingerprint with the one UF RC publishes, ` +
            "then `pulumi config set pubappsJumpHostKey \"ssh-ed25519 AAAA...\"`");
    }
    // The transport pins keys through a known_hosts file: a key it cannot read is refused here, at preview.
    for (const [key, value] of [["pubappsHostKey", hostKey], ["pubappsJumpHostKey", jumpHostKey]] as const) {
        if (value !== "" && parsePinnedHostKey(value) === undefined) {
            problems.push(`${key} = ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)} is not an OpenSSH public key. ` +
                `Fix: give a line of \`ssh-keyscan\` without the host name, e.g. "ssh-ed25519 AAAA..."`);
        }
    }
    const identityFile = expandHome(text("pubappsIdentityFile"));
    if (identityFile !== "" && !fs.existsSync(identityFile)) {
        problems.push(`pubappsIdentityFile = ${JSON.stringify(identityFile)}: no such file. Fix: give the path of your private key, or "" to use ssh-agent`);
    }
    const proxyPort = port("pubappsProxyPort", 0,
        "pulumi config set pubappsProxyPort <the instance port UF RC's reverse proxy forwards to>");
    const masPort = port("pubappsMasPort", d.masPort, "pulumi config set pubappsMasPort <a free port on the instance, e.g. 8000>");
    if (proxyPort !== 0 && proxyPort === masPort) {
        problems.push(`pubappsMasPort = ${masPort} is the same port as pubappsProxyPort. Fix: give MAS another instance port`);
    }
    const publicHost = checked("pulumi config set pubappsPublicHost <the app's host name behind UF's reverse proxy>", "",
        () => config.get("pubappsPublicHost", { pattern: /^$|^[a-zA-Z0-9.:[\]-]+$/ }));
    if (publicHost === "") {
        problems.push("pubappsPublicHost is not set. Fix: pulumi config set pubappsPublicHost <the host name UF RC gave the app, e.g. sparc.rc.ufl.edu>");
    }
    const unitFormat = checked(`pulumi config set pubappsUnitFormat ${unitFormats.join("|")}`, d.unitFormat as UnitFormatChoice,
        () => config.get<UnitFormatChoice>("pubappsUnitFormat", { allowedValues: [...unitFormats] }));
    const localCli = checked("pulumi config set pubappsLocalCli podman|docker", d.localCli as PubappsConfig["localCli"],
        () => config.get<PubappsConfig["localCli"]>("pubappsLocalCli", { allowedValues: ["podman", "docker"] }));
    const readinessTimeoutSeconds = checked("pulumi config set pubappsReadinessTimeoutSeconds <1-3600>", d.readinessTimeoutSeconds as number,
        () => config.getNumber("pubappsReadinessTimeoutSeconds", { min: 1, max: 3600 }));
    const archiveDir = text("pubappsArchiveDir") !== "" ? text("pubappsArchiveDir") : (user !== "" ? `/podman/${user}/sparc-archives` : "");
    if (archiveDir !== "" && !archiveDir.startsWith("/")) {
        problems.push(`pubappsArchiveDir = ${JSON.stringify(archiveDir)}: must be an absolute path on the instance. Fix: e.g. /podman/<service account>/sparc-archives`);
    }
    const instancePort = port("pubappsPort", d.port, "pulumi config set pubappsPort 22");
    const jumpPort = port("pubappsJumpPort", d.jumpPort, "pulumi config set pubappsJumpPort 22");
    const mfa = config.getSecretObject<string[]>("pubappsMfaAnswers");
    const envAnswers = env.SPARC_HPG_MFA_ANSWERS ?? "";
    if (problems.length > 0) {
        throw new pulumi.RunError(`pubapps stack configuration has ${problems.length} problem(s):\n  - ${problems.join("\n  - ")}`);
    }
    return {
        host,
        port: instancePort,
        user,
        hostKey,
        jumpHost,
        jumpPort,
        jumpUser,
        jumpHostKey,
        insecureIgnoreHostKey,
        identityFile,
        // Read once, as a secret; an empty list falls back to the environment (as the hpg stack does).
        mfaAnswers: mfa === undefined && envAnswers === "" ? undefined
            : pulumi.secret(pulumi.output(mfa ?? []).apply((a) => (a.length > 0 ? a : envAnswers.split(",").filter((x) => x !== "")))),
        controlPath: expandHome(text("pubappsControlPath") !== "" ? text("pubappsControlPath") : d.controlPath),
        proxyPort,
        masPort,
        publicHost,
        archiveDir,
        localArchiveDir: expandHome(text("pubappsLocalArchiveDir") !== "" ? text("pubappsLocalArchiveDir")
            : path.join(os.homedir(), ".cache", "sparc-deploy", "pubapps-archives")),
        localCli,
        unitFormat,
        readinessTimeoutSeconds,
    };
}
