// Where the .sif build points Apptainer, on the real cluster: its cache (APPTAINER_CACHEDIR) on /blue and its
// temp files (APPTAINER_TMPDIR) in the build job's local scratch, never under $HOME (Apptainer's own default,
// $HOME/.apptainer; UF's home quota is 40 GB). An `apptainer` first on PATH records what the build script gave
// it and writes the output, then the script renames it as it would a real build; run over SSH on the login
// node and as a Slurm job (sbatch --wait), whose $TMPDIR is set to a job-local directory as UF's job prolog does.
import { describe, expect, it, afterAll } from "vitest";
import { sifBuildScript, sifPlan, type ApptainerDirs } from "../../components/hpg/commands";
import { shQuote } from "../../providers/remote";
import { onCluster, requireClusterOrSkip } from "../support/cluster";

const ready = requireClusterOrSkip();
const BLUE = `/blue/sparc-test/hpcuser/apptainer-dirs-${process.pid}`;
const BIN = `${BLUE}/bin`;
const LOG = `${BLUE}/apptainer-env.log`;
const TAG = `sparc-apptainer-dirs-${process.pid}`;

const dirs: ApptainerDirs = { cacheDir: `${BLUE}/apptainer-cache`, tmpDir: "", tmpFallback: `${BLUE}/apptainer-tmp` };
const wrapper = [
    "#!/bin/sh",
    // Both dirs must exist when Apptainer starts (it refuses a missing APPTAINER_TMPDIR).
    `printf 'cache=%s tmp=%s cache_exists=%s tmp_exists=%s job=%s\\n' "$APPTAINER_CACHEDIR" "$APPTAINER_TMPDIR" "$(test -d "$APPTAINER_CACHEDIR" && echo yes)" "$(test -d "$APPTAINER_TMPDIR" && echo yes)" "\${SLURM_JOB_ID:-}" >> ${LOG}`,
    ': > "$3"',
].join("\n");

function lastRecord(): string {
    const r = onCluster(`tail -n 1 ${shQuote(LOG)}`);
    return r.stdout.trim();
}

describe.skipIf(!ready)("Apptainer's cache and temp dirs in the .sif build", () => {
    const plan = sifPlan("mas", "unused", "0123456789abcdef", "/tmp", BLUE);
    const setup = onCluster(
        ready
            ? `mkdir -p ${shQuote(BIN)} && printf '%s\\n' ${shQuote(wrapper)} > ${shQuote(`${BIN}/apptainer`)} && chmod +x ${shQuote(`${BIN}/apptainer`)} && : > ${shQuote(plan.remoteTar)}`
            : "true",
    );
    afterAll(() => {
        onCluster(`rm -rf ${shQuote(BLUE)}`);
    });

    it("on the login node: the cache and the temp dir under /blue (no job scratch there)", () => {
        expect(setup.code, setup.stderr).toBe(0);
        const r = onCluster(`env PATH=${shQuote(`${BIN}:/usr/local/bin:/usr/bin:/bin`)} bash -c ${shQuote(sifBuildScript(plan, [], dirs))}`);
        expect(r.code, r.stderr).toBe(0);
        expect(lastRecord()).toBe(`cache=${BLUE}/apptainer-cache tmp=${BLUE}/apptainer-tmp cache_exists=yes tmp_exists=yes job=`);
        expect(onCluster(`test -e ${shQuote(plan.remoteSif)} && echo yes`).stdout.trim()).toBe("yes");
    });

    it("as a Slurm job: the cache under /blue, the temp dir in the job's local scratch ($TMPDIR)", () => {
        // UF's job prolog points $TMPDIR at the node's local disk for the job; the test cluster's jobs get one here.
        const job = [
            "#!/bin/bash",
            `#SBATCH --job-name=${TAG}`,
            "#SBATCH --partition=debug",
            "#SBATCH --time=00:05:00",
            `#SBATCH --output=${BLUE}/job-%j.log`,
            `export PATH=${shQuote(`${BIN}:/usr/local/bin:/usr/bin:/bin`)}`,
            `export TMPDIR=${shQuote(`${BLUE}/local-scratch`)}/"$SLURM_JOB_ID" && mkdir -p "$TMPDIR"`,
            sifBuildScript(plan, [], dirs),
        ].join("\n");
        const r = onCluster(`timeout 55 sbatch --parsable --wait <<'SPARC_EOF'\n${job}\nSPARC_EOF`);
        expect(r.code, r.stderr).toBe(0);
        const jobId = r.stdout.trim().split(";")[0];
        expect(lastRecord()).toBe(
            `cache=${BLUE}/apptainer-cache tmp=${BLUE}/local-scratch/${jobId}/sparc-apptainer-tmp cache_exists=yes tmp_exists=yes job=${jobId}`,
        );
    }, 90_000);

    it("explicit hpgApptainerTmpDir wins, also in a job", () => {
        const r = onCluster(
            `env SLURM_JOB_ID=1 TMPDIR=/tmp PATH=${shQuote(`${BIN}:/usr/local/bin:/usr/bin:/bin`)} bash -c ${shQuote(sifBuildScript(plan, [], { ...dirs, tmpDir: `${BLUE}/mytmp` }))}`,
        );
        expect(r.code, r.stderr).toBe(0);
        expect(lastRecord()).toBe(`cache=${BLUE}/apptainer-cache tmp=${BLUE}/mytmp cache_exists=yes tmp_exists=yes job=1`);
    });
});
