// What the pubapps stack makes, decided at program time from config alone (plain values, no
// resources): the SSH targets, the pod's publications, the services that run and the image ids.
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import type { DevConfig } from "../../../../components/podConfig";
import { containerPorts, devContainerPlan, devContainerSpecs, type ServiceName } from "../../../../components/pod";
import type { PubappsConfig } from "../../../../components/pubapps/config";
import { passwordPortMessage } from "../../../../providers";
import { ufKeyPortFix } from "../../../../components/sshConfig";
import { pubappsTargets, type PubappsTransport } from "./transport";

export function pubappsTransport(cfg: PubappsConfig): PubappsTransport {
    return pubappsTargets(
        {
            host: cfg.host,
            port: cfg.port,
            user: cfg.user,
            hostKey: cfg.hostKey,
            insecureIgnoreHostKey: cfg.insecureIgnoreHostKey,
            identityFile: cfg.identityFile,
            controlPath: cfg.controlPath,
        },
        cfg.jumpHost === ""
            ? undefined
            : {
                  host: cfg.jumpHost,
                  port: cfg.jumpPort,
                  user: cfg.jumpUser,
                  hostKey: cfg.jumpHostKey,
                  insecureIgnoreHostKey: cfg.insecureIgnoreHostKey,
                  identityFile: cfg.identityFile,
              },
        cfg.mfaAnswers !== undefined,
        {
            instance:
                `pubappsPort = ${cfg.port}: the instance ${cfg.host} asked for a password, so it did not take your key. ` +
                `Fix: give the key UF RC installed for ${cfg.user} (pubappsIdentityFile, or ssh-agent)`,
            jump: `the jump host ${cfg.jumpHost}: ${passwordPortMessage(cfg.jumpPort, "pubappsJumpPort", ufKeyPortFix("pubappsJumpPort"))}`,
        },
    );
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
