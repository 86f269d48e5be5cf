/**
 * docker-compose.yml's load balancer for real: the `haproxy` binary with the repo's deploy/haproxy.cfg
 * (only its environment variables differ from compose), in front of three `mailroom serve` processes on
 * one Redis with auth on, as in compose. The nodes share a port on 127.0.0.1, .2 and .3, and a DNS server
 * of the test's own answers their name with those addresses, as Docker's DNS answers `node` with one
 * address per replica: so HAProxy finds them by the config's own `server-template` and resolvers.
 * Which node a client sits on is read from the nodes themselves (`/v1/cluster` counts each node's
 * connections) and from HAProxy's log (one line per HTTP request, naming the server that took it).
 * Skipped, saying so, when no `haproxy` binary is installed (.ci/run installs it).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MailroomClient, ReceivedMessage } from "@mailroom/client";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { readyClient } from "./helpers/clients.js";
import { startDnsServer } from "./helpers/dns.js";
import { haproxyInstalled, type LoadBalancer, startLoadBalancer } from "./helpers/haproxy.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freePortOnAll } from "./helpers/ports.js";
import { freshPrefix, type RedisHandle, startRedis } from "./helpers/redis.js";
import { waitFor, within } from "./helpers/wait.js";

const HAPROXY = haproxyInstalled();
if (!HAPROXY) console.warn("load-balancer.test.ts skipped: no `haproxy` on the PATH (apt-get install haproxy)");

/** Three loopback addresses: one node each, all on the same port, like replicas of one compose service. */
const NODE_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
/** The nodes' DNS name (compose's is `node`). */
const NODES_NAME = "node.mailroom.test";
const JWT_SECRET = "load-balancer-test-secret";
const MINT_TOKEN = fileURLToPath(new URL("../scripts/mint-token.mjs", import.meta.url));
/** How many commands a polling client sends to show that each of its requests reaches the same node. */
const STICKY_ROUND_TRIPS = 30;

interface Deployment {
  redis: RedisHandle;
  nodes: NodeHandle[];
  lb: LoadBalancer;
  setDnsAddresses(addresses: readonly string[]): void;
}

/** Redis, three nodes with auth on, DNS answering `dnsHosts`, and HAProxy once those slots are UP. */
async function startDeployment(dnsHosts: readonly string[] = NODE_HOSTS): Promise<Deployment> {
  const redis = await startRedis();
  const prefix = freshPrefix();
  const port = await freePortOnAll(NODE_HOSTS);
  const nodes = await Promise.all(
    NODE_HOSTS.map((host) =>
      startNode({ host, port, redisUrl: redis.url, prefix, env: { MAILROOM_JWT_SECRET: JWT_SECRET } }),
    ),
  );
  const dns = await startDnsServer({ [NODES_NAME]: dnsHosts });
  const lb = await startLoadBalancer({ nameserver: dns.address, nodes: `${NODES_NAME}:${port}` });
  await upServersReach(lb, dnsHosts.length);
  return { redis, nodes, lb, setDnsAddresses: (addresses) => dns.setAddresses(NODES_NAME, addresses) };
}

/**
 * Waits until exactly `count` of HAProxy's server slots take traffic (UP, or "UP 1/2" while failing checks
 * are being counted); resolves with their addresses.
 */
function upServersReach(lb: LoadBalancer, count: number): Promise<string[]> {
  return waitFor(
    async () => {
      const up = (await lb.servers()).filter((server) => server.status.startsWith("UP"));
      return up.length === count && up.map((server) => server.address).sort();
    },
    { timeoutMs: 20_000, what: `${count} HAProxy servers to be UP` },
  );
}

/** A token the nodes accept, from the script the deployment docs use. */
function mintToken(): string {
  return execFileSync(process.execPath, [MINT_TOKEN, "--sub", "lb-test"], {
    env: { ...process.env, MAILROOM_JWT_SECRET: JWT_SECRET },
    encoding: "utf8",
  }).trim();
}

/** Each node's URL with its live Socket.IO connection count, as the cluster reports it. */
async function connectionsByNode(node: NodeHandle, token: string): Promise<Record<string, number>> {
  const response = await fetch(`${node.url}/v1/cluster`, { headers: { authorization: `Bearer ${token}` } });
  const { nodes } = (await response.json()) as { nodes: Array<{ url: string; connections: number }> };
  return Object.fromEntries(
    nodes.filter((entry) => entry.connections > 0).map((entry) => [entry.url, entry.connections]),
  );
}

/** The servers (node-1 ...) that HAProxy's log shows taking requests of the engine.io session `sid`. */
function serversOfSession(lb: LoadBalancer, sid: string): string[] {
  const servers: string[] = [];
  for (const line of lb.output().split("\n")) {
    const match = / mailroom_nodes\/(\S+) .*"(?:GET|POST) (\S+) HTTP/.exec(line);
    if (match && new URL(match[2] as string, "http://lb").searchParams.get("sid") === sid) {
      servers.push(match[1] as string);
    }
  }
  return servers;
}

function engineOf(client: MailroomClient) {
  return client.socket.io.engine;
}

describe.skipIf(!HAPROXY)("the load balancer (HAProxy with deploy/haproxy.cfg) in front of three nodes", () => {
  it("puts a WebSocket client and a polling client on different nodes, and a room broadcast and queue messages cross between them", async () => {
    const { nodes, lb } = await startDeployment();
    const observer = nodes[0] as NodeHandle;
    const token = mintToken();

    const websocket = await readyClient(lb.url, { token, transports: ["websocket"] });
    const [websocketNode] = Object.keys(
      await waitFor(
        async () => {
          const counts = await connectionsByNode(observer, token);
          return Object.keys(counts).length === 1 && counts;
        },
        { what: "the WebSocket client's node to count it" },
      ),
    );
    const polling = await readyClient(lb.url, { token, transports: ["polling"], withCredentials: true });
    const counts = await waitFor(
      async () => {
        const counted = await connectionsByNode(observer, token);
        return Object.keys(counted).length === 2 && counted;
      },
      { what: "a second node to count the polling client" },
    );
    const pollingNode = Object.keys(counts).find((url) => url !== websocketNode);
    expect(pollingNode).toBeDefined();
    expect(counts).toEqual({ [websocketNode as string]: 1, [pollingNode as string]: 1 });
    expect(engineOf(websocket).transport.name).toBe("websocket");
    expect(engineOf(polling).transport.name).toBe("polling");

    // Rooms, both ways.
    const toWebsocket = websocket.room("lobby");
    await toWebsocket.join();
    const heardByWebsocket = new Promise((resolve) => toWebsocket.on("hello", (data) => resolve(data)));
    await polling.room("lobby").publish("hello", { from: "polling" });
    expect(await within(heardByWebsocket, 10_000, "the broadcast to reach the WebSocket client")).toEqual({
      from: "polling",
    });
    const toPolling = polling.room("hall");
    await toPolling.join();
    const heardByPolling = new Promise((resolve) => toPolling.on("hello", (data) => resolve(data)));
    await websocket.room("hall").publish("hello", { from: "websocket" });
    expect(await within(heardByPolling, 10_000, "the broadcast to reach the polling client")).toEqual({
      from: "websocket",
    });

    // Queues, both ways.
    const receivedByPolling: ReceivedMessage[] = [];
    await polling.queue("to-polling").consume((message) => {
      receivedByPolling.push(message);
    });
    const receivedByWebsocket: ReceivedMessage[] = [];
    await websocket.queue("to-websocket").consume((message) => {
      receivedByWebsocket.push(message);
    });
    const sentToPolling = await websocket.queue("to-polling").send({ n: 1 });
    const sentToWebsocket = await polling.queue("to-websocket").send({ n: 2 });
    await waitFor(() => receivedByPolling.length === 1 && receivedByWebsocket.length === 1, {
      what: "each queue message to reach the other client",
    });
    expect(receivedByPolling[0]).toMatchObject({ id: sentToPolling.id, data: { n: 1 } });
    expect(receivedByWebsocket[0]).toMatchObject({ id: sentToWebsocket.id, data: { n: 2 } });
  });

  it("keeps every request of a polling client on one node: HAProxy's cookie pins its session", async () => {
    const { lb } = await startDeployment();
    const client = await readyClient(lb.url, { token: mintToken(), transports: ["polling"], withCredentials: true });
    const engine = engineOf(client);
    const sid = engine.id as string;
    const disconnects: string[] = [];
    client.socket.on("disconnect", (reason) => disconnects.push(reason));

    for (let trip = 0; trip < STICKY_ROUND_TRIPS; trip++) await client.queue("sticky").stats();

    const cookies = Object.fromEntries(
      [...(engine._cookieJar?.cookies ?? [])].map(([name, { value }]) => [name, value]),
    );
    expect(cookies).toHaveProperty("mailroom_node");
    const servers = await waitFor(
      () => {
        const seen = serversOfSession(lb, sid);
        return seen.length >= STICKY_ROUND_TRIPS && seen;
      },
      { what: "HAProxy to log the session's requests" },
    );
    expect(new Set(servers).size).toBe(1);
    expect(disconnects).toEqual([]);
    expect(engine.id).toBe(sid);
    expect(engine.transport.name).toBe("polling");
  });

  it("spreads a polling client's requests over the nodes without its cookie, and the session breaks", async () => {
    const { lb } = await startDeployment();
    // No withCredentials: socket.io-client keeps no cookie jar, so no request carries HAProxy's cookie.
    const socket = io(lb.url, {
      transports: ["polling"],
      auth: { token: mintToken() },
      forceNew: true,
      reconnection: false,
    });
    onCleanup(() => {
      socket.disconnect();
    });
    let sid = "";
    socket.io.on("open", () => {
      sid = socket.io.engine.id as string;
    });
    const broken = new Promise<string>((resolve) => {
      socket.once("connect_error", (error) => resolve(`connect_error: ${error.message}`));
      socket.once("disconnect", (reason) => resolve(`disconnect: ${reason}`));
    });
    socket.on("connect", async () => {
      for (let trip = 0; trip < STICKY_ROUND_TRIPS && socket.connected; trip++) {
        await socket
          .timeout(2000)
          .emitWithAck("queue:stats", { queue: "unpinned" })
          .catch(() => {});
      }
    });

    await within(broken, 20_000, "the cookieless session to break");
    const servers = await waitFor(
      () => {
        const seen = new Set(serversOfSession(lb, sid));
        return seen.size > 1 && seen;
      },
      { what: "HAProxy's log to show the session's requests on two nodes" },
    );
    expect(servers.size).toBeGreaterThan(1);
  });

  it("puts a node in rotation as soon as DNS answers with it, as `docker compose up --scale` adds one", async () => {
    const twoHosts = NODE_HOSTS.slice(0, 2);
    const { lb, nodes, setDnsAddresses } = await startDeployment(twoHosts);
    const port = (nodes[0] as NodeHandle).port;
    expect(await upServersReach(lb, 2)).toEqual(twoHosts.map((host) => `${host}:${port}`));

    setDnsAddresses(NODE_HOSTS);

    expect(await upServersReach(lb, 3)).toEqual(NODE_HOSTS.map((host) => `${host}:${port}`));
  });

  it("takes nodes out of rotation while /readyz fails (here: Redis is down) although /healthz answers, and back after", async () => {
    const { lb, nodes, redis } = await startDeployment();
    const node = nodes[0] as NodeHandle;
    expect((await fetch(`${lb.url}/healthz`)).status).toBe(200);

    await redis.kill();

    await upServersReach(lb, 0);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${lb.url}/healthz`)).status).toBe(503);

    await redis.restart();

    await upServersReach(lb, 3);
    expect((await fetch(`${lb.url}/healthz`)).status).toBe(200);
  });
});
