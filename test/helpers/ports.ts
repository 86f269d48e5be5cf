/** Free TCP ports on loopback, asked of the kernel. */
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

/** A port free on every one of `hosts` (e.g. 127.0.0.1, 127.0.0.2, ...), for nodes that share a port. */
export async function freePortOnAll(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const free = await Promise.all(hosts.map((host) => portFree(host, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`found no port free on all of ${hosts.join(", ")}`);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose partner `port + offset` is free as well (a Redis Cluster node listens for its peers on
 * port + 10000), neither of them among `taken`: ports already handed out but not bound yet.
 */
export async function freePortPair(offset: number, taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    const partner = port + offset;
    if (partner > HIGHEST_PORT || taken.has(port) || taken.has(partner)) continue;
    if (await portFree("127.0.0.1", partner)) return port;
  }
  throw new Error(`found no free port whose port + ${offset} is free too`);
}

const HIGHEST_PORT = 65_535;
