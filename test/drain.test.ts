/**
 * Graceful drain on SIGTERM (docs/protocol.md §9, issue 6): readiness fails at once, new connections and API
 * requests are refused, unacked deliveries may still be acked during the delay and then return to the
 * head of their queue, in-flight HTTP requests (a waiting receive) finish, and the process exits 0 within 10 s. Under load,
 * a SIGTERM loses no accepted message.
 */
import { Redis } from "ioredis";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { readyClient } from "./helpers/clients.js";
import { type NodeHandle, startCluster } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { collect, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const DRAIN_DELAY_MS = 3000;

async function twoNodesWithSlowDrain() {
  const redis = await startRedis();
  const prefix = freshPrefix();
  const [draining, staying] = await startCluster(2, {
    redisUrl: redis.url,
    prefix,
    env: { MAILROOM_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS) },
  });
  return { draining: draining as NodeHandle, staying: staying as NodeHandle, redis, prefix };
}

function sendJson(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("graceful drain", () => {
  it("refuses new work at once, lets held deliveries be acked, returns the rest to the head, exits 0", async () => {
    const { draining, staying, redis, prefix } = await twoNodesWithSlowDrain();
    for (let index = 0; index < 10; index += 1) {
      const response = await sendJson(staying.url, "/v1/namespaces/_/queues/jobs/messages", {
        id: `m${index}`,
        data: { index },
      });
      expect(response.status).toBe(201);
    }
    const holder = await connectSocket(draining.url);
    const held = collect(holder, "queue:message");
    await command(holder, "queue:consume", { queue: "jobs", prefetch: 5 });
    // A lease taken over HTTP: its holder may ack it anywhere, so the drain leaves it alone.
    await sendJson(staying.url, "/v1/namespaces/_/queues/http-held/messages", { id: "h1", data: "held" });
    const httpLease = (await (
      await sendJson(draining.url, "/v1/namespaces/_/queues/http-held/receive", {})
    ).json()) as {
      messages: Array<{ id: string; receipt: string }>;
    };
    expect(httpLease.messages.map((message) => message.id)).toEqual(["h1"]);
    await waitFor(() => held.length === 5, { what: "five deliveries on the draining node" });
    expect(held.map(([message]) => (message as { id: string }).id)).toEqual(["m0", "m1", "m2", "m3", "m4"]);

    // A request in flight before the drain: a receive waiting for a message (it listens on the queue's
    // wake-up channel, which Redis shows).
    const waiting = sendJson(draining.url, "/v1/namespaces/_/queues/parked/receive", { waitMs: 20_000 });
    const redisClient = new Redis(redis.url);
    onCleanup(async () => {
      await redisClient.quit();
    });
    await waitFor(
      async () => {
        const [, listeners] = (await redisClient.pubsub("NUMSUB", `${prefix}:wake:/:parked`)) as [string, number];
        return listeners === 1;
      },
      { what: "the long-poll to listen for its queue" },
    );

    const began = Date.now();
    const exited = draining.stop();
    await waitFor(
      async () => {
        const response = await fetch(`${draining.url}/readyz`);
        if (response.status !== 503) return false;
        return (await response.json()) as { error: { code: string; message: string } };
      },
      { what: "/readyz to answer 503 on the draining node" },
    ).then((body) => {
      expect(body.error.code).toBe("UNAVAILABLE");
      expect(body.error.message).toMatch(/draining/);
    });

    // New API requests are told to go elsewhere; health still answers.
    const refused = await sendJson(draining.url, "/v1/namespaces/_/queues/jobs/messages", { data: 1 });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("UNAVAILABLE");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("connection")).toBe("close");
    expect((await fetch(`${draining.url}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${draining.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^mailroom_messages_delivered_total\{/m);

    // New Socket.IO connections are refused.
    const newcomer = io(draining.url, { forceNew: true, reconnection: false, transports: ["polling"] });
    const connectError = await new Promise<Error>((resolve) => newcomer.once("connect_error", resolve));
    newcomer.close();
    expect(connectError.message).toBeTruthy();

    // A consumer on the draining node may not start; its held deliveries can still be acked.
    const consumeReply = await command(holder, "queue:consume", { queue: "other" });
    expect(consumeReply.error.code).toBe("UNAVAILABLE");
    const [[firstDelivery]] = held as [[{ receipt: string }]];
    const first = firstDelivery.receipt;
    expect(await command(holder, "queue:ack", { queue: "jobs", receipt: first })).toMatchObject({
      acked: 1,
      stale: [],
    });

    // The waiting receive is answered with a message sent meanwhile through the other node.
    await sendJson(staying.url, "/v1/namespaces/_/queues/parked/messages", { id: "late", data: "for the poll" });
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)).toEqual(["late"]);

    expect(await exited).toBe(0);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(Date.now() - began).toBeGreaterThanOrEqual(DRAIN_DELAY_MS - 100);
    expect(draining.output()).toMatch(/"returned":4/);

    // The four unacked deliveries went back to the head, ahead of m5..m9, with their attempt counted.
    // The HTTP lease is still held, and its receipt acks through the other node.
    const heldStats = (await (await fetch(`${staying.url}/v1/namespaces/_/queues/http-held`)).json()) as {
      inflight: number;
      ready: number;
    };
    expect(heldStats).toMatchObject({ inflight: 1, ready: 0 });
    const httpAck = await sendJson(staying.url, "/v1/namespaces/_/queues/http-held/ack", {
      receipts: httpLease.messages.map((message) => message.receipt),
    });
    expect(await httpAck.json()).toMatchObject({ acked: 1, stale: [] });

    const taker = await connectSocket(staying.url);
    const taken = collect(taker, "queue:message");
    await command(taker, "queue:consume", { queue: "jobs", prefetch: 100 });
    await waitFor(() => taken.length === 9, { what: "every message but the acked one, on the other node" });
    const messages = taken.map(([message]) => message as { id: string; attempt: number });
    expect(messages.map((message) => message.id)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    expect(messages.slice(0, 4).every((message) => message.attempt === 2)).toBe(true);
    expect(messages.slice(4).every((message) => message.attempt === 1)).toBe(true);
  });

  it("loses no accepted message when a node is stopped under load", async () => {
    const redis = await startRedis();
    const [stopped, staying] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [
      NodeHandle,
      NodeHandle,
    ];
    const accepted = new Set<string>();
    const acked = new Set<string>();
    const consumeOn = async (url: string) => {
      const client = await readyClient(url, { reconnection: false });
      await client.queue("load").consume(
        async (message) => {
          acked.add(message.id);
        },
        { prefetch: 20 },
      );
      return client;
    };
    await consumeOn(stopped.url);
    await consumeOn(staying.url);
    const producers = await Promise.all(
      [stopped.url, staying.url].map((url) => readyClient(url, { reconnection: false })),
    );

    let sequence = 0;
    let producing = true;
    /** Sends batches until told to stop; a producer on the stopped node stops at its first failure. */
    const produce = async (producer: (typeof producers)[number], onStoppedNode: boolean) => {
      while (producing) {
        const ids = Array.from({ length: 20 }, () => `p${sequence++}`);
        try {
          const results = await producer.queue("load").sendBatch(ids.map((id) => ({ id, data: { id } })));
          for (const result of results) accepted.add(result.id);
        } catch {
          // What it did not confirm was not accepted. Its node went away, or (on a loaded machine) a
          // command timed out: the producer on the staying node tries again, as a real one would.
          if (onStoppedNode) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const running = producers.map((producer, index) => produce(producer, index === 0));
    await waitFor(() => acked.size >= 300, { what: "traffic to flow through both nodes" });
    expect(await stopped.stop()).toBe(0);
    const ackedAtStop = acked.size;
    await waitFor(() => acked.size >= ackedAtStop + 300, { timeoutMs: 20_000, what: "traffic to go on" });
    producing = false;
    await Promise.all(running);

    await waitFor(() => [...accepted].every((id) => acked.has(id)), {
      timeoutMs: 30_000,
      what: "every accepted message to be delivered and acked",
    });
    expect(accepted.size).toBeGreaterThan(300);
    const stats = await (await readyClient(staying.url)).queue("load").stats();
    expect(stats.inflight).toBe(0);
    expect(stats.ready).toBe(0);
  });
});
