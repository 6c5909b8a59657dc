// components/images.ts's ignoreFileProblem: @pulumi/docker appends a random name to a build context's .dockerignore at
// every build (its copy of the Dockerfile, which lives outside the context); a .dockerignore that does not exclude
// itself is then copied by `COPY . ` with new content each time, and that layer and every one after it are rebuilt.
// The sample contexts exclude it (each build of this repository's images is fully cached), and a user's context
// that does not gets a hint naming its config key and the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ignoreFileProblem, turnContext } from "../../../components/images";
import { imagesConfigDefaults, unityStandinContext } from "../../../components/imagesConfig";

const root = path.resolve(__dirname, "../../..");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function contextWith(ignore: string | undefined): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sparc-context-"));
    dirs.push(dir);
    if (ignore !== undefined) {
        fs.writeFileSync(path.join(dir, ".dockerignore"), ignore);
    }
    return dir;
}

describe("ignoreFileProblem", () => {
    it.each<[string, string | undefined, boolean]>([
        ["no .dockerignore (the provider writes one that excludes itself)", undefined, false],
        ["one that lists itself", "node_modules/\n.dockerignore\n", false],
        ["one that lists every ignore file", "*.dockerignore\n", false],
        ["one anchored at the root", "/.dockerignore\n", false],
        ["one without it", "node_modules/\n.git/\n", true],
        ["one that only mentions it in a comment", "# .dockerignore\n.git/\n", true],
    ])("%s", (_, ignore, flagged) => {
        const dir = contextWith(ignore);
        const problem = ignoreFileProblem("masContext", dir);
        if (flagged) {
            expect(problem).toBe(
                `masContext=${dir}: its .dockerignore does not exclude itself, so a \`COPY . \` in the Dockerfile is rebuilt at every build ` +
                    `(@pulumi/docker appends a random name to that file each time). Fix: add the line .dockerignore to ${dir}/.dockerignore`,
            );
        } else {
            expect(problem).toBeUndefined();
        }
    });

    const contexts = [
        ["masContext", imagesConfigDefaults.masContext],
        ["signalingContext", imagesConfigDefaults.signalingContext],
        ["the stand-in player", unityStandinContext],
        ["the stand-in Unity build", "samples/unity-build-standin"],
        ["the TURN image", turnContext],
    ];
    it.each(contexts)("this repository's build context %s (%s) excludes its ignore files", (key, context) => {
        const dir = path.resolve(root, context);
        expect(fs.existsSync(dir), dir).toBe(true);
        expect(ignoreFileProblem(key, dir)).toBeUndefined();
        // The provider reads <Dockerfile name>.dockerignore for its own filter: kept the same as .dockerignore.
        for (const extra of fs.readdirSync(dir).filter((f) => f.endsWith(".dockerignore") && f !== ".dockerignore")) {
            expect(fs.readFileSync(path.join(dir, extra), "utf8")).toContain(
                fs.readFileSync(path.join(dir, ".dockerignore"), "utf8").split("\n").slice(-4).join("\n"),
            );
        }
    });
});
