/**
 * A TCP port nobody listens on now, picked by the kernel on loopback. The bench never uses a fixed
 * port: the shared Redis on 6379 and the other processes on this machine stay untouched.
 */
import { createServer } from "node:net";

const HIGHEST_PORT = 65_535;
/** Ports asked of the kernel before giving up on finding one whose partner is free too. */
const PAIR_ATTEMPTS = 50;

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

/**
 * A free port whose partner `port + offset` is free as well (a Redis Cluster node listens for its peers
 * on port + 10000), neither of them among `taken`: ports already handed out but not bound yet.
 */
export async function freePortPair(offset: number, taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < PAIR_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    const partner = port + offset;
    if (partner > HIGHEST_PORT || taken.has(port) || taken.has(partner)) continue;
    if (await portFree(partner)) return port;
  }
  throw new Error(`found no free port whose port + ${offset} is free too`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
