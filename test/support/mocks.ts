// One harness for the component tests under Pulumi's mocks (pulumi.runtime.setMocks): it records
// every resource registered, answers each with its inputs plus what the real provider would add
// (given per test file), and refuses every invoke (no component here makes one).
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** The parent's URN ("" for a resource of the stack itself). */
    parent: string;
}

export interface MockedStack {
    /** Resources registered since the last reset, in order. */
    readonly registered: Registered[];
    reset(): void;
    byType(type: string): Registered[];
    byName(name: string): Registered;
}

export interface MockOptions {
    stack: string;
    project?: string;
    /** Outputs the real provider would add to a resource's inputs (e.g. a docker.Image's repoDigest). */
    outputsOf?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>;
}

/** The value of an Output, once its resources are registered (outputs resolve after them). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise<T>((resolve) =>
        output.apply((v) => {
            resolve(v);
            return v;
        }),
    );
}

/** Install the mocks; import the components under test only after this resolves. */
export async function mockStack(options: MockOptions): Promise<MockedStack> {
    const registered: Registered[] = [];
    const parents = new Map<string, string>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult => {
                registered.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    parent: parents.get(`${args.type}::${args.name}`) ?? "",
                });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...(options.outputsOf?.(args) ?? {}) } };
            },
            call: (args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult => {
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        options.project ?? "sparc-deploy",
        options.stack,
        false,
    );
    // The mocks' newResource is not told the parent; the mock monitor's request is, just before it.
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: { getType(): string; getName(): string; getParent(): string }, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        parents.set(`${req.getType()}::${req.getName()}`, req.getParent());
        return register(req, callback);
    };
    return {
        registered,
        reset: () => {
            registered.length = 0;
        },
        byType: (type) => registered.filter((r) => r.type === type),
        byName: (name) => {
            const found = registered.find((r) => r.name === name);
            if (found === undefined) {
                throw new Error(`no resource ${name}; registered: ${registered.map((r) => r.name).join(", ")}`);
            }
            return found;
        },
    };
}
