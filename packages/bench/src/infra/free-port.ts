/**
 * A TCP port nobody listens on now, picked by the kernel on loopback. The bench never uses a fixed
 * port: the shared Redis on 6379 and the other processes on this machine stay untouched.
 */
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
