// The chain's batch script (providers/slurm/chain.ts) run by bash with stand-ins for sbatch, squeue
// and scancel that record their calls (the real ones need a cluster: test/cluster/slurm-chain.test.ts).
// What is checked here is the script's own order of steps: the stop marker before and right after
// sbatch, the handover only once the successor runs and passes the check, and a failed query of the
// successor asked again instead of giving the successor up.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderChainScript } from "../../../../providers/slurm/chain";
import type { SlurmJobInputs } from "../../../../providers/slurm/types";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Runs the script as job 100 whose end is 3 s away (renewal 2 s before it), with the given successor answers. */
function run(opts: {
    stopBefore?: boolean;
    stopDuringSbatch?: boolean;
    successorStates?: string[];
    readyExit?: number;
    /** The service's command ($CALLS = the calls file); default `exec sleep 3`. */
    command?: string;
    /** Seconds from the start to the job's end (default 3). */
    endIn?: number;
    /** The renew-before setting (default 2; 0 = off). */
    renewBefore?: number;
    /** The readiness check's body (default: record the call, report the job, exit readyExit). */
    readyCheck?: string;
    /** A report already in the chain directory (a job's last readiness report). */
    report?: string;
}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chain-script-"));
    dirs.push(dir);
    const chain = path.join(dir, "chain-0123456789abcdef-fedcba9876543210");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(chain);
    fs.mkdirSync(bin);
    const calls = path.join(dir, "calls");
    const states = path.join(dir, "states");
    fs.writeFileSync(states, (opts.successorStates ?? ["RUNNING|None"]).join("\n") + "\n");
    const tool = (name: string, body: string) =>
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${calls}\n${body}\n`, { mode: 0o755 });
    tool(
        "squeue",
        [
            'case "$*" in',
            `  *%e*) date -d "@$(( $(date +%s) + ${opts.endIn ?? 3} ))" +%Y-%m-%dT%H:%M:%S ;;`,
            // One answer per query, the last one repeated; "FAIL" = the query fails.
            `  *) a=$(head -n 1 ${states}); [ "$(wc -l < ${states})" -gt 1 ] && sed -i 1d ${states}; [ "$a" = FAIL ] && { echo "slurm_load_jobs error: Socket timed out" >&2; exit 1; }; echo "$a" ;;`,
            "esac",
        ].join("\n"),
    );
    tool(
        "sbatch",
        `env | grep -q '^SLURM_' && echo "sbatch saw SLURM_ variables" >> ${calls}\ncase "$*" in *--test-only*) exit 0 ;; esac\n${opts.stopDuringSbatch ? `touch ${chain}/stop\n` : ""}echo 777`,
    );
    tool("scancel", "exit 0");
    const script = renderChainScript({ command: (opts.command ?? "exec sleep 3").split("$CALLS").join(calls), renewBeforeSeconds: 2 } as SlurmJobInputs, chain);
    fs.writeFileSync(path.join(chain, "job.sh"), script);
    fs.writeFileSync(path.join(chain, "comment"), "pulumi:p/s/svc script=fedcba9876543210 attempt=aaaaaaaa nonce=0123456789abcdef\n");
    fs.writeFileSync(
        path.join(chain, "ready-check.sh"),
        `echo checked "$1" >> ${calls}; ${opts.readyCheck ?? `echo '{"jobId":"'"$1"'"}'; exit ${opts.readyExit ?? 0}`}`,
    );
    fs.writeFileSync(path.join(chain, "renew-before"), `${opts.renewBefore ?? 2}\n`);
    if (opts.report !== undefined) {
        fs.writeFileSync(path.join(chain, "report"), `${opts.report}\n`);
    }
    fs.writeFileSync(path.join(chain, "poll-seconds"), "1\n");
    if (opts.stopBefore) {
        fs.writeFileSync(path.join(chain, "stop"), "");
    }
    const r = spawnSync("bash", [path.join(chain, "job.sh")], {
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: `${bin}:/usr/bin:/bin`, SLURM_JOB_ID: "100", SLURM_MEM_PER_NODE: "1024", HOME: dir },
    });
    const log = r.stdout
        .split("\n")
        .filter((l) => l.startsWith("chain:"))
        .map((l) => l.replace(/^chain: \S+ job 100: /, ""));
    const called = fs.readFileSync(calls, "utf8").trim().split("\n");
    return { code: r.status, log, called, chain };
}

describe("the chain's batch script", () => {
    it("hands over: sbatch with the chain's comment, the successor RUNNING and checked, then ends (exit 0)", () => {
        const r = run({});
        expect(r.code).toBe(0);
        expect(r.called).toContain(
            "sbatch --parsable --comment=pulumi:p/s/svc script=fedcba9876543210 attempt=aaaaaaaa nonce=0123456789abcdef " + `${r.chain}/job.sh`,
        );
        expect(r.log.slice(-3)).toEqual(["submitting successor", "submitted successor 777", "handed over to 777"]);
        // The job's own SLURM_* variables would be read by sbatch as the successor's options.
        expect(r.called).not.toContain("sbatch saw SLURM_ variables");
        expect(r.called.filter((c) => c.startsWith("checked"))).toContain("checked 777");
        expect(fs.readFileSync(`${r.chain}/report`, "utf8")).toBe('{"jobId":"777"}\n');
        // Scheduler commands, counted: the probe, the end, the sbatch and one squeue of the successor.
        expect(
            fs
                .readFileSync(`${r.chain}/queries`, "utf8")
                .trim()
                .split("\n")
                .map((l) => l.split(" ")[2]),
        ).toEqual(["test-only", "end", "sbatch", "squeue"]);
    });

    it("submits nothing when the stop marker is there at the renewal", () => {
        const r = run({ stopBefore: true });
        expect(r.called.filter((c) => c.startsWith("sbatch --parsable"))).toEqual([]);
        expect(r.log).toContain("stop marker: no successor");
    });

    it("cancels the successor it just made when the stop marker appeared during sbatch", () => {
        const r = run({ stopDuringSbatch: true });
        expect(r.called).toContain("scancel 777");
        expect(r.log).toContain("stop marker: cancelled successor 777");
        expect(r.log).not.toContain("handed over to 777");
    });

    it("waits while the successor is pending and asks again after a failed query; hands over once it runs", () => {
        // Renewal 1 s after the start, the end 5 s later: room for three polls a second apart.
        const r = run({ successorStates: ["PENDING|QOSGrpGRES", "FAIL", "RUNNING|None"], endIn: 6, renewBefore: 5 });
        expect(r.code).toBe(0);
        expect(r.log).toContain("successor 777: PENDING|QOSGrpGRES");
        expect(r.log).toContain("handed over to 777");
    });

    it("cancels a successor that runs but fails the check, and serves on", () => {
        const r = run({ readyExit: 1 });
        expect(r.called).toContain("scancel 777");
        expect(r.log.some((l) => l.startsWith("successor 777 is RUNNING but not ready"))).toBe(true);
    });

    it("ends its service only after the check on the successor passed (the check is what switches the endpoint)", () => {
        const r = run({ command: `trap 'echo service-ended >> $CALLS; kill $!; exit 0' TERM; sleep 10 & wait $!` });
        expect(r.log).toContain("handed over to 777");
        const order = r.called.filter((c) => c === "checked 777" || c === "service-ended");
        expect(order).toEqual(["checked 777", "service-ended"]);
    });

    it("retries its own check until it passes: a successor whose predecessor died before the handover takes the endpoint once it answers", () => {
        // Renewal off, so only the self-check runs: it fails once, then passes after its pause.
        const r = run({
            command: "exec sleep 7",
            endIn: 20,
            renewBefore: 0,
            readyCheck: `n=$(cat "$0.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.n"; [ "$n" -ge 1 ] || exit 1; echo '{"jobId":"'"$1"'"}'`,
        });
        expect(r.called.filter((c) => c === "checked 100")).toEqual(["checked 100", "checked 100"]);
        expect(r.log).toContain("serving (ready)");
        expect(fs.readFileSync(`${r.chain}/report`, "utf8")).toBe('{"jobId":"100"}\n');
    }, 20_000);

    it("does not check itself once a newer job of the chain reported (it would switch the endpoint back)", () => {
        const r = run({ command: "exec sleep 1", renewBefore: 0, report: '{"node":"n1","port":5,"jobId":"200","endsAt":0}' });
        expect(r.called.filter((c) => c.startsWith("checked"))).toEqual([]);
        expect(fs.readFileSync(`${r.chain}/report`, "utf8")).toContain('"jobId":"200"');
    });
});
