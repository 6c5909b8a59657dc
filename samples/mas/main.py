"""Sample MAS backend: the smallest FastAPI app that the dev stack can run and probe.

Replace this directory with the real SPARC MAS sources (config key masContext);
the image only needs `main:app` and a requirements.txt.
"""
from fastapi import FastAPI

app = FastAPI(title="SPARC MAS sample")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
