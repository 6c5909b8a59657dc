// Where the command provider stand-in lives: put this dir first on PATH (TestStack's
// extraPath) and the engine runs it for every @pulumi/command version.
import * as path from "node:path";

export const COMMAND_STANDIN_DIR = __dirname;
export const COMMAND_STANDIN_PLUGIN = path.join(__dirname, "pulumi-resource-command");
