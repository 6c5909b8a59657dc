// The service a test chain serves (test/cluster/slurm-chain.test.ts, test/e2e/programs/slurm-chain):
// a small HTTP server answering /health with its job id, after writing the endpoint file
// "node port jobid" the hpg stack's readiness script reads (components/hpg/commands.ts).
import { currentEndpointFile, endpointFilePattern } from "../../components/hpg/commands";

/** The endpoint file pattern of jobs whose log is `<dir>/chain_%j.log`. */
export function chainEndpointPattern(dir: string): string {
    return endpointFilePattern(dir, "chain_%j.log");
}

/** The file the readiness check switches to the job that serves. */
export function chainCurrentEndpoint(dir: string): string {
    return currentEndpointFile(chainEndpointPattern(dir));
}

/** The service: a free port, the endpoint file, then an HTTP server answering /health with the job id. */
export function chainService(dir: string): string {
    return [
        "set -euo pipefail",
        `port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')`,
        `endpoint=${dir}/sparc_service_"$SLURM_JOB_ID".endpoint`,
        `printf '%s %s %s\\n' "\${SLURMD_NODENAME:-localhost}" "$port" "$SLURM_JOB_ID" > "$endpoint.part" && mv -f "$endpoint.part" "$endpoint"`,
        `exec python3 -c '
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = json.dumps({"status": "ok", "job_id": os.environ["SLURM_JOB_ID"]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
' "$port"`,
    ].join("\n");
}
