// Command-line arguments of `npm run status` and `npm run logs`. Pure: unit-tested.
import * as path from "node:path";

export type Tool = "status" | "logs";

export interface ToolArgs {
    tool: Tool;
    stack: string;
    /** logs: the service to show ("" = all). */
    service: string;
    /** Lines of log to show (status: the tail; logs: per service). */
    lines: number;
    /** The project directory (Pulumi.yaml); default the checkout this script is in. */
    cwd: string;
    help: boolean;
}

export const DEFAULT_LINES: Record<Tool, number> = { status: 20, logs: 100 };
const MAX_LINES = 100_000;

/** The checkout's root (scripts/status/ is two levels down). */
export const projectRoot = path.resolve(__dirname, "..", "..");

export function usage(tool: Tool): string {
    const common = [
        "  --stack <name>   the stack (an hpg or pubapps stack: its `target` config decides)",
        `  --lines <n>      lines of log to show (default ${DEFAULT_LINES[tool]})`,
        "  --cwd <dir>      the project directory holding Pulumi.yaml (default this checkout)",
        "  -h, --help       this text",
        "",
        "The stack's outputs and config are read as `pulumi` reads them (its backend and PULUMI_CONFIG_PASSPHRASE",
        "from your environment). One SSH login, as the stack makes it (none while its master connection is open).",
    ];
    return tool === "status"
        ? [
              "Usage: npm run status -- --stack <hpg|pubapps stack> [--lines <n>]",
              "",
              "hpg: the service job's state, time left, whether rolling renewal is due, /health of the endpoint asked",
              "from the login node, and the tail of the job's log.",
              "pubapps: the systemd user units' states, `podman ps`, `df` of the archive directory and Podman's storage,",
              "and the HTTP answers of the public URL (GET <url>health, WebSocket upgrade), asked from this machine.",
              "",
              ...common,
          ].join("\n")
        : [
              "Usage: npm run logs -- --stack <hpg|pubapps stack> [service] [--lines <n>]",
              "",
              "hpg: the tail of the service job's log (service: mas, the only one that runs as a job).",
              "pubapps: for each service (default all; e.g. mas, signaling, turn, unity, pod), the unit's journal",
              "(journalctl --user -u <unit>) and the container's output (podman logs).",
              "",
              ...common,
          ].join("\n");
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** argv after the script name (what `npm run <tool> -- ...` passes). */
export function parseArgs(tool: Tool, argv: readonly string[]): ToolArgs {
    const args: ToolArgs = { tool, stack: "", service: "", lines: DEFAULT_LINES[tool], cwd: projectRoot, help: false };
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i] as string;
        const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
        const value = (): string => {
            const v = inline ?? argv[++i];
            if (v === undefined || v === "") {
                throw new UsageError(`${flag} needs a value`);
            }
            return v;
        };
        switch (flag) {
            case "-h":
            case "--help":
                args.help = true;
                break;
            case "--stack":
            case "-s":
                args.stack = value();
                break;
            case "--lines":
            case "-n": {
                const v = value();
                if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_LINES) {
                    throw new UsageError(`--lines ${JSON.stringify(v)}: give a whole number from 1 to ${MAX_LINES}`);
                }
                args.lines = Number(v);
                break;
            }
            case "--cwd":
                args.cwd = path.resolve(value());
                break;
            default:
                if (arg.startsWith("-")) {
                    throw new UsageError(`unknown option ${arg} (see --help)`);
                }
                positional.push(arg);
        }
    }
    if (args.help) {
        return args;
    }
    if (tool === "logs" && positional.length > 1) {
        throw new UsageError(`one service at most, got ${positional.join(" ")}`);
    }
    if (tool === "status" && positional.length > 0) {
        throw new UsageError(`status takes no service (got ${positional.join(" ")}); use npm run logs -- --stack <s> <service>`);
    }
    args.service = positional[0] ?? "";
    if (args.stack === "") {
        throw new UsageError("--stack <name> is required, e.g. --stack hpg");
    }
    return args;
}
