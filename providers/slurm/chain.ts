// A service job that renews itself on the cluster: the chain.
//
// With chainDir set (and renewBeforeSeconds > 0), the SlurmJob resource is a chain of jobs rather
// than one job. Each job of the chain runs the same batch script, kept in the chain's directory on
// the cluster, which serves (the resource's command, in the background) and, renewBeforeSeconds
// before its end (read once from the scheduler), submits its own successor: same script, same
// --comment (the resource's tag, script hash and nonce), checked against a stop marker before and
// right after sbatch. It then waits politely (one squeue per chainPollSeconds) until the successor
// is RUNNING, runs the resource's readyCheck on it (the one handover code path: it switches the
// endpoint only once the successor answers as itself), and only then ends. A successor that does
// not start before the end keeps its place in the queue; the predecessor serves to its last minute.
// Nothing outside the cluster takes part. Every job also runs readyCheck on itself, again until it
// passes (so a successor that starts after its predecessor's end, or whose predecessor died at its
// time limit during the handover, still takes over the endpoint as soon as it answers), and records
// the report and its end in the chain directory, where refresh reads them.
//
// Pure rendering and parsing, plus the few remote steps (prepare, read, stop) of the provider.
import type { JobStatus, SlurmJobInputs, SlurmJobOutputs } from "./types";
import { shQuote } from "../remote/quote";
import { sbatchOptions } from "./render";
import { parseJobComment } from "./ownership";
import { SQUEUE_FORMAT, isTerminalState, parseSqueue } from "./parse";

/** The pause between the waiting predecessor's queries of its successor when chainPollSeconds is absent. */
export const CHAIN_POLL_SECONDS_DEFAULT = 60;

/** True when the resource is a self-renewing chain. */
export function isChain(inputs: Partial<SlurmJobInputs>): boolean {
    return typeof inputs.chainDir === "string" && inputs.chainDir !== "" && (inputs.renewBeforeSeconds ?? 0) > 0;
}

/** The chain's own directory: one per resource (nonce) and script (hash), so a replaced chain never shares one. */
export function chainPathOf(inputs: Pick<SlurmJobInputs, "chainDir" | "ownerNonce">, hash: string): string {
    return `${(inputs.chainDir ?? "").replace(/\/+$/, "")}/chain-${inputs.ownerNonce ?? "nononce"}-${hash}`;
}

/** The nonce and script hash a chain directory stands for (its jobs' --comment carries both). */
export function chainKeyOf(chainPath: string): { nonce: string; hash: string } {
    const m = /chain-([0-9a-f]{16}|nononce)-([0-9a-f]{16})$/.exec(chainPath);
    return m === null ? { nonce: "", hash: "" } : { nonce: m[1] === "nononce" ? "" : m[1], hash: m[2] };
}

/** True for a job whose --comment says it belongs to this chain (by nonce and hash, not the tag: a rename keeps the chain). */
export function inChain(job: Pick<JobStatus, "comment">, chainPath: string): boolean {
    const key = chainKeyOf(chainPath);
    const c = parseJobComment(job.comment);
    return key.hash !== "" && c.scriptHash === key.hash && c.nonce === key.nonce;
}

/**
 * The chain's batch script. The service body (environment exports and command) runs in a
 * subshell in the background; the rest is the renewal. Every scheduler command the job runs is
 * appended to `queries` in the chain directory (how the polling rate is measured).
 */
export function renderChainScript(inputs: SlurmJobInputs, chainPath: string): string {
    const env = inputs.environment ?? {};
    const exports = Object.keys(env)
        .sort()
        .map((key) => `export ${key}=${shQuote(env[key])}`);
    const q = shQuote;
    return [
        "#!/bin/bash",
        ...sbatchOptions(inputs).map((o) => `#SBATCH ${o}`),
        "",
        "# A job of a self-renewing SlurmJob chain (chain.ts of the Slurm provider).",
        `chain_dir=${q(chainPath)}`,
        `chain_log() { echo "chain: $(date -u +%Y-%m-%dT%H:%M:%SZ) job $SLURM_JOB_ID: $*"; }`,
        // Each scheduler command, counted: the polling rate of a chain is read from this file.
        `chain_q() { echo "$(date +%s) $SLURM_JOB_ID $1" >> "$chain_dir/queries"; }`,
        `chain_setting() { local v; v=$(cat "$chain_dir/$1" 2>/dev/null); if [[ "$v" =~ ^[0-9]+$ ]]; then echo "$v"; else echo "$2"; fi; }`,
        // Submitting from a job inherits the job's SLURM_* variables, which sbatch would read as options (SBATCH_* came from the login, as for the first job).
        `chain_sbatch() { ( for v in $(compgen -e); do case $v in SLURM_*|SRUN_*|SALLOC_*) unset "$v";; esac; done; exec sbatch "$@" ); }`,
        "(",
        ...exports,
        (inputs.command ?? "").replace(/\n+$/, ""),
        ") &",
        "svc=$!",
        `trap 'kill -TERM "$svc" 2>/dev/null; wait "$svc"; exit 143' TERM INT`,
        'chain_serve() { wait "$svc"; local rc=$?; chain_log "service ended ($rc)"; exit "$rc"; }',
        // Once per chain: may a job submit jobs here? The answer is what `up` reports.
        'if [ ! -e "$chain_dir/probe" ]; then',
        "    chain_q test-only",
        '    if out=$(chain_sbatch --test-only --comment=probe "$chain_dir/job.sh" 2>&1); then echo ok > "$chain_dir/probe"',
        "    else printf 'failed: %s\\n' \"$(echo \"$out\" | tail -n 2 | tr '\\n' ' ')\" > \"$chain_dir/probe\"; fi",
        "fi",
        // This job's end, read once; recorded for refresh.
        "chain_q end",
        'end=$(SLURM_TIME_FORMAT=standard squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null)',
        'end_s=$(date -d "$end" +%s 2>/dev/null || echo 0)',
        'echo "$end_s" > "$chain_dir/end.$SLURM_JOB_ID"',
        // Self-readiness: the endpoint moves to this job once it answers as itself (a successor that
        // starts after its predecessor's end takes over this way).
        "chain_ready() {",
        "    local t; t=$(chain_setting ready-timeout 300)",
        '    if out=$(timeout $((t + 30)) bash "$chain_dir/ready-check.sh" "$1" "" "" 2>"$chain_dir/ready.$1.err"); then',
        '        printf \'%s\\n\' "$out" | tail -n 1 > "$chain_dir/report.part.$1" && mv -f "$chain_dir/report.part.$1" "$chain_dir/report"; return 0',
        "    fi",
        "    return 1",
        "}",
        // Retried until it passes (a check, then a pause: no scheduler query), so a successor whose
        // predecessor died before the handover (its time limit) takes the endpoint as soon as it answers.
        // It gives up once a newer job of the chain reported, the stop marker exists, or the job's end is past.
        "chain_newer_reported() {",
        '    local id; id=$(sed -n \'s/.*"jobId": *"\\{0,1\\}\\([0-9][0-9]*\\).*/\\1/p\' "$chain_dir/report" 2>/dev/null | tail -n 1)',
        '    [ -n "$id" ] && [ "$id" -gt "$SLURM_JOB_ID" ]',
        "}",
        "( while :; do",
        '    if [ -e "$chain_dir/stop" ] || chain_newer_reported || { [ "$end_s" -gt 0 ] && [ "$(date +%s)" -ge "$end_s" ]; }; then exit 0; fi',
        '    if chain_ready "$SLURM_JOB_ID"; then chain_log "serving (ready)"; exit 0; fi',
        "    sleep 5 & wait $!",
        "done ) &",
        "selfready=$!",
        // The self-check stops before this job hands over or ends: it never switches the endpoint back to a job that ends.
        'chain_stop_self() { [ -n "$selfready" ] || return 0; pkill -TERM -P "$selfready" 2>/dev/null; kill -TERM "$selfready" 2>/dev/null; selfready=""; }',
        "trap chain_stop_self EXIT",
        'if [ "$end_s" -le 0 ]; then chain_log "end time unknown ($end): no renewal"; chain_serve; fi',
        "before=$(chain_setting renew-before 0)",
        'if [ "$before" -le 0 ]; then chain_log "renewal off"; chain_serve; fi',
        "renew_at=$((end_s - before))",
        'chain_log "renews at $(date -u -d "@$renew_at" +%Y-%m-%dT%H:%M:%SZ), ends at $(date -u -d "@$end_s" +%Y-%m-%dT%H:%M:%SZ)"',
        'while [ "$(date +%s)" -lt "$renew_at" ]; do',
        '    kill -0 "$svc" 2>/dev/null || chain_serve',
        "    left=$((renew_at - $(date +%s))); sleep $((left > 30 ? 30 : (left > 0 ? left : 1))) & wait $!",
        "done",
        'if [ -e "$chain_dir/stop" ]; then chain_log "stop marker: no successor"; chain_serve; fi',
        'chain_log "submitting successor"',
        "chain_q sbatch",
        'if ! succ=$(chain_sbatch --parsable --comment="$(cat "$chain_dir/comment")" "$chain_dir/job.sh" 2>"$chain_dir/sbatch.err"); then',
        "    chain_log \"sbatch of the successor failed: $(tail -n 2 \"$chain_dir/sbatch.err\" | tr '\\n' ' '); serving to the end\"",
        '    echo "$SLURM_JOB_ID" > "$chain_dir/renewal-failed"; chain_serve',
        "fi",
        "succ=${succ%%;*}",
        // The stop marker may have appeared during sbatch (a destroy): the successor goes at once.
        'if [ -e "$chain_dir/stop" ]; then chain_q scancel; scancel "$succ"; chain_log "stop marker: cancelled successor $succ"; chain_serve; fi',
        'chain_log "submitted successor $succ"',
        'poll=$(chain_setting poll-seconds 60); shown=""',
        "while :; do",
        '    [ -e "$chain_dir/stop" ] && chain_serve',
        "    chain_q squeue",
        // A failed query is no answer (slurmctld busy): ask again at the next poll, never give the successor up for it.
        '    if ! st=$(squeue -h -t all -j "$succ" -o "%T|%r" 2>"$chain_dir/squeue.err"); then',
        '        [ -n "$shown" ] || chain_log "squeue of successor $succ failed ($(tail -n 1 "$chain_dir/squeue.err")); asking again in $poll s"',
        "        st=QUERY-FAILED",
        "    fi",
        '    case "$st" in',
        "        QUERY-FAILED) ;;",
        "        RUNNING*) break ;;",
        '        PENDING*|CONFIGURING*|REQUEUED*|RESIZING*|SUSPENDED*) if [ "$st" != "$shown" ]; then chain_log "successor $succ: $st"; echo "$succ $st" > "$chain_dir/successor"; shown=$st; fi ;;',
        '        *) chain_log "successor $succ ended before it ran (${st:-gone}); serving to the end"; chain_serve ;;',
        "    esac",
        '    if [ "$(date +%s)" -ge "$end_s" ]; then chain_serve; fi',
        '    sleep "$poll" & wait $!',
        "done",
        "chain_stop_self",
        'if chain_ready "$succ"; then',
        '    chain_log "handed over to $succ"',
        '    rm -f "$chain_dir/successor"',
        '    kill -TERM "$svc" 2>/dev/null; wait "$svc"; exit 0',
        "fi",
        'chain_log "successor $succ is RUNNING but not ready ($(tail -n 1 "$chain_dir/ready.$succ.err")): cancelling it, serving to the end"',
        'chain_q scancel; scancel "$succ"; chain_serve',
        "",
    ].join("\n");
}

/**
 * One remote script that lays out the chain directory before its first job: the batch script,
 * the comment its jobs carry, the readiness check and the settings; the stop marker removed.
 * Stdin: nothing; everything is passed as arguments (quoted by the one helper at the transport).
 */
export function prepareChainArgv(chainPath: string, script: string, comment: string, inputs: SlurmJobInputs): string[] {
    return [
        "bash",
        "-c",
        [
            "set -e",
            'd=$1; umask 077; mkdir -p "$d"',
            'printf \'%s\' "$2" > "$d/job.sh.part" && mv -f "$d/job.sh.part" "$d/job.sh"',
            'printf \'%s\\n\' "$3" > "$d/comment"',
            'rm -f "$d/stop" "$d/probe" "$d/renewal-failed"',
            settingsLines(),
        ].join("\n"),
        "chain-prepare",
        chainPath,
        script,
        comment,
        ...settingsArgs(inputs),
    ];
}

function settingsLines(): string {
    return [
        'printf \'%s\' "$4" > "$d/ready-check.sh"',
        'printf \'%s\\n\' "$5" > "$d/renew-before"',
        'printf \'%s\\n\' "$6" > "$d/poll-seconds"',
        'printf \'%s\\n\' "$7" > "$d/ready-timeout"',
    ].join("\n");
}

function settingsArgs(inputs: SlurmJobInputs): string[] {
    return [
        inputs.readyCheck ?? "exit 0",
        String(inputs.renewBeforeSeconds ?? 0),
        String(inputs.chainPollSeconds ?? CHAIN_POLL_SECONDS_DEFAULT),
        String(inputs.readyTimeoutSeconds ?? 300),
    ];
}

/** Rewrites the settings a running chain reads at its next renewal (an update of renewBeforeSeconds, readyCheck, ...). */
export function writeSettingsArgv(chainPath: string, inputs: SlurmJobInputs): string[] {
    return ["bash", "-c", ['set -e; d=$1; umask 077; test -d "$d"', settingsLines()].join("\n"), "chain-settings", chainPath, "", "", ...settingsArgs(inputs)];
}

/** Separator between the parts of the read command's output. */
const PART = "--chain-read-part--";

/**
 * The one remote command of a chain's refresh: ONE scheduler query (the user's jobs, all states,
 * filtered here by the chain's comment), the last readiness report, the jobs' recorded ends, the
 * probe's answer and a failed renewal's marker.
 */
export function readChainArgv(chainPath: string, user: string): string[] {
    return [
        "bash",
        "-c",
        [
            'd=$1; squeue -h -t all -u "$2" -o "$3" || exit $?',
            `echo ${PART}; cat "$d/report" 2>/dev/null`,
            `echo ${PART}; grep -H . "$d"/end.* 2>/dev/null`,
            `echo ${PART}; cat "$d/probe" 2>/dev/null`,
            `echo ${PART}; cat "$d/renewal-failed" 2>/dev/null`,
            "true",
        ].join("\n"),
        "chain-read",
        chainPath,
        user,
        SQUEUE_FORMAT,
    ];
}

export interface ChainView {
    /** The chain's jobs slurmctld still knows, newest first. */
    jobs: JobStatus[];
    /** The job that serves (RUNNING, newest), else the newest waiting one, else the newest ended one. */
    current: JobStatus | undefined;
    /** The last readiness report a job of the chain wrote (JSON line), "" if none. */
    report: string;
    /** Each job's end, seconds since the epoch (cluster clock). */
    ends: Map<string, number>;
    /** "ok", "failed: ...", or "" when no job has asked yet. */
    probe: string;
    /** Id of a job whose sbatch of its successor failed, "" if none. */
    renewalFailed: string;
}

/** Parses readChainArgv's output. Throws when the squeue part has a line of this chain it cannot read. */
export function parseChainRead(stdout: string, chainPath: string): ChainView {
    const [queue, report = "", ends = "", probe = "", failed = ""] = stdout.split(`${PART}\n`);
    const key = chainKeyOf(chainPath);
    const jobs = parseSqueue(queue, (line) => line.includes(key.hash))
        .filter((j) => inChain(j, chainPath))
        .sort((a, b) => Number(b.jobId) - Number(a.jobId));
    const endMap = new Map<string, number>();
    for (const line of ends.split("\n")) {
        const m = /end\.(\d+):(\d+)$/.exec(line.trim());
        if (m !== null) {
            endMap.set(m[1], Number(m[2]));
        }
    }
    return {
        jobs,
        current: currentJob(jobs),
        report: report.trim().split("\n").pop() ?? "",
        ends: endMap,
        probe: probe.trim(),
        renewalFailed: failed.trim(),
    };
}

/** The serving job of a chain: RUNNING (newest), else waiting (newest), else ended (newest). */
export function currentJob(jobs: readonly JobStatus[]): JobStatus | undefined {
    const newest = [...jobs].sort((a, b) => Number(b.jobId) - Number(a.jobId));
    return newest.find((j) => j.state === "RUNNING") ?? newest.find((j) => !isTerminalState(j.state)) ?? newest.find((j) => isTerminalState(j.state));
}

/** The live jobs of a chain, from an squeue of the user's jobs. */
export function liveChainJobs(jobs: readonly JobStatus[]): JobStatus[] {
    return jobs.filter((j) => !isTerminalState(j.state));
}

/** Pending reasons that mean the group's limits cannot hold the successor next to the predecessor. */
const LIMIT_REASON = /^(Assoc|QOS)(Grp|Max)|^(AssocGrp|QOSGrp|QOSMax|AssocMax)/;

/** A warning when a waiting job of the chain is held by the group's limits (two jobs cannot run at once). */
export function limitWarning(view: ChainView): string {
    const waiting = view.jobs.find((j) => j.state === "PENDING" && LIMIT_REASON.test(j.reason));
    const running = view.jobs.find((j) => j.state === "RUNNING");
    if (waiting === undefined || running === undefined) {
        return "";
    }
    return (
        `successor ${waiting.jobId} is PENDING (${waiting.reason}): the group's limits cannot hold two jobs of this chain at once, ` +
        `so it can start only when job ${running.jobId} ends, leaving a gap; ask for a limit of twice the service's size, or accept the gap`
    );
}

/** Outputs of a chain read: the current job's status fields, its end and the endpoint report. */
export function chainOutputs(props: SlurmJobOutputs, view: ChainView): Partial<SlurmJobOutputs> {
    const cur = view.current;
    if (cur === undefined) {
        return {};
    }
    return {
        jobId: cur.jobId,
        state: cur.state,
        reason: cur.reason,
        nodeList: cur.nodeList,
        submitTime: cur.submitTime,
        startTime: cur.startTime,
        endTime: cur.endTime,
        exitCode: cur.exitCode,
        endsAt: view.ends.get(cur.jobId) ?? (cur.jobId === props.jobId ? (props.endsAt ?? 0) : 0),
        readyReport: reportNames(view.report, cur.jobId) ? view.report : (props.readyReport ?? ""),
    };
}

/** True when a readiness report (JSON line) names this job. */
export function reportNames(report: string, jobId: string): boolean {
    try {
        return (JSON.parse(report) as { jobId?: unknown }).jobId === jobId;
    } catch {
        return false;
    }
}

/**
 * What `up` says when the chain's first job could not submit a job (its probe, `sbatch --test-only`
 * from the job, failed): the setting, its value, what happens without renewal and the fix.
 */
export function selfRenewalWarning(inputs: Pick<SlurmJobInputs, "renewBeforeSeconds" | "chainDir">, probe: string): string {
    return (
        `WARNING: renewBeforeSeconds = ${inputs.renewBeforeSeconds ?? 0} (with chainDir ${inputs.chainDir ?? "unset"}) asks each job to submit its successor, ` +
        `but this site does not let a job submit jobs (sbatch --test-only from the job ${probe}). The chain cannot renew itself: the service ends at ` +
        "its time limit, and the next `pulumi up` after that submits exactly one replacement, which waits in the queue. Fix: ask the cluster's " +
        "administrators to allow sbatch from jobs (Slurm allows it unless the site forbids it), or set renewBeforeSeconds to 0 (renewal off) and run " +
        "`pulumi up` after each end."
    );
}

/** Writes the stop marker: no job of the chain submits a successor from now on. */
export function stopArgv(chainPath: string): string[] {
    return ["bash", "-c", 'mkdir -p "$1" && touch "$1/stop"', "chain-stop", chainPath];
}
