// STAND-IN for the pulumi-resource-command 1.2.1 plugin (tests only), served over gRPC by
// @pulumi/pulumi's provider.main. Only command:local:Command exists. The SDK's server does not
// announce preview support, so the engine never calls create/update during `pulumi preview`.
import { randomBytes } from "node:crypto";
import * as provider from "@pulumi/pulumi/provider";
import {
    checkInputs,
    commandOutputs,
    diffInputs,
    killRunning,
    LOCAL_COMMAND_TYPE,
    plainInputs,
    PROVIDER_VERSION,
    reveal,
    runCommand,
    type WireProps,
} from "./local-command";

function typeOf(urn: string): string {
    // urn:pulumi:<stack>::<project>::<parent types$>type::<name>
    return urn.split("::")[2]?.split("$").pop() ?? "";
}

function nameOf(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

function requireLocalCommand(urn: string): void {
    if (typeOf(urn) !== LOCAL_COMMAND_TYPE) {
        throw new Error(`the command provider stand-in implements only ${LOCAL_COMMAND_TYPE}, not ${typeOf(urn)}`);
    }
}

function previousOutput(state: WireProps): { stdout?: string; stderr?: string } {
    const text = (v: unknown): string | undefined => (typeof reveal(v) === "string" ? (reveal(v) as string) : undefined);
    return { stdout: text(state.stdout), stderr: text(state.stderr) };
}

export const commandStandIn: provider.Provider = {
    version: PROVIDER_VERSION,

    async check(urn, _olds, news) {
        if (typeOf(urn) !== LOCAL_COMMAND_TYPE) {
            return { inputs: news, failures: [{ property: "", reason: `the command provider stand-in implements only ${LOCAL_COMMAND_TYPE}` }] };
        }
        return checkInputs(news as WireProps);
    },

    async diff(_id, urn, olds, news) {
        requireLocalCommand(urn);
        return diffInputs(olds as WireProps, news as WireProps);
    },

    async create(urn, inputs) {
        requireLocalCommand(urn);
        const wire = inputs as WireProps;
        const plain = plainInputs(wire);
        // Same shape as the real id (resource.NewUniqueHex(name, 8, 0)): name + 8 hex digits.
        const id = `${nameOf(urn)}${randomBytes(4).toString("hex")}`;
        const result = plain.create === undefined ? { stdout: "", stderr: "" } : await runCommand(plain.create, plain, {});
        return { id, outs: commandOutputs(wire, result) };
    },

    async update(_id, urn, olds, news) {
        requireLocalCommand(urn);
        const wire = news as WireProps;
        const plain = plainInputs(wire);
        const previous = previousOutput(olds as WireProps);
        const command = plain.update ?? plain.create;
        const result =
            command === undefined
                ? { stdout: previous.stdout ?? "", stderr: previous.stderr ?? "" }
                : await runCommand(command, plain, previous);
        return { outs: commandOutputs(wire, result) };
    },

    async delete(_id, urn, props) {
        requireLocalCommand(urn);
        const state = props as WireProps;
        const plain = plainInputs(state);
        if (plain.delete !== undefined) {
            await runCommand(plain.delete, plain, previousOutput(state));
        }
    },

    async read(id, _urn, props) {
        // Nothing to look up: a command has no live state besides what was recorded.
        return { id, props };
    },

    async cancel() {
        killRunning();
    },
};

if (require.main === module) {
    void provider.main(commandStandIn, process.argv.slice(2));
}
