// A stack's outputs and config, read through Pulumi's Automation API on the project directory (the
// backend, PULUMI_CONFIG_PASSPHRASE and the `pulumi` CLI come from the user's environment, as for
// `pulumi` itself). Read by name, never selected: the user's current stack stays as it is.
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type ConfigMap } from "@pulumi/pulumi/automation";

/** A problem the user fixes (no such stack, no outputs yet, ...): printed without a stack trace. */
export class StatusError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StatusError";
    }
}

export type StackKind = "hpg" | "pubapps";

export interface StackView {
    name: string;
    project: string;
    kind: StackKind;
    /** Output values (secrets shown: the user owns the stack). */
    outputs: Record<string, unknown>;
    config: ConfigMap;
}

/** Which target a stack deploys: its `target` config (index.ts's default is podman). */
export function stackKind(name: string, project: string, config: ConfigMap): StackKind {
    const target = config[`${project}:target`]?.value ?? "podman";
    if (target !== "hpg" && target !== "pubapps") {
        throw new StatusError(
            `stack "${name}" is not an hpg or pubapps stack (${project}:target = ${JSON.stringify(target)}). ` +
                "Status and logs read hpg and pubapps stacks; a dev stack runs here: `podman pod ps`, `podman logs <container>`",
        );
    }
    return target;
}

/** The outputs a kind's report needs; a stack that has never finished `up` has none. */
export const REQUIRED_OUTPUTS: Record<StackKind, string[]> = {
    hpg: ["jobId", "logPath"],
    pubapps: ["unitNames", "publicUrl"],
};

export function checkOutputs(name: string, kind: StackKind, outputs: Record<string, unknown>): void {
    if (Object.keys(outputs).length === 0) {
        throw new StatusError(`stack "${name}" has no outputs yet: run \`pulumi up --stack ${name}\` first (a preview makes none)`);
    }
    const missing = REQUIRED_OUTPUTS[kind].filter((k) => outputs[k] === undefined || outputs[k] === "");
    if (missing.length > 0) {
        throw new StatusError(
            `stack "${name}" (${kind}) lacks the output(s) ${missing.join(", ")}: its last up did not finish; run \`pulumi up --stack ${name}\``,
        );
    }
}

export async function readStack(name: string, workDir: string): Promise<StackView> {
    let ws: LocalWorkspace;
    try {
        ws = await LocalWorkspace.create({ workDir });
    } catch (err) {
        throw new StatusError(
            `cannot open the Pulumi project in ${workDir}: ${firstLine(err)}. Fix: run from the checkout, or pass --cwd <dir with Pulumi.yaml>`,
        );
    }
    const project = (await ws.projectSettings()).name;
    let config: ConfigMap;
    try {
        config = await ws.getAllConfig(name);
    } catch (err) {
        const text = String((err as Error).message ?? err);
        if (/no stack named|could not find stack|not found/i.test(text)) {
            const known = await ws.listStacks().then(
                (s) => s.map((x) => x.name),
                () => [] as string[],
            );
            throw new StatusError(
                `no stack named "${name}" in this backend${known.length > 0 ? ` (stacks: ${known.join(", ")})` : ""}. ` +
                    "Fix: `pulumi stack ls` to see them, `pulumi login <backend>` if it is another backend",
            );
        }
        if (/passphrase/i.test(text)) {
            throw new StatusError(`cannot decrypt stack "${name}"'s config: set PULUMI_CONFIG_PASSPHRASE (or _FILE) as for \`pulumi up\``);
        }
        throw new StatusError(`cannot read stack "${name}": ${firstLine(err)}`);
    }
    const kind = stackKind(name, project, config);
    const raw = await ws.stackOutputs(name);
    const outputs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value as unknown]));
    checkOutputs(name, kind, outputs);
    return { name, project, kind, outputs, config };
}

/**
 * The stack's config as a program sees it (pulumi.runtime.setAllConfig, secrets marked), so the
 * stack's own typed loaders read it: the same host, port, key and ControlPath as `up` uses.
 */
export function programConfig(view: StackView): pulumi.Config {
    const values = Object.fromEntries(Object.entries(view.config).map(([k, v]) => [k, v.value]));
    const secrets = Object.entries(view.config)
        .filter(([, v]) => v.secret === true)
        .map(([k]) => k);
    pulumi.runtime.setAllConfig(values, secrets);
    return new pulumi.Config(view.project);
}

/** An Output's value outside a deployment (the loaders hand secrets back as Outputs). */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return o === undefined ? Promise.resolve(undefined) : new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

function firstLine(err: unknown): string {
    return (
        String((err as Error)?.message ?? err)
            .trim()
            .split("\n")
            .filter((l) => l.trim() !== "")
            .slice(-1)[0] ?? ""
    );
}
