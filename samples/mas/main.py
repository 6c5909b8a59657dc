"""Sample MAS backend: the smallest FastAPI app that the dev stack can run and probe.

Replace this directory with the real SPARC MAS sources (config key masContext);
the image only needs `main:app` and a requirements.txt. On HiPerGator the service job
sets SPARC_JOB_ID, and the readiness check accepts /health only when it answers with
that job id (so that it never takes another job's service on the same port for ours):
keep the "job_id" field in your /health.
"""
import os

from fastapi import FastAPI

app = FastAPI(title="SPARC MAS sample")


@app.get("/health")
def health() -> dict[str, str]:
    job_id = os.environ.get("SPARC_JOB_ID", "")
    # Outside a Slurm job (the dev pod) the answer stays {"status": "ok"}.
    return {"status": "ok", "job_id": job_id} if job_id else {"status": "ok"}
