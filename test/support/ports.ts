// Ports for tests that need one nothing listens on.
import * as net from "node:net";

/** A port nothing listens on (bound on 127.0.0.1, then released). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
