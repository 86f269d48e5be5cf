/**
 * A rolling upgrade with the previous release's own code (helpers/previous-release.ts): two nodes of that
 * release (Redis layout 2) take sends and deliveries, with delayed messages and leases in flight; two
 * nodes of this checkout join them on the same Redis and prefix while the load goes on, and the old ones
 * go: one drains (SIGTERM), the other is killed holding leases (SIGKILL), which the new nodes expire and
 * deliver again. What is proved: every message accepted by any node is delivered and acked, nothing is
 * left behind in Redis, the new nodes refuse what the old ones would misread (groups) while they run,
 * and the layout moves to 3 once they are gone.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { LAYOUT_2_RELEASE, previousReleaseCli } from "./helpers/previous-release.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const QUEUES = ["orders", "mails", "thumbnails"];
/** Sends in flight at once per producer. */
const WINDOW = 16;

interface Delivery {
  queue: string;
  id: string;
  receipt: string;
  data: { n: number };
}

/** Sends `count` messages through `socket`, every tenth delayed; the ids of those accepted go to `accepted`. */
async function produce(socket: ClientSocket, count: number, accepted: Set<string>, from: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = from + next;
      next += 1;
      const queue = QUEUES[n % QUEUES.length] as string;
      const reply = await command(socket, "queue:send", { queue, data: { n }, delayMs: n % 10 === 0 ? 300 : 0 });
      if (reply?.ok) accepted.add(`${queue}/${reply.id}`);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

/**
 * Consumes every queue through a socket to `node`, acking each delivery at once; what it was given goes to
 * `delivered`. A message delivered whose ack did not take (its node died) comes back: a queue left empty
 * with every accepted message delivered had them all acked.
 */
async function consume(
  node: NodeHandle,
  delivered: Set<string>,
  { visibilityMs, holding = () => false }: { visibilityMs: number; holding?: (n: number) => boolean },
): Promise<ClientSocket> {
  const socket = await connectSocket(node.url);
  socket.on("queue:message", (message: Delivery) => {
    delivered.add(`${message.queue}/${message.id}`);
    if (holding(message.data.n)) return;
    // Commands need an answer callback; whether this one took is told by the queue's state in the end.
    socket.emit("queue:ack", { queue: message.queue, receipt: message.receipt }, () => {});
  });
  for (const queue of QUEUES) {
    expect(await command(socket, "queue:consume", { queue, prefetch: 20, visibilityMs })).toMatchObject({ ok: true });
  }
  return socket;
}

describe("a rolling upgrade from the previous release", () => {
  it("takes over a Redis that the previous release's nodes fill under load, losing nothing", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const keys = new RedisKeys(prefix);
    const client = new Redis(redis.url);
    onCleanup(() => client.disconnect());
    const cli = await previousReleaseCli(LAYOUT_2_RELEASE);
    const [old1, old2] = (await Promise.all([
      startNode({ redisUrl: redis.url, prefix, cli }),
      startNode({ redisUrl: redis.url, prefix, cli }),
    ])) as [NodeHandle, NodeHandle];
    expect(await client.get(keys.layout())).toBe("2");

    const accepted = new Set<string>();
    const delivered = new Set<string>();
    const producer = await connectSocket(old1.url);
    await produce(producer, 600, accepted, 0);
    // The old node's consumer keeps the leases of every seventh message: its node dies holding them.
    const oldConsumer = await consume(old2, delivered, { visibilityMs: 2000, holding: (n) => n % 7 === 0 });
    await waitFor(() => delivered.size >= 100, { what: "the old nodes to deliver" });

    // The new release joins while the old one still sends and delivers.
    const sending = produce(producer, 300, accepted, 600);
    const [new1, new2] = (await Promise.all([
      startNode({ redisUrl: redis.url, prefix }),
      startNode({ redisUrl: redis.url, prefix }),
    ])) as [NodeHandle, NodeHandle];
    await sending;
    const newProducer = await connectSocket(new1.url);
    expect(await command(newProducer, "queue:send", { queue: "orders", data: 0, group: "g" })).toMatchObject({
      ok: false,
      error: { code: "UNAVAILABLE" },
    });
    expect(await client.get(keys.layout())).toBe("2");

    // The old nodes go, one at a time, while the new ones take the load.
    const stoppingFirst = old1.stop();
    await produce(newProducer, 300, accepted, 900);
    expect(await stoppingFirst).toBe(0);
    expect((await command(oldConsumer, "queue:stats", { queue: "orders" })).inflight).toBeGreaterThan(0);
    await old2.kill();
    const consumer = await consume(new2, delivered, { visibilityMs: 30_000 });
    await produce(newProducer, 300, accepted, 1200);

    await waitFor(async () => (await client.get(keys.layout())) === "3", {
      what: "the layout to move to 3 once the old nodes are gone",
      timeoutMs: 15_000,
    });
    const grouped = await waitFor(
      async () => {
        const reply = await command(newProducer, "queue:send", { queue: "orders", data: 1, group: "g" });
        return reply.ok ? reply : undefined;
      },
      { what: "a grouped send to be accepted" },
    );
    accepted.add(`orders/${grouped.id}`);

    await waitFor(() => [...accepted].every((id) => delivered.has(id)), {
      what: "every accepted message to be delivered",
      timeoutMs: 20_000,
    });
    expect(accepted.size).toBe(1501);
    for (const queue of QUEUES) {
      await waitFor(
        async () => {
          const stats = await command(consumer, "queue:stats", { queue });
          return stats.ready === 0 && stats.inflight === 0 && stats.delayed === 0 && stats.deadLettered === 0;
        },
        { what: `${queue} to be empty` },
      );
    }
  });
});
