// What the pubapps stack makes, decided at program time from config alone (plain values, no
// resources): the SSH connection, the pod's publications, the services that run and the image ids.
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import type { DevConfig } from "../podConfig";
import { containerPorts, devContainerPlan, devContainerSpecs, type ServiceName } from "../pod";
import type { PubappsConfig } from "./config";
import type { ConnectionMessages, SshConnection } from "../../providers";
import { ufKeyPortFix } from "../sshConfig";

/** The pubapps keys of the connection fields the provider's messages name, per hop (text only: never diffed). */
function hopMessages(cfg: PubappsConfig, hop: "instance" | "jump"): ConnectionMessages {
    const shared = {
        identityFile: "pubappsIdentityFile",
        keyboardInteractiveAnswers: "pubappsMfaAnswers",
        insecureIgnoreHostKey: "pubappsInsecureIgnoreHostKey",
        controlPath: "pubappsControlPath",
    };
    return hop === "instance"
        ? {
              keyNames: { ...shared, host: "pubappsInstance", port: "pubappsPort", user: "pubappsUser", hostKey: "pubappsHostKey" },
              passwordPortFix: `give the key UF RC installed for ${cfg.user} on the instance ${cfg.host} (pubappsIdentityFile, or ssh-agent)`,
          }
        : {
              keyNames: { ...shared, host: "pubappsJumpHost", port: "pubappsJumpPort", user: "pubappsJumpUser", hostKey: "pubappsJumpHostKey" },
              passwordPortFix: ufKeyPortFix("pubappsJumpPort"),
          };
}

/**
 * The instance's connection, through HiPerGator's (`jump`) unless pubappsJumpHost is "": every remote step of
 * the stack gets this same value, so they share one pooled login per host in the provider process. The system
 * ssh (openssh transport) as before the steps became RemoteCommands: ~/.ssh/config applies, a master of your own
 * at pubappsControlPath is used. `answers`: the second factor's (pubappsMfaAnswers, the environment winning).
 */
export function pubappsConnection(cfg: PubappsConfig, answers: readonly string[] | undefined): SshConnection {
    const hop = (which: "instance" | "jump", host: string, port: number, user: string, hostKey: string): SshConnection => ({
        host,
        port,
        user,
        transport: "openssh",
        identityFile: cfg.identityFile,
        controlPath: cfg.controlPath,
        ...(cfg.insecureIgnoreHostKey ? { insecureIgnoreHostKey: true } : { hostKey }),
        ...(answers !== undefined && answers.length > 0 ? { keyboardInteractiveAnswers: [...answers] } : {}),
        messages: hopMessages(cfg, which),
    });
    const instance = hop("instance", cfg.host, cfg.port, cfg.user, cfg.hostKey);
    return cfg.jumpHost === "" ? instance : { ...instance, jump: hop("jump", cfg.jumpHost, cfg.jumpPort, cfg.jumpUser, cfg.jumpHostKey) };
}

/** The pod's publications: the proxied port to signaling, MAS on the instance's loopback, TURN (UDP and TCP) and WebRTC UDP. */
export function podPublish(cfg: PubappsConfig, dev: DevConfig): string[] {
    const range = `${dev.webrtcPortRange.first}-${dev.webrtcPortRange.last}`;
    return [
        `${cfg.proxyPort}:${containerPorts.signaling}`,
        `127.0.0.1:${cfg.masPort}:${containerPorts.mas}`,
        `${dev.turnPort}:${containerPorts.turn}/udp`,
        `${dev.turnPort}:${containerPorts.turn}/tcp`,
        // ICE candidates carry the in-pod port, so the range maps 1:1 (UF RC must open it: the proxy carries no UDP).
        `${range}:${range}/udp`,
    ];
}

/** Services that run, in start order (a plain list: decided before any resource is made). */
export function pubappsServices(dev: DevConfig): ServiceName[] {
    return devContainerSpecs(devContainerPlan(dev, ""), { mas: "", signaling: "", riva: "", turn: "", unity: "" }).map((s) => s.service);
}

/**
 * The local image id of a prebuilt reference (a local read at program time, no SSH): archives and
 * units are named by it, so a tag that moves to another image is seen at preview.
 */
export function localImageId(cli: string, ref: string, key: string): string {
    try {
        return execFileSync(cli, ["image", "inspect", "--format", "{{.Id}}", ref], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 30_000,
        }).trim();
    } catch (err) {
        throw new pulumi.RunError(
            `${key} = ${JSON.stringify(ref)}: not in the local ${cli} store (${(err as Error).message.split("\n")[0]}). ` +
                `Fix: \`${cli} pull ${ref}\` (or build it), or set imageSource build`,
        );
    }
}
