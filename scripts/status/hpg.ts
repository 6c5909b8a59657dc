// hpg status and logs: one command over the stack's own connection (runRemote with the settings
// the stack passes its SlurmJob, so the same pooled login, or the user's open master: no login).
import { parseSlurmTime } from "../../providers";
import { runRemote, type SshConnection } from "../../providers/remote";

/** Marks a section of the remote command's output. */
const MARK = "@@sparc-status@@";

export interface HpgStatusInputs {
    jobId: string;
    logPath: string;
    /** node:port from the masEndpoint output ("" = the job never became ready). */
    endpoint: string;
    lines: number;
}

/** The one remote command: squeue, sacct (a job squeue no longer lists), /health from the login node, the log tail. */
export function hpgStatusArgv(i: HpgStatusInputs): string[] {
    const script = [
        "job=$1 log=$2 endpoint=$3 lines=$4",
        `echo ${MARK}squeue`,
        // The provider's own pinned time format: %L and %e read the same on every cluster.
        "env SLURM_TIME_FORMAT=standard squeue -h -j \"$job\" -o '%T|%L|%e|%r|%N' 2>&1",
        `echo ${MARK}sacct`,
        'env SLURM_TIME_FORMAT=standard sacct -n -P -X -j "$job" -o State,End,ExitCode 2>&1 | head -n 3',
        `echo ${MARK}health`,
        // -w ends without a newline: the echo keeps the next mark at the start of its line.
        `if [ -n "$endpoint" ]; then curl -sS --max-time 5 -w '\\n%{http_code}' "http://$endpoint/health" 2>&1; echo; fi`,
        `echo ${MARK}log`,
        'tail -n "$lines" -- "$log" 2>&1',
    ].join("\n");
    return ["bash", "-c", script, "sparc-status", i.jobId, i.logPath, i.endpoint, String(i.lines)];
}

/** The output split at the section marks. */
export function sections(stdout: string): Record<string, string> {
    const out: Record<string, string> = {};
    let current = "";
    for (const line of stdout.split("\n")) {
        if (line.startsWith(MARK)) {
            current = line.slice(MARK.length);
            out[current] = "";
        } else if (current !== "") {
            out[current] += `${line}\n`;
        }
    }
    return out;
}

export interface HpgStatus {
    jobId: string;
    /** RUNNING, PENDING, ... ; from sacct once squeue no longer lists it; "" = unknown to both. */
    state: string;
    /** Seconds left (squeue %L); undefined when not running or unlimited. */
    timeLeftSeconds: number | undefined;
    timeLeft: string;
    end: string;
    reason: string;
    node: string;
    endpoint: string;
    /** HTTP status of /health ("" = not asked), and its body (or curl's error). */
    healthCode: string;
    healthBody: string;
    logPath: string;
    logTail: string;
    /** Rolling renewal window in hours (hpgRenewBeforeHours); 0 = off. */
    renewBeforeHours: number;
}

/** squeue %L (D-HH:MM:SS, H:MM:SS, M:SS) in seconds; undefined for UNLIMITED, INVALID and the like. */
export function timeLeftSeconds(text: string): number | undefined {
    if (/^[0:-]+$/.test(text)) {
        return 0;
    }
    const s = parseSlurmTime(text);
    return s === undefined || s === Infinity ? undefined : s;
}

export function parseHpgStatus(stdout: string, i: HpgStatusInputs, renewBeforeHours: number): HpgStatus {
    const s = sections(stdout);
    const row = (s.squeue ?? "").split("\n").find((l) => /^[A-Z_]+\|/.test(l));
    const [state = "", left = "", end = "", reason = "", node = ""] = row?.split("|") ?? [];
    const acct = (s.sacct ?? "").split("\n").find((l) => /^[A-Z_]+/.test(l) && l.includes("|"));
    const [acctState = "", acctEnd = ""] = acct?.split("|") ?? [];
    const health = (s.health ?? "").replace(/\n+$/, "");
    const codeAt = health.lastIndexOf("\n");
    const healthCode = health === "" ? "" : codeAt >= 0 ? health.slice(codeAt + 1).trim() : "000";
    return {
        jobId: i.jobId,
        state: row !== undefined ? state : (acctState.split(" ")[0] ?? ""),
        timeLeftSeconds: row !== undefined && state === "RUNNING" ? timeLeftSeconds(left) : undefined,
        timeLeft: row !== undefined ? left : "",
        end: row !== undefined ? end : acctEnd,
        reason: row !== undefined && reason !== "None" ? reason : "",
        node: row !== undefined ? node : "",
        endpoint: i.endpoint,
        healthCode: /^\d{3}$/.test(healthCode) ? healthCode : "000",
        healthBody: codeAt >= 0 ? health.slice(0, codeAt) : health,
        logPath: i.logPath,
        logTail: (s.log ?? "").replace(/\n+$/, ""),
        renewBeforeHours,
    };
}

/** Where the chain's renewal stands (hpgRenewBeforeHours: the job renews itself on the cluster, docs/hpg-renewal.md). */
export function renewalLine(st: HpgStatus, stackName: string): string {
    if (st.renewBeforeHours <= 0) {
        return "renewal: off (hpgRenewBeforeHours = 0)";
    }
    if (st.timeLeftSeconds === undefined) {
        return `renewal: window ${st.renewBeforeHours} h; the job is not running: \`pulumi refresh --stack ${stackName}\` finds the chain's current job, and \`pulumi up --stack ${stackName} --refresh\` submits a new one if none is left`;
    }
    const window = st.renewBeforeHours * 3600;
    if (st.timeLeftSeconds <= window) {
        return `renewal: under way on the cluster (less than ${st.renewBeforeHours} h left): the job submits its successor and hands over; \`pulumi refresh --stack ${stackName}\` shows the current job`;
    }
    return `renewal: by the job itself on the cluster in ${hours(st.timeLeftSeconds - window)} (${st.renewBeforeHours} h before its end); nothing to run`;
}

function hours(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return h >= 48 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${h} h ${m} min`;
}

function indent(text: string): string {
    return text === ""
        ? "  (empty)"
        : text
              .split("\n")
              .map((l) => `  ${l}`)
              .join("\n");
}

export function formatHpgStatus(st: HpgStatus, stackName: string): string {
    const job =
        st.state === ""
            ? `job ${st.jobId}: unknown to squeue and sacct (purged from the accounting, or another cluster)`
            : `job ${st.jobId}: ${st.state}` +
              (st.node !== "" && st.state === "RUNNING" ? ` on ${st.node}` : "") +
              (st.reason !== "" ? ` (${st.reason})` : "") +
              (st.timeLeft !== "" && st.state === "RUNNING" ? `, time left ${st.timeLeft}` : "") +
              (st.end !== "" && st.end !== "Unknown" ? `, ${st.state === "RUNNING" || st.state === "PENDING" ? "ends" : "ended"} ${st.end}` : "");
    const health =
        st.endpoint === ""
            ? "health: no endpoint (the masEndpoint output is empty: the job never passed readiness)"
            : `health: GET http://${st.endpoint}/health from the login node -> ${st.healthCode === "000" ? "no answer" : `HTTP ${st.healthCode}`}${st.healthBody !== "" ? ` ${st.healthBody.split("\n")[0]}` : ""}`;
    return [`hpg stack "${stackName}"`, job, renewalLine(st, stackName), health, `log ${st.logPath} (last lines):`, indent(st.logTail)].join("\n");
}

/** renewBeforeHours: the stack's hpgRenewBeforeHours. */
export async function hpgStatus(conn: SshConnection, renewBeforeHours: number, i: HpgStatusInputs, stackName: string): Promise<string> {
    const r = await runRemote(conn, hpgStatusArgv(i), { timeoutSeconds: 60 });
    return formatHpgStatus(parseHpgStatus(r.stdout, i, renewBeforeHours), stackName);
}

export const HPG_SERVICES = ["mas"];

export function hpgLogsArgv(logPath: string, lines: number): string[] {
    return ["tail", "-n", String(lines), "--", logPath];
}

export async function hpgLogs(conn: SshConnection, logPath: string, lines: number): Promise<{ text: string; code: number }> {
    const r = await runRemote(conn, hpgLogsArgv(logPath, lines), { timeoutSeconds: 60 });
    return { text: `==> ${logPath} (service job log, last ${lines} lines) <==\n${r.stdout}${r.stderr}`, code: r.code };
}
