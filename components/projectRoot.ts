// The project's directory (the one holding Pulumi.yaml), found from this file's own place: the
// program runs from its sources (components/) or compiled (dist/program/components/, see
// program.js), so a fixed number of ".." would point into dist/ in the second case.
import * as fs from "node:fs";
import * as path from "node:path";

/** The nearest directory at or above `from` that holds Pulumi.yaml. */
export function findProjectRoot(from: string): string {
    for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            throw new Error(`no Pulumi.yaml at or above ${from}: the program's files must stay inside the project`);
        }
    }
}

export const projectRoot = findProjectRoot(__dirname);
