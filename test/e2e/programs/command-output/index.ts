// One local.Command that prints `bytes` bytes, with a delete: what the project's readiness and
// build commands look like when their output is large. addPreviousOutputInEnv comes from config.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shJoin } from "../../../../providers/remote/quote";

const config = new pulumi.Config();
const bytes = config.requireNumber("bytes");
const previousOutputInEnv = config.requireBoolean("addPreviousOutputInEnv");

const big = new command.local.Command("big-output", {
    create: `yes 0123456789abcdef | head -c ${bytes}`,
    delete: shJoin(["echo", "deleted"]),
    addPreviousOutputInEnv: previousOutputInEnv,
});

export const stdoutLength = big.stdout.apply((s) => s.length);
