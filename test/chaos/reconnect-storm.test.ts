/**
 * Chaos: a reconnection storm. Thousands of `@mailroom/client` SDK clients, behind a TCP balancer, sit in a
 * room across three nodes; some of them consume a queue under load. One node is SIGKILLed: its clients all
 * reconnect at once (socket.io-client's own backoff and jitter) through the balancer to the two survivors,
 * re-join their room and resume consuming by themselves. Figures: how long until every one is connected
 * again, and until the cluster counts every member again; a broadcast then reaches every client, and no
 * accepted message is lost.
 */
import { connect, type MailroomClient } from "@mailroom/client";
import { describe, expect, it } from "vitest";
import { onCleanup } from "../helpers/cleanup.js";
import { command, connectSocket } from "../helpers/sockets.js";
import { waitFor } from "../helpers/wait.js";
import { expectSafe, History, percentile } from "./checker.js";
import { startChaosCluster } from "./cluster.js";
import { drain, redisQueueCounts, statsReader } from "./drain.js";
import { startLoad } from "./load.js";
import { report, sized } from "./report.js";

const QUEUE = "storm-jobs";
const ROOM = "storm";
/** One client in this many also consumes the queue. */
const CONSUMER_EVERY = 50;
/** Clients connected at once while the storm is set up, so the setup itself is no storm. */
const CONNECT_BATCH = 200;

describe("chaos: reconnection storm", () => {
  it("reconnects every client of a SIGKILLed node to the survivors, back in its room and consuming, losing nothing", async () => {
    const clientCount = sized(2000, 2000);
    const { redis, prefix, nodes, balancer } = await startChaosCluster(3);
    const history = new History();
    const startedAt = Date.now();
    const clients: MailroomClient[] = [];
    const broadcasts: number[] = [];
    for (let start = 0; start < clientCount; start += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, clientCount - start) }, (_, offset) => {
        const index = start + offset;
        const client = connect(balancer.url, { transports: ["websocket"], forceNew: true });
        onCleanup(() => client.close());
        clients.push(client);
        broadcasts.push(0);
        return (async () => {
          await client.ready();
          const room = client.room(ROOM);
          room.on("news", () => {
            broadcasts[index] = (broadcasts[index] ?? 0) + 1;
          });
          await room.join();
          if (index % CONSUMER_EVERY === 0) {
            await client.queue(QUEUE).consume(
              (message) => {
                const { id, receipt, attempt } = message;
                history.delivered({ id, receipt, attempt, queue: QUEUE, consumer: `client-${index}`, at: Date.now() });
                history.handled(message.receipt);
              },
              { prefetch: 10, visibilityMs: 5000 },
            );
          }
        })();
      });
      await Promise.all(batch);
    }
    const [survivor, , victim] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const observer = await connectSocket(survivor.url);
    const members = async () => (await command(observer, "room:members", { room: ROOM })).count as number;
    expect(await members()).toBe(clientCount);
    const onVictim = balancer.connectionsByBackend().get(victim.port) ?? 0;

    const load = startLoad({ urls: [survivor.url], queue: QUEUE, history, messagesPerSecond: 100 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const reconnectedAt: number[] = [];
    let failedAttempts = 0;
    for (const client of clients) {
      client.socket.io.on("reconnect", () => reconnectedAt.push(Date.now()));
      client.socket.io.on("reconnect_error", () => {
        failedAttempts += 1;
      });
    }
    const killedAt = Date.now();
    await victim.kill();

    await waitFor(() => reconnectedAt.length >= onVictim && clients.every((client) => client.socket.connected), {
      timeoutMs: 30_000,
      what: "every client to be connected again",
    });
    const reconnectMs = reconnectedAt.map((at) => at - killedAt);
    await waitFor(
      async () => {
        const cluster = (await (await fetch(`${survivor.url}/v1/cluster`)).json()) as { nodes: unknown[] };
        return cluster.nodes.length === 2 && (await members()) === clientCount;
      },
      { timeoutMs: 30_000, what: "the cluster to count every client in the room again, the dead node's gone" },
    );
    const rejoinAllMs = Date.now() - killedAt;

    const published = await command(observer, "room:publish", { room: ROOM, event: "news", data: "after the storm" });
    expect(published.ok).toBe(true);
    await waitFor(() => broadcasts.every((count) => count === 1), {
      timeoutMs: 15_000,
      what: "every client to get the broadcast",
    });
    await load.stop();
    const drained = await drain({ history, stats: await statsReader(survivor.url, QUEUE), timeoutMs: 20_000 });
    const figures = history.figures();
    report("reconnect-storm", {
      clients: clientCount,
      onKilledNode: onVictim,
      setupMs: killedAt - startedAt,
      reconnectP50Ms: percentile(reconnectMs, 0.5),
      reconnectP90Ms: percentile(reconnectMs, 0.9),
      reconnectAllMs: percentile(reconnectMs, 1),
      failedReconnectAttempts: failedAttempts,
      rejoinAllMs,
      byBackend: Object.fromEntries(balancer.connectionsByBackend()),
      ...figures,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    expect(onVictim).toBeGreaterThan(clientCount / 4);
    expect(reconnectedAt.length).toBe(onVictim);
    expect(balancer.connectionsByBackend().get(victim.port)).toBe(0);
    expect(drained.stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });
});
