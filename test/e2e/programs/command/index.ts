// Three local.Commands exercising what the stand-in must get right: triggers (replace),
// delete with the previous stdout in its env, environment + dir, and (optionally) a failure.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shJoin, shQuote } from "../../../../providers/slurm/quote";

const config = new pulumi.Config();
const markerDir = config.require("markerDir");
const trigger = config.require("trigger");
const greeting = config.require("greeting");
const token = config.requireSecret("token");
const fail = config.getBoolean("fail") ?? false;

const inMarkerDir = (file: string): string => shQuote(`${markerDir}/${file}`);

// Runs again only when `trigger` changes; the old one's delete logs what it printed.
const triggered = new command.local.Command("triggered", {
    create: `echo run >> ${inMarkerDir("triggered.runs")} && echo ${shQuote(`triggered by ${trigger}`)}`,
    delete: `echo "deleted: $PULUMI_COMMAND_STDOUT" >> ${inMarkerDir("triggered.deletes")}`,
    triggers: [trigger],
});

// Creates a marker file; delete removes it and records the previous stdout.
const marker = new command.local.Command("marker", {
    create: `touch ${inMarkerDir("marker")} && echo marker-created`,
    delete: `rm ${inMarkerDir("marker")} && echo "$PULUMI_COMMAND_STDOUT" > ${inMarkerDir("marker.deleted")}`,
});

// `create` changes with the greeting (update in place); stderr shows the previous stdout.
const greeter = new command.local.Command("greeter", {
    create: [
        shJoin(["echo", greeting]),
        `echo "from $(pwd -P) as $SPARC_WHO, token of \${#SPARC_TOKEN} chars"`,
        `echo "previous: [\${PULUMI_COMMAND_STDOUT:-none}]" >&2`,
    ].join(" && "),
    environment: { SPARC_WHO: "e2e", SPARC_TOKEN: token },
    dir: markerDir,
    interpreter: ["/bin/sh", "-c"],
    logging: "stdoutAndStderr",
});

if (fail) {
    new command.local.Command("failing", {
        create: "echo partial-stdout; echo 'boom: disk on fire' >&2; exit 7",
    });
}

export const triggeredStdout = triggered.stdout;
export const markerStdout = marker.stdout;
export const greeterStdout = greeter.stdout;
export const greeterStderr = greeter.stderr;
