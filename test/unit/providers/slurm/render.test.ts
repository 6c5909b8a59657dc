import { describe, expect, it } from "vitest";
import { renderBatchScript, sbatchDirectiveQuote, sbatchOptions } from "../../../../providers/slurm/render";

describe("sbatchDirectiveQuote", () => {
    it.each([
        ["sparc-production-service", "sparc-production-service"],
        ["sparc_service_%j.log", "sparc_service_%j.log"],
        ["has space", '"has space"'],
        ["hash#comment", '"hash#comment"'],
        ['quote"inside', '"quote\\"inside"'],
        ["back\\slash", '"back\\\\slash"'],
        ["$(touch x)", '"$(touch x)"'],
        ["é日本", '"é日本"'],
    ])("%j -> %s", (value, expected) => {
        expect(sbatchDirectiveQuote(value)).toBe(expected);
    });

    it.each(["a\nb", "a\rb", "a\0b"])("refuses %j", (value) => {
        expect(() => sbatchDirectiveQuote(value)).toThrow(/newline or NUL/);
    });
});

describe("renderBatchScript", () => {
    it("renders the reference HiPerGator production job", () => {
        const script = renderBatchScript({
            jobName: "sparc-production-service",
            partition: "hpg-ai",
            nodes: 1,
            gpusPerTask: "4",
            cpusPerTask: 32,
            mem: "256gb",
            time: "14-00:00:00",
            output: "sparc_service_%j.log",
            command: "module purge\nmodule load apptainer\napptainer exec --nv /blue/g/mas_server.sif uvicorn main:app --host 0.0.0.0 --port 8000\n",
        });
        expect(script).toBe(
            [
                "#!/bin/bash",
                "#SBATCH --job-name=sparc-production-service",
                "#SBATCH --partition=hpg-ai",
                "#SBATCH --nodes=1",
                "#SBATCH --cpus-per-task=32",
                "#SBATCH --gpus-per-task=4",
                "#SBATCH --mem=256gb",
                "#SBATCH --time=14-00:00:00",
                "#SBATCH --output=sparc_service_%j.log",
                "",
                "module purge",
                "module load apptainer",
                "apptainer exec --nv /blue/g/mas_server.sif uvicorn main:app --host 0.0.0.0 --port 8000",
                "",
            ].join("\n"),
        );
    });

    it("exports the environment shell-quoted and sorted", () => {
        const script = renderBatchScript({ command: "env", environment: { B: "it's $(x)", A: "plain" } });
        expect(script).toBe("#!/bin/bash\n\nexport A=plain\nexport B='it'\\''s $(x)'\n\nenv\n");
    });

    it("uses a whole script as given, ending it with a newline", () => {
        expect(renderBatchScript({ script: "#!/bin/sh\necho hi" })).toBe("#!/bin/sh\necho hi\n");
    });

    it("orders every structured option stably and splits extra args at the first =", () => {
        expect(
            sbatchOptions({
                jobName: "j",
                partition: "p",
                account: "a",
                qos: "q",
                nodes: 2,
                ntasks: 3,
                cpusPerTask: 4,
                gpus: "a100:2",
                gpusPerTask: "1",
                gres: "gpu:1",
                mem: "1G",
                time: "1:00:00",
                constraint: "x&y",
                output: "o",
                error: "e",
                workdir: "/w d",
                dependency: "afterok:1",
                extraArgs: ["--exclusive", "--signal=B:TERM@120", "--begin=now+1 hour"],
            }),
        ).toEqual([
            "--job-name=j",
            "--partition=p",
            "--account=a",
            "--qos=q",
            "--nodes=2",
            "--ntasks=3",
            "--cpus-per-task=4",
            "--gpus=a100:2",
            "--gpus-per-task=1",
            "--gres=gpu:1",
            "--mem=1G",
            "--time=1:00:00",
            '--constraint="x&y"',
            "--output=o",
            "--error=e",
            '--chdir="/w d"',
            "--dependency=afterok:1",
            "--exclusive",
            "--signal=B:TERM@120",
            '--begin="now+1 hour"',
        ]);
    });
});
