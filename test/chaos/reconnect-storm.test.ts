/**
 * Chaos: a reconnection storm. Thousands of `@mailroom/client` SDK clients, behind a TCP balancer, sit in a
 * room across three nodes; some of them consume a queue under load. One node is SIGKILLed: its clients all
 * reconnect at once (socket.io-client's own backoff and jitter) through the balancer to the two survivors,
 * re-join their room and resume consuming by themselves. The room is published to all along (room history,
 * docs/protocol.md §10): the clients of the dead node come back with `since` and recover what they missed.
 * Figures: how long until every one is connected again, and until the cluster counts every member again;
 * how many recovered, how many publications were replayed, and how many history reads the survivors made
 * for them; every client ends with every publication exactly once, in order, and no accepted message is lost.
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
/** How often the room is published to, before, during and after the storm. */
const PUBLISH_EVERY_MS = 100;

/** A counter's value summed over a node's series (0 when it has none). */
async function counter(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("chaos: reconnection storm", () => {
  it("reconnects every client of a SIGKILLed node to the survivors, back in its room and consuming, losing nothing", async () => {
    const clientCount = sized(2000, 2000);
    const { redis, prefix, nodes, balancer } = await startChaosCluster(3);
    const history = new History();
    const startedAt = Date.now();
    const clients: MailroomClient[] = [];
    /** Per client, the offsets of the room's publications it received, in order. */
    const offsets: number[][] = [];
    for (let start = 0; start < clientCount; start += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, clientCount - start) }, (_, offset) => {
        const index = start + offset;
        const client = connect(balancer.url, { transports: ["websocket"], forceNew: true });
        onCleanup(() => client.close());
        clients.push(client);
        const received: number[] = [];
        offsets.push(received);
        return (async () => {
          await client.ready();
          const room = client.room(ROOM);
          room.on("news", (_data, meta) => {
            received.push(meta.offset ?? -1);
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
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const reply = await command(observer, "room:publish", { room: ROOM, event: "news", data: published + 1 });
        if (reply.ok) published = reply.offset;
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const reconnectedAt: number[] = [];
    let failedAttempts = 0;
    for (const client of clients) {
      client.socket.io.on("reconnect", () => reconnectedAt.push(Date.now()));
      client.socket.io.on("reconnect_error", () => {
        failedAttempts += 1;
      });
    }
    const survivors = nodes.filter((node) => node !== victim).map((node) => node.url);
    const sumOver = async (name: string, labels?: string) =>
      (await Promise.all(survivors.map((url) => counter(url, name, labels)))).reduce((a, b) => a + b, 0);
    const readsBefore = await sumOver("mailroom_room_history_reads_total");
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

    publishing = false;
    await publisher;
    await waitFor(() => offsets.every((received) => received.length >= published), {
      timeoutMs: 15_000,
      what: "every client to have every publication",
    });
    const everyOne = Array.from({ length: published }, (_, index) => index + 1);
    const complete = offsets.filter((received) => received.join() === everyOne.join()).length;

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
      publications: published,
      clientsWithEveryPublication: complete,
      recovered: await sumOver("mailroom_room_recoveries_total", 'result="recovered"'),
      notRecovered: await sumOver("mailroom_room_recoveries_total", 'result="not_recovered"'),
      replayedPublications: await sumOver("mailroom_room_replayed_publications_total"),
      historyReadsForTheStorm: (await sumOver("mailroom_room_history_reads_total")) - readsBefore,
      byBackend: Object.fromEntries(balancer.connectionsByBackend()),
      ...figures,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    expect(complete).toBe(clientCount);
    expect(onVictim).toBeGreaterThan(clientCount / 4);
    expect(reconnectedAt.length).toBe(onVictim);
    expect(balancer.connectionsByBackend().get(victim.port)).toBe(0);
    expect(drained.stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });
});
