// The images' platform check, shared by the targets that save and upload images (hpg, pubapps): pure, no resources.
import { shJoin, shQuote } from "../providers";

/**
 * A shell line that refuses an image whose os/architecture is not `platform`'s, before anything saves or
 * uploads it (an arm64 image uploads for minutes and then fails on HiPerGator with "exec format error").
 * `key` is the config key that names the image; "" platform = no check.
 */
export function imagePlatformCheck(cli: string, ref: string, key: string, platform: string): string {
    if (platform === "") {
        return "true";
    }
    const want = platform.split("/").slice(0, 2).join("/");
    const fix =
        `Fix: rebuild it for ${want} (\`podman build --platform ${want}\` or \`docker buildx build --platform ${want}\`; ` +
        `imageSource build does this), or set imagePlatform if your target really is that platform`;
    return [
        `got=$(${shJoin([cli, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref])})`,
        `if [ "$got" != ${shQuote(want)} ]; then printf '%s\n' ${shQuote(`${key} = ${JSON.stringify(ref)}: the image is built for `)}"$got"${shQuote(`, but the target runs ${want} (imagePlatform), where it would fail with "exec format error". ${fix}`)} >&2; exit 1; fi`,
    ].join("\n");
}
