// What `npm run status` and `npm run logs` do: parse the arguments, read the stack, load its config
// with the stack's own typed loader, and make the one remote call. Exit 0 = shown; 1 = the remote
// side failed; 2 = a usage or stack problem (printed as one message, no stack trace).
import { closeAllConnections } from "../../providers/remote";
import { loadHpgConfig } from "../../components/hpg/config";
import { slurmConnection } from "../../components/hpg/hpgStack";
import { loadPubappsConfig } from "../../components/pubapps/config";
import { parseArgs, usage, UsageError, type Tool } from "./args";
import { HPG_SERVICES, hpgLogs, hpgStatus } from "./hpg";
import { pubappsLogsArgv, pubappsStatus, runOnInstance, unitsFor } from "./pubapps";
import { StatusError, programConfig, readStack, valueOf } from "./stack";

export interface ToolResult {
    code: number;
    stdout: string;
    stderr: string;
}

export async function runTool(tool: Tool, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolResult> {
    let args;
    try {
        args = parseArgs(tool, argv);
    } catch (err) {
        if (err instanceof UsageError) {
            return { code: 2, stdout: "", stderr: `${tool}: ${err.message}\n\n${usage(tool)}\n` };
        }
        throw err;
    }
    if (args.help) {
        return { code: 0, stdout: `${usage(tool)}\n`, stderr: "" };
    }
    try {
        const view = await readStack(args.stack, args.cwd);
        const config = programConfig(view);
        if (view.kind === "hpg") {
            const cfg = loadHpgConfig(config, env);
            const conn = await valueOf(slurmConnection(cfg));
            if (conn === undefined) {
                throw new StatusError("no connection settings");
            }
            const logPath = String(view.outputs.logPath);
            if (tool === "status") {
                const text = await hpgStatus(
                    conn,
                    cfg.renewBeforeHours,
                    { jobId: String(view.outputs.jobId), logPath, endpoint: String(view.outputs.masEndpoint ?? ""), lines: args.lines },
                    view.name,
                );
                return { code: 0, stdout: `${text}\n`, stderr: "" };
            }
            if (args.service !== "" && !HPG_SERVICES.includes(args.service)) {
                throw new StatusError(`no service "${args.service}" runs as a job in an hpg stack: only ${HPG_SERVICES.join(", ")} (the service job)`);
            }
            const r = await hpgLogs(conn, logPath, args.lines);
            return { code: r.code === 0 ? 0 : 1, stdout: r.text, stderr: "" };
        }
        const cfg = loadPubappsConfig(config, env);
        const answers = await valueOf(cfg.mfaAnswers);
        const unitNames = view.outputs.unitNames as Record<string, string>;
        if (tool === "status") {
            const r = await pubappsStatus(cfg, answers, view.name, { unitNames, publicUrl: String(view.outputs.publicUrl) });
            return r.ok ? { code: 0, stdout: `${r.text}\n`, stderr: "" } : { code: 1, stdout: "", stderr: `${r.text}\n` };
        }
        let units: string[];
        try {
            units = unitsFor(args.service, unitNames);
        } catch (err) {
            throw new StatusError((err as Error).message);
        }
        const r = await runOnInstance(cfg, answers, pubappsLogsArgv(units, args.lines));
        return { code: r.code === 0 ? 0 : 1, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
        // The config loaders throw RunError with every problem listed (key, value, fix).
        const known = err instanceof StatusError || (err as Error).name === "RunError" || (err as Error).constructor?.name === "RunError";
        if (known) {
            return { code: 2, stdout: "", stderr: `${tool}: ${(err as Error).message}\n` };
        }
        return { code: 1, stdout: "", stderr: `${tool}: ${(err as Error).message}\n` };
    } finally {
        closeAllConnections();
    }
}

/** The scripts' entry: writes the result and exits with its code. */
export function main(tool: Tool): void {
    runTool(tool, process.argv.slice(2)).then(
        (r) => {
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            process.exitCode = r.code;
        },
        (err: unknown) => {
            process.stderr.write(`${tool}: ${(err as Error).message}\n`);
            process.exitCode = 1;
        },
    );
}
