/**
 * A TCP load balancer for tests, in the manner of HAProxy in `mode tcp` with `balance roundrobin`: each
 * new connection goes to the next backend that accepts it (a refused backend is skipped), and bytes are
 * piped both ways until either side closes. WebSocket clients need no stickiness through it. A backend
 * that dies resets its connections, so their clients reconnect through the balancer to the living ones.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { onCleanup } from "./cleanup.js";

export interface Balancer {
  readonly port: number;
  readonly url: string;
  /** Open client connections, per backend port. */
  connectionsByBackend(): Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(backendPorts: readonly number[]): Promise<Balancer> {
  const open = new Map<number, Set<Socket>>(backendPorts.map((port) => [port, new Set()]));
  let next = 0;

  const connectToBackend = (client: Socket, triesLeft: number) => {
    if (triesLeft === 0 || client.destroyed) {
      client.destroy();
      return;
    }
    const port = backendPorts[next % backendPorts.length] as number;
    next += 1;
    const upstream = createConnection({ port, host: "127.0.0.1" });
    let connected = false;
    upstream.once("error", () => {
      upstream.destroy();
      if (connected) client.destroy();
      else connectToBackend(client, triesLeft - 1);
    });
    upstream.once("connect", () => {
      connected = true;
      open.get(port)?.add(client);
      client.once("close", () => open.get(port)?.delete(client));
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.once("close", () => client.destroy());
      client.once("close", () => upstream.destroy());
      client.resume();
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    client.on("error", () => client.destroy());
    connectToBackend(client, backendPorts.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const balancer: Balancer = {
    port,
    url: `http://127.0.0.1:${port}`,
    connectionsByBackend: () => new Map([...open].map(([backend, sockets]) => [backend, sockets.size])),
    async close() {
      for (const sockets of open.values()) for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onCleanup(() => balancer.close());
  return balancer;
}
