// Typed loader for the pubapps stack's config keys (declared in Pulumi.yaml between the pubapps markers).
// The pod's images and containers come from the dev keys (the same pod as `pulumi up --stack dev`).
// Read once; every problem is collected and reported together, each naming the key, the value and the fix.
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems, expandHome } from "../configCheck";
import { UF_KEY_SSH_PORT, resolveSshHost } from "../sshConfig";
import type { UnitFormatChoice } from "./remote";

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
    /** Keep each image archive on the instance after a verified `podman load` (default: removed, /podman is small). */
    keepArchives: boolean;
    /** The app's URL through UF's reverse proxy (default https://<publicHost>/). */
    publicUrl: string;
    /** Bound on the readiness check through publicUrl at up, in seconds; 0 = no check. */
    publicCheckSeconds: number;
}

/** The Pulumi.yaml defaults of the pubapps section (test/unit/components/config-defaults.test.ts checks they agree). */
export const pubappsConfigDefaults = {
    pubappsInstance: "",
    pubappsPort: 22,
    pubappsUser: "",
    pubappsHostKey: "",
    pubappsJumpHost: "hpg.rc.ufl.edu",
    /** 0 = the Port of ~/.ssh/config for pubappsJumpHost, else UF_KEY_SSH_PORT (2222). */
    pubappsJumpPort: 0,
    pubappsJumpUser: "",
    pubappsJumpHostKey: "",
    pubappsInsecureIgnoreHostKey: false,
    pubappsIdentityFile: "",
    pubappsMfaAnswers: [],
    pubappsControlPath: "~/.ssh/sparc-pubapps-cm-%C",
    /** 0 = not set: UF RC assigns it (required). */
    pubappsProxyPort: 0,
    pubappsMasPort: 8000,
    pubappsPublicHost: "",
    pubappsArchiveDir: "",
    pubappsLocalArchiveDir: "",
    pubappsLocalCli: "podman",
    pubappsUnitFormat: "auto",
    pubappsReadinessTimeoutSeconds: 180,
    pubappsKeepArchives: false,
    pubappsPublicUrl: "",
    pubappsPublicCheckSeconds: 0,
} as const;

export function loadPubappsConfig(config = new pulumi.Config(), env: NodeJS.ProcessEnv = process.env): PubappsConfig {
    const d = pubappsConfigDefaults;
    const problems = new ConfigProblems(config);
    const text = (key: string): string => config.get(key) ?? "";
    const need = (key: string, fix: string): string => problems.required(key, text(key), fix);
    const insecureIgnoreHostKey = problems.boolean("pubappsInsecureIgnoreHostKey", d.pubappsInsecureIgnoreHostKey);
    const host = need("pubappsInstance", "pulumi config set pubappsInstance <instance host name, as UF RC gave it>");
    const user = need("pubappsUser", "pulumi config set pubappsUser <the instance's service account>");
    const hostKey = problems.hostKey("pubappsHostKey", {
        insecure: insecureIgnoreHostKey,
        keyscan: "ssh-keyscan -t ed25519 <instance>",
        unsetFix:
            "from HiPerGator run `ssh-keyscan -t ed25519 <instance>`, check the fingerprint with UF RC, " +
            'then `pulumi config set pubappsHostKey "ssh-ed25519 AAAA..."`',
    });
    const jumpHost = config.get("pubappsJumpHost") ?? d.pubappsJumpHost;
    const jumpUser =
        jumpHost === "" ? "" : need("pubappsJumpUser", 'pulumi config set pubappsJumpUser <your GatorLink user> (or pubappsJumpHost "" to connect directly)');
    // A key ssh cannot read is refused here, at preview; a jump host's is needed only when there is one.
    const jumpHostKey = problems.hostKey("pubappsJumpHostKey", {
        insecure: insecureIgnoreHostKey || jumpHost === "",
        keyscan: `ssh-keyscan -t ed25519 ${jumpHost}`,
        unsetFix:
            `run \`ssh-keyscan -t ed25519 ${jumpHost}\`, compare the fingerprint with the one UF RC publishes, ` +
            'then `pulumi config set pubappsJumpHostKey "ssh-ed25519 AAAA..."`',
    });
    const identityFile = problems.identityFile("pubappsIdentityFile");
    const proxyPort = problems.port("pubappsProxyPort", d.pubappsProxyPort, {
        fix: "pulumi config set pubappsProxyPort <the instance port UF RC's reverse proxy forwards to>",
    });
    const masPort = problems.port("pubappsMasPort", d.pubappsMasPort, { fix: "pulumi config set pubappsMasPort <a free port on the instance, e.g. 8000>" });
    if (proxyPort !== 0 && proxyPort === masPort) {
        problems.bad("pubappsMasPort", masPort, "is the same port as pubappsProxyPort", "give MAS another instance port");
    }
    const publicHost = problems.read("pubappsPublicHost", "pulumi config set pubappsPublicHost <the app's host name behind UF's reverse proxy>", "", () =>
        config.get("pubappsPublicHost", { pattern: /^$|^[a-zA-Z0-9.:[\]-]+$/ }),
    );
    if (publicHost === "") {
        problems.unset("pubappsPublicHost", "pulumi config set pubappsPublicHost <the host name UF RC gave the app, e.g. sparc.rc.ufl.edu>");
    }
    const unitFormat = problems.oneOf<UnitFormatChoice>("pubappsUnitFormat", unitFormats, d.pubappsUnitFormat);
    const localCli = problems.oneOf<PubappsConfig["localCli"]>("pubappsLocalCli", ["podman", "docker"], d.pubappsLocalCli);
    const readinessTimeoutSeconds = problems.seconds("pubappsReadinessTimeoutSeconds", d.pubappsReadinessTimeoutSeconds, { min: 1, max: 3600 });
    const archiveDir = text("pubappsArchiveDir") !== "" ? text("pubappsArchiveDir") : user !== "" ? `/podman/${user}/sparc-archives` : "";
    if (archiveDir !== "" && !archiveDir.startsWith("/")) {
        problems.bad("pubappsArchiveDir", archiveDir, "must be an absolute path on the instance", "e.g. /podman/<service account>/sparc-archives");
    }
    const keepArchives = problems.boolean("pubappsKeepArchives", d.pubappsKeepArchives);
    const instancePort = problems.port("pubappsPort", d.pubappsPort, { fix: "pulumi config set pubappsPort 22" });
    const jumpPortSet = problems.port("pubappsJumpPort", d.pubappsJumpPort, { zeroMeans: `the Port of ~/.ssh/config, else ${UF_KEY_SSH_PORT}` });
    // 0 (the default) = the Port your ~/.ssh/config gives the jump host, else UF RC's key port 2222.
    const jumpPort = jumpPortSet !== 0 ? jumpPortSet : jumpHost === "" ? UF_KEY_SSH_PORT : (resolveSshHost(jumpHost).port ?? UF_KEY_SSH_PORT);
    const publicUrlSet = text("pubappsPublicUrl");
    const publicUrl = publicUrlSet !== "" ? publicUrlSet : publicHost !== "" ? `https://${publicHost}/` : "";
    if (publicUrlSet !== "" && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(publicUrlSet)) {
        problems.bad(
            "pubappsPublicUrl",
            publicUrlSet,
            "is not an http(s) URL",
            'give the URL browsers open, e.g. "https://sparc.rc.ufl.edu/", or "" for https://<pubappsPublicHost>/',
        );
    }
    const publicCheckSeconds = problems.seconds("pubappsPublicCheckSeconds", d.pubappsPublicCheckSeconds, { min: 0, max: 3600, zeroMeans: "no check" });
    const mfaAnswers = problems.secondFactorAnswers("pubappsMfaAnswers", env);
    problems.throwIfAny("pubapps stack");
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
        // Read once, as a secret; the environment wins, as for the hpg stack (configCheck.ts secondFactorAnswers).
        mfaAnswers,
        controlPath: expandHome(text("pubappsControlPath") !== "" ? text("pubappsControlPath") : d.pubappsControlPath),
        proxyPort,
        masPort,
        publicHost,
        archiveDir,
        localArchiveDir: expandHome(
            text("pubappsLocalArchiveDir") !== "" ? text("pubappsLocalArchiveDir") : path.join(os.homedir(), ".cache", "sparc-deploy", "pubapps-archives"),
        ),
        localCli,
        unitFormat,
        readinessTimeoutSeconds,
        keepArchives,
        publicUrl,
        publicCheckSeconds,
    };
}
