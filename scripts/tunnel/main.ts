// `npm run tunnel -- --stack <hpg stack> [--port N] [--check-seconds N]`: a local port that follows the
// service chain's renewals (tunnel.ts). One login for the whole session (one second-factor prompt).
import { closeAllConnections } from "../../providers/remote";
import { loadHpgConfig } from "../../components/hpg/config";
import { slurmConnection } from "../../components/hpg/hpgStack";
import { StatusError, programConfig, readStack, valueOf } from "../status/stack";
import { startTunnel } from "./tunnel";

const USAGE = `usage: npm run tunnel -- --stack <hpg stack> [--port <local port>] [--check-seconds <s>] [--cwd <project dir>]

Forwards a local port (default: hpgMasPort) to the MAS service of an hpg stack and follows its
renewals: the cluster's endpoint file is read over the one login every --check-seconds (default 30;
a file read, no scheduler query), and new connections go to the job it names. Ctrl-C ends it.`;

export interface TunnelArgs {
    stack: string;
    port?: number;
    checkSeconds: number;
    cwd: string;
}

export function parseTunnelArgs(argv: readonly string[]): TunnelArgs | "help" {
    const args: TunnelArgs = { stack: "", checkSeconds: 30, cwd: process.cwd() };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) {
                throw new StatusError(`${a} needs a value\n\n${USAGE}`);
            }
            return v;
        };
        if (a === "-h" || a === "--help") {
            return "help";
        } else if (a === "--stack") {
            args.stack = value();
        } else if (a === "--port" || a === "--check-seconds") {
            const v = value();
            const n = Number(v);
            if (!Number.isInteger(n) || n < (a === "--port" ? 0 : 1) || n > 65535) {
                throw new StatusError(`${a} ${JSON.stringify(v)}: give a whole number${a === "--port" ? " from 0 to 65535" : " of seconds, 1 or more"}`);
            }
            if (a === "--port") {
                args.port = n;
            } else {
                args.checkSeconds = n;
            }
        } else if (a === "--cwd") {
            args.cwd = value();
        } else {
            throw new StatusError(`unknown argument ${JSON.stringify(a)}\n\n${USAGE}`);
        }
    }
    if (args.stack === "") {
        throw new StatusError(`--stack is required\n\n${USAGE}`);
    }
    return args;
}

async function run(): Promise<void> {
    const args = parseTunnelArgs(process.argv.slice(2));
    if (args === "help") {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    const view = await readStack(args.stack, args.cwd);
    if (view.kind !== "hpg") {
        throw new StatusError(`stack "${args.stack}" is not an hpg stack: the tunnel is for the HiPerGator service`);
    }
    const cfg = loadHpgConfig(programConfig(view), process.env);
    const connection = await valueOf(slurmConnection(cfg));
    const endpointFile = String(view.outputs.endpointFile ?? "");
    if (connection === undefined || endpointFile === "") {
        throw new StatusError(`stack "${args.stack}" has no endpointFile output yet: run \`pulumi up --stack ${args.stack}\``);
    }
    const tunnel = await startTunnel({
        connection,
        endpointFile,
        localPort: args.port ?? cfg.masPort,
        checkSeconds: args.checkSeconds,
        log: (line) => process.stdout.write(`tunnel: ${line}\n`),
    });
    process.stdout.write(`tunnel: http://127.0.0.1:${tunnel.port}/ -> the MAS service of stack ${args.stack} (Ctrl-C ends it)\n`);
    await new Promise<void>((resolve) => process.once("SIGINT", resolve));
    await tunnel.close();
}

/** The script's entry: exit 2 for a usage or stack problem, 1 for a failure on the way. */
export function main(): void {
    run()
        .catch((err: Error) => {
            process.stderr.write(`tunnel: ${err.message}\n`);
            process.exitCode = err instanceof StatusError || err.name === "RunError" ? 2 : 1;
        })
        .finally(() => closeAllConnections());
}
