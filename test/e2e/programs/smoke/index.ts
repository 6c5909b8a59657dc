// Smallest program that exercises what sparc-deploy relies on: a dynamic provider
// (runs through pulumi-resource-pulumi-nodejs), a ComponentResource, plain and secret config.
import * as pulumi from "@pulumi/pulumi";

interface EchoInputs {
    label: string;
}

interface EchoOutputs extends EchoInputs {
    length: number;
}

const echoProvider: pulumi.dynamic.ResourceProvider<EchoInputs, EchoOutputs> = {
    async create(inputs) {
        return { id: `echo-${inputs.label}`, outs: { label: inputs.label, length: inputs.label.length } };
    },
    async diff(_id, olds, news) {
        return { changes: olds.label !== news.label, replaces: olds.label !== news.label ? ["label"] : [] };
    },
    async read(id, props) {
        return { id, props };
    },
};

class Echo extends pulumi.dynamic.Resource {
    declare readonly label: pulumi.Output<string>;
    declare readonly length: pulumi.Output<number>;

    constructor(name: string, label: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions) {
        super(echoProvider, name, { label, length: undefined }, opts);
    }
}

class EchoPair extends pulumi.ComponentResource {
    readonly totalLength: pulumi.Output<number>;

    constructor(name: string, label: pulumi.Input<string>, opts?: pulumi.ComponentResourceOptions) {
        super("sparc:e2e:EchoPair", name, {}, opts);
        const first = new Echo(`${name}-first`, label, { parent: this });
        const second = new Echo(`${name}-second`, pulumi.interpolate`${label}-again`, { parent: this });
        this.totalLength = pulumi.all([first.length, second.length]).apply(([a, b]) => a + b);
        this.registerOutputs({ totalLength: this.totalLength });
    }
}

const config = new pulumi.Config();
const greeting = config.require("greeting");
const token = config.requireSecret("token");

const pair = new EchoPair("pair", greeting);

export const totalLength = pair.totalLength;
export const greetingEcho = greeting;
export const tokenLength = token.apply((t) => t.length);
export const tokenEcho = token;
