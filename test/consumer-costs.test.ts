/**
 * What consumers may cost a node and its Redis (docs/protocol.md §15). An idle consumer costs no store call
 * per second: before the fix each one polled every second, so 24,000 idle consumers drove Redis to 73k
 * commands a second. A consumer that stops reading its socket gets no more deliveries once the node holds
 * the bound unsent for it: before the fix, three such consumers with prefetch 1000 took a node from 235 MB
 * to 1,361 MB.
 */
import type { Socket } from "node:net";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { reportAbuse } from "./helpers/abuse-report.js";
import { onCleanup } from "./helpers/cleanup.js";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const IDLE_CONSUMERS = 1000;
/** Redis commands a second a node makes with nothing to do (heartbeats, sweeps, epoch): far below one per consumer. */
const IDLE_COMMANDS_PER_SECOND = 150;
const MESSAGE_BYTES = 1_000_000;
const MESSAGES = 120;
const STALLED_CONSUMERS = 3;
/** The node's bound is 4 MiB per socket; the kernel's socket buffers hold a few MB more on loopback. */
const MOST_LEASED_PER_STALLED_CONSUMER = 20;

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info("stats");
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^mailroom_process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
}

/** Stops reading the socket's websocket: what the node writes piles up in its buffers. */
function stopReading(socket: ClientSocket): void {
  const transport = (socket.io.engine as unknown as { transport: { ws?: { _socket?: Socket } } }).transport;
  const raw = transport.ws?._socket;
  if (!raw) throw new Error("the test needs the websocket transport's TCP socket");
  raw.pause();
}

describe("what consumers cost", () => {
  it("makes no Redis call per second for a thousand idle consumers", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const admin = new Redis(redis.url);
    onCleanup(() => void admin.disconnect());
    const sockets = await Promise.all(Array.from({ length: 5 }, () => connectSocket(node.url, "/idle")));
    await Promise.all(
      Array.from({ length: IDLE_CONSUMERS }, (_unused, index) =>
        command(sockets[index % sockets.length] as ClientSocket, "queue:consume", { queue: `idle-${index}` }),
      ),
    );
    // The first look at each new consumer's queue is paced at 250 a second: let it finish.
    await new Promise((resolve) => setTimeout(resolve, (IDLE_CONSUMERS / 250) * 1000 + 1000));

    const before = await commandsProcessed(admin);
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const perSecond = ((await commandsProcessed(admin)) - before) / ((performance.now() - startedAt) / 1000);
    reportAbuse("idle consumers", { consumers: IDLE_CONSUMERS, redisCommandsPerSecond: Math.round(perSecond) });
    expect(perSecond).toBeLessThan(IDLE_COMMANDS_PER_SECOND);

    // And they are not asleep: a send to one of them is delivered at once.
    const got = new Promise((resolve) => (sockets[3] as ClientSocket).once("queue:message", resolve));
    await command(sockets[0] as ClientSocket, "queue:send", { queue: "idle-3", data: "wake" });
    await expect(got).resolves.toMatchObject({ data: "wake" });
  });

  it("stops delivering to consumers that stopped reading, keeps the node's memory bounded, and serves the others", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const producer = await connectSocket(node.url);
    const payload = Buffer.alloc(MESSAGE_BYTES, 7);
    for (let index = 0; index < MESSAGES; index += 1) {
      expect(await command(producer, "queue:send", { queue: "big", data: payload })).toMatchObject({ ok: true });
    }
    const rssBefore = await residentBytes(node.url);

    for (let index = 0; index < STALLED_CONSUMERS; index += 1) {
      const stalled = await connectSocket(node.url);
      stopReading(stalled);
      // The consume command still reaches the node (writing is not reading); its reply is never read.
      stalled.emit("queue:consume", { queue: "big", prefetch: 1000, visibilityMs: 60_000 }, () => {});
    }
    // Wait until the stalled consumers hold what they will hold.
    let inflight = -1;
    await waitFor(
      async () => {
        const stats = await command(producer, "queue:stats", { queue: "big" });
        const settled = stats.inflight === inflight && stats.inflight > 0;
        inflight = stats.inflight;
        return settled;
      },
      { what: "the stalled consumers' deliveries to stop growing", intervalMs: 500 },
    );
    const rssGrowth = (await residentBytes(node.url)) - rssBefore;
    reportAbuse("consumers that stop reading", {
      stalledConsumers: STALLED_CONSUMERS,
      messages: MESSAGES,
      messageBytes: MESSAGE_BYTES,
      leasedToStalled: inflight,
      nodeRssGrowthMiB: Math.round(rssGrowth / 1_048_576),
    });
    expect(inflight).toBeLessThanOrEqual(STALLED_CONSUMERS * MOST_LEASED_PER_STALLED_CONSUMER);
    expect(rssGrowth).toBeLessThan(250 * 1_048_576);

    // A consumer that reads gets the rest.
    const reader = await connectSocket(node.url);
    let received = 0;
    reader.on("queue:message", (message: { receipt: string }) => {
      received += 1;
      reader.emit("queue:ack", { queue: "big", receipt: message.receipt }, () => {});
    });
    await command(reader, "queue:consume", { queue: "big", prefetch: 10 });
    await waitFor(() => received >= MESSAGES - inflight, {
      what: "the reader to get every message not held",
      timeoutMs: 30_000,
    });
  });
});
