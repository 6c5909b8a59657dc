// The image archive both remote targets send (hpg turns it into a .sif, pubapps `podman load`s it): saved on
// this machine by the local engine as a docker-archive, after the platform check, with its sha256 printed
// for the remote side's checksum check. Pure builders of local shell lines, no resources.
import { shJoin, shQuote } from "../providers";
import { imagePlatformCheck } from "./imagePlatform";

/** What the local engine saves: the image (a reference or an id) of `service` into `localTar`. */
export interface ArchivePlan {
    service: string;
    /** Reference (or image id) the local engine saves. */
    imageRef: string;
    localTar: string;
}

/**
 * Checks the image's platform (`platform`, "" = none), saves it as a docker-archive (atomically, through a
 * .part file) and prints its sha256 on the last line. `reuseSaved`: an archive already saved is kept
 * (pubapps names archives by image id, so a saved one is that image); otherwise it is saved again.
 */
export function saveArchiveCommand(cli: string, p: ArchivePlan, platform = "", opts: { reuseSaved?: boolean } = {}): string {
    const part = `${p.localTar}.part`;
    const save = shJoin([cli, "save", "--format", "docker-archive", "-o", part, p.imageRef]);
    const rename = shJoin(["mv", "-f", part, p.localTar]);
    return [
        "set -e",
        imagePlatformCheck(cli, p.imageRef, `${p.service}Image`, platform),
        shJoin(["mkdir", "-p", p.localTar.slice(0, p.localTar.lastIndexOf("/"))]),
        ...(opts.reuseSaved === true ? [`if [ ! -s ${shQuote(p.localTar)} ]; then ${save} && ${rename}; fi`] : [save, rename]),
        `sha256sum ${shQuote(p.localTar)} | cut -d' ' -f1`,
    ].join("\n");
}

/** The archive's checksum: the last line saveArchiveCommand prints. */
export function archiveSha256(stdout: string): string {
    return stdout.trim().split("\n").pop() ?? "";
}

export function removeLocalArchiveCommand(p: Pick<ArchivePlan, "localTar">): string {
    return shJoin(["rm", "-f", p.localTar, `${p.localTar}.part`]);
}
