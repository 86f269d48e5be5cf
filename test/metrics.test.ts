/**
 * Prometheus metrics at `/metrics` (issue 6): the message counters move with real traffic over Socket.IO
 * and HTTP, gauges show depth and sockets, Redis latency is timed, default process metrics are there,
 * every name is under `mailroom_`, and queue labels stop at the cap. Depth gauges read the store at most
 * once a second, however often /metrics is scraped (a scrape loop must not amplify into store work).
 */
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { collect, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  return response.text();
}

/** The value of the series `name` whose labels include `labels` (undefined when there is none). */
function seriesValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("metrics", () => {
  it("counts sends, deliveries, acks, nacks, dead letters, expiries and broadcasts", async () => {
    const node = await startNode();
    const queue = { namespace: "/", queue: "jobs" };
    const before = await scrape(node.url);
    expect(seriesValue(before, "mailroom_messages_sent_total", queue)).toBeUndefined();

    const socket = await connectSocket(node.url);
    await command(socket, "queue:sendBatch", {
      queue: "jobs",
      messages: [{ data: 1 }, { data: 2 }, { data: 3 }, { id: "dup", data: 4 }],
    });
    await command(socket, "queue:send", { queue: "jobs", id: "dup", data: 4 }); // a duplicate: not counted
    const shortLived = await post(node.url, "/v1/namespaces/_/queues/jobs/messages", { data: 5, ttlMs: 1000 });
    expect(shortLived.status).toBe(201);
    const deliveries = collect(socket, "queue:message");
    await command(socket, "queue:consume", { queue: "jobs", prefetch: 3 });
    await waitFor(() => deliveries.length === 3);
    const receipts = deliveries.map(([message]) => (message as { receipt: string }).receipt);
    // Time for the last message's TTL to pass while it waits behind the held ones (not an assertion).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await command(socket, "queue:ack", { queue: "jobs", receipts: receipts.slice(0, 2) });
    await command(socket, "queue:nack", { queue: "jobs", receipt: receipts[2], requeue: false });
    await waitFor(() => deliveries.length === 4, { what: "the fourth message (the expired one is skipped)" });
    await command(socket, "room:join", { room: "lobby" });
    await command(socket, "room:publish", { room: "lobby", event: "hello", data: 1 });
    await post(node.url, "/v1/namespaces/_/rooms/lobby/publish", { event: "hello", data: 2 });

    const after = await scrape(node.url);
    expect(seriesValue(after, "mailroom_messages_sent_total", queue)).toBe(5);
    expect(seriesValue(after, "mailroom_messages_delivered_total", queue)).toBe(4);
    expect(seriesValue(after, "mailroom_messages_acked_total", queue)).toBe(2);
    expect(seriesValue(after, "mailroom_messages_nacked_total", queue)).toBe(1);
    expect(seriesValue(after, "mailroom_messages_dead_lettered_total", queue)).toBe(1);
    expect(seriesValue(after, "mailroom_messages_expired_total", queue)).toBe(1);
    expect(seriesValue(after, "mailroom_queue_inflight", queue)).toBe(1);
    expect(seriesValue(after, "mailroom_queue_depth", { namespace: "/", queue: "jobs" })).toBe(0);
    expect(seriesValue(after, "mailroom_room_broadcasts_total", { namespace: "/" })).toBe(2);
    expect(seriesValue(after, "mailroom_sockets_connected", { namespace: "/" })).toBe(1);
    // Default process metrics and event-loop lag, under the prefix.
    expect(seriesValue(after, "mailroom_process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(seriesValue(after, "mailroom_nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    const names = after
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(/[{ ]/)[0]);
    expect(names.every((name) => name?.startsWith("mailroom_"))).toBe(true);
  });

  it("times Redis calls and shows queue depth and groups from the store", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    for (let index = 0; index < 3; index += 1) {
      const body = { data: index, group: `customer-${index % 2}` };
      expect((await post(node.url, "/v1/namespaces/_/queues/orders/messages", body)).status).toBe(201);
    }
    const text = await scrape(node.url);
    expect(seriesValue(text, "mailroom_queue_groups", { queue: "orders" })).toBe(2);
    expect(
      seriesValue(text, "mailroom_redis_command_duration_seconds_count", { command: "queueSend" }),
    ).toBeGreaterThan(0);
    expect(seriesValue(text, "mailroom_queue_depth", { queue: "orders" })).toBe(3);
    expect(seriesValue(text, "mailroom_messages_sent_total", { queue: "orders" })).toBe(3);
  });

  it("reads each labelled queue's depth at most once a second, however often /metrics is scraped", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const queues = Array.from({ length: 50 }, (_, index) => `queue-${index}`);
    for (const queue of queues) await post(node.url, `/v1/namespaces/_/queues/${queue}/messages`, { data: 1 });
    const statsReads = (text: string) =>
      seriesValue(text, "mailroom_redis_command_duration_seconds_count", { command: "queueStats" }) ?? 0;
    const before = statsReads(await scrape(node.url));
    const started = performance.now();
    for (let scrapes = 0; scrapes < 20; scrapes += 1) await scrape(node.url);
    const after = statsReads(await scrape(node.url));
    const seconds = (performance.now() - started) / 1000;
    // One read of every queue per second, plus the one running when the count was taken.
    expect(after - before).toBeLessThanOrEqual((Math.ceil(seconds) + 1) * queues.length);
  });

  it("shows a queue's new depth within about a second of the change", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    await post(node.url, "/v1/namespaces/_/queues/orders/messages", { data: 1 });
    const depth = async () => seriesValue(await scrape(node.url), "mailroom_queue_depth", { queue: "orders" });
    await waitFor(async () => (await depth()) === 1, { what: "the first depth" });
    for (const data of [2, 3]) await post(node.url, "/v1/namespaces/_/queues/orders/messages", { data });
    const changed = performance.now();
    await waitFor(async () => (await depth()) === 3, { what: "the new depth", intervalMs: 20 });
    expect(performance.now() - changed).toBeLessThan(1500);
  });

  it("counts queues past the label cap under _other", async () => {
    const node = await startNode({ args: ["--metrics-max-queues", "2"] });
    for (const queue of ["a", "b", "c", "d"]) {
      await post(node.url, `/v1/namespaces/_/queues/${queue}/messages`, { data: queue });
    }
    const text = await scrape(node.url);
    expect(seriesValue(text, "mailroom_messages_sent_total", { queue: "a" })).toBe(1);
    expect(seriesValue(text, "mailroom_messages_sent_total", { queue: "b" })).toBe(1);
    expect(seriesValue(text, "mailroom_messages_sent_total", { queue: "c" })).toBeUndefined();
    expect(seriesValue(text, "mailroom_messages_sent_total", { namespace: "_other", queue: "_other" })).toBe(2);
  });
});
