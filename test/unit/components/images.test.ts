// components/images.ts's ignoreFileProblem: @pulumi/docker appends a random name to a build context's .dockerignore at
// every build (its copy of the Dockerfile, which lives outside the context); a .dockerignore that does not exclude
// itself is then copied by `COPY . ` with new content each time, and that layer and every one after it are rebuilt.
// The sample contexts exclude it (each build of this repository's images is fully cached), and a user's context
// that does not gets a hint naming its config key and the fix.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dockerfiles, ignoreFileProblem, stackDockerfile, stackDockerfileDir, turnContext } from "../../../components/images";
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

describe("stackDockerfile: each stack builds its own image id", () => {
    // With every layer cached, two stacks that build the same sources would get one image id, and one stack's
    // destroy would remove (or fail on) the image the other runs. A stack's copy of the Dockerfile ends with a
    // LABEL naming it: one metadata step, after every shared and cached one.
    const owner = "sparc-deploy/images-unit-test";
    afterAll(() => fs.rmSync(path.join(stackDockerfileDir, "sparc-deploy", "images-unit-test"), { recursive: true, force: true }));

    it("is the Dockerfile, then a LABEL with the project and stack", () => {
        const copy = stackDockerfile(dockerfiles.mas, owner);
        expect(copy).toBe(path.join(stackDockerfileDir, "sparc-deploy", "images-unit-test", "Dockerfile.mas"));
        const original = fs.readFileSync(dockerfiles.mas, "utf8");
        const text = fs.readFileSync(copy, "utf8");
        expect(text.startsWith(original)).toBe(true);
        expect(text.slice(original.length).trim().split("\n").at(-1)).toBe('LABEL org.sparc-deploy.stack="sparc-deploy/images-unit-test"');
    });

    it("differs between stacks only in that label", () => {
        const a = fs.readFileSync(stackDockerfile(dockerfiles.signaling, owner), "utf8").split("\n");
        const b = fs.readFileSync(stackDockerfile(dockerfiles.signaling, "sparc-deploy/images-unit-test-2"), "utf8").split("\n");
        fs.rmSync(path.join(stackDockerfileDir, "sparc-deploy", "images-unit-test-2"), { recursive: true, force: true });
        expect(a.filter((line, i) => line !== b[i])).toEqual(['LABEL org.sparc-deploy.stack="sparc-deploy/images-unit-test"']);
    });

    it("is not rewritten when it is current (its time stamp stays), and is when the Dockerfile changed", () => {
        const copy = stackDockerfile(dockerfiles.turn, owner);
        const old = new Date(Date.now() - 3_600_000);
        fs.utimesSync(copy, old, old);
        stackDockerfile(dockerfiles.turn, owner);
        expect(fs.statSync(copy).mtimeMs).toBe(old.getTime());
        fs.writeFileSync(copy, "FROM stale\n");
        stackDockerfile(dockerfiles.turn, owner);
        expect(fs.readFileSync(copy, "utf8")).toContain(fs.readFileSync(dockerfiles.turn, "utf8"));
    });
});
