/**
 * `GET /v1/dashboard/history` (docs/protocol.md §12), with real node processes and real HTTP: the cluster
 * samples its queues' running totals once per interval however many nodes run, on Redis as in memory, and
 * the samples add up to what was sent and acked; the route needs `monitor` or `admin` on `*`, and a large
 * answer is gzipped for a client that accepts it.
 * Nodes sample every few hundred ms here (`MAILROOM_DASHBOARD_SAMPLE_MS`) instead of 10 s.
 */
import { get } from "node:http";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { http, TEST_JWT_SECRET, token } from "./helpers/monitor-access.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const SAMPLE_MS = 400;
const SAMPLING = { MAILROOM_DASHBOARD_SAMPLE_MS: String(SAMPLE_MS) };
/** Long enough for a few samples on a busy machine. */
const SAMPLED_WITHIN = { timeoutMs: 10_000, intervalMs: 100 };

interface QueueCounts {
  namespace: string;
  name: string;
  sent: number | null;
  acked: number | null;
}

interface History {
  intervalMs: number;
  samples: Array<{ at: number; sent: number | null; acked: number | null; queues: QueueCounts[] }>;
  totals?: { at: number; sent: number; acked: number; queues: Array<QueueCounts & { sent: number; acked: number }> };
}

const jobs = "/v1/namespaces/orders/queues/jobs";

async function send(node: NodeHandle, count: number): Promise<void> {
  const messages = Array.from({ length: count }, (_, index) => ({ data: index }));
  expect((await http(node, "POST", `${jobs}/messages/batch`, undefined, { messages })).status).toBe(201);
}

async function receiveAndAck(node: NodeHandle, count: number): Promise<void> {
  const received = await http(node, "POST", `${jobs}/receive`, undefined, { max: count });
  const receipts = received.body.messages.map((message: { receipt: string }) => message.receipt);
  expect(receipts).toHaveLength(count);
  expect((await http(node, "POST", `${jobs}/ack`, undefined, { receipts })).body.acked).toBe(count);
}

async function history(node: NodeHandle): Promise<History> {
  const { status, body } = await http(node, "GET", "/v1/dashboard/history");
  expect(status).toBe(200);
  return body as History;
}

/** The history once its newest totals show the queue with these totals. */
function historyWhenTotals(node: NodeHandle, sent: number, acked: number): Promise<History> {
  return waitFor(
    async () => {
      const answer = await history(node);
      const queue = answer.totals?.queues.find((one) => one.namespace === "/orders" && one.name === "jobs");
      return queue?.sent === sent && queue.acked === acked ? answer : undefined;
    },
    { ...SAMPLED_WITHIN, what: `a sample with jobs at ${sent} sent, ${acked} acked` },
  );
}

/** What the samples count for the queue, summed over every step that has a count. */
function countedForJobs(answer: History): { sent: number; acked: number } {
  let sent = 0;
  let acked = 0;
  for (const sample of answer.samples) {
    for (const queue of sample.queues) {
      if (queue.namespace !== "/orders" || queue.name !== "jobs") continue;
      sent += queue.sent ?? 0;
      acked += queue.acked ?? 0;
    }
  }
  return { sent, acked };
}

/** Sent and acked once a sample has seen the queue, so that every later step has its counts. */
async function traffic(producer: NodeHandle, consumer: NodeHandle): Promise<History> {
  await send(producer, 1);
  await historyWhenTotals(consumer, 1, 0);
  await send(producer, 30);
  await send(consumer, 20);
  await receiveAndAck(consumer, 25);
  return historyWhenTotals(producer, 51, 25);
}

describe("GET /v1/dashboard/history", () => {
  it("answers one sample per interval for two nodes on one Redis, whose counts add up to what was sent and acked", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix(), env: SAMPLING })) as [
      NodeHandle,
      NodeHandle,
    ];
    const answer = await traffic(a, b);
    expect(answer.intervalMs).toBe(SAMPLE_MS);
    expect(countedForJobs(answer)).toEqual({ sent: 50, acked: 25 });
    const clusterSent = answer.samples.reduce((sum, sample) => sum + (sample.sent ?? 0), 0);
    const clusterAcked = answer.samples.reduce((sum, sample) => sum + (sample.acked ?? 0), 0);
    expect({ sent: clusterSent, acked: clusterAcked }).toEqual({ sent: 50, acked: 25 });
    expect(answer.totals).toMatchObject({
      at: answer.samples.at(-1)?.at,
      sent: 51,
      acked: 25,
      queues: [{ namespace: "/orders", name: "jobs", sent: 51, acked: 25 }],
    });
    // Both nodes sample, yet each slot of the interval has one sample: their slots only grow.
    const slots = answer.samples.map((sample) => Math.floor(sample.at / SAMPLE_MS));
    for (let index = 1; index < slots.length; index++) {
      expect(slots[index], `sample ${index} of ${slots.join(",")}`).toBeGreaterThan(slots[index - 1] as number);
    }
    const slotsSpanned = (slots.at(-1) as number) - (slots[0] as number) + 1;
    expect(slots.length).toBeGreaterThan(slotsSpanned / 2);
    // Either node answers the same samples (the store's, not its own).
    const fromA = await history(a);
    const fromB = await history(b);
    const common = Math.min(fromA.samples.length, fromB.samples.length);
    expect(fromA.samples.slice(0, common - 1)).toEqual(fromB.samples.slice(0, common - 1));
  });

  it("answers the samples of a node on the memory engine", async () => {
    const node = await startNode({ env: SAMPLING });
    const answer = await traffic(node, node);
    expect(countedForJobs(answer)).toEqual({ sent: 50, acked: 25 });
    expect(answer.totals).toMatchObject({ sent: 51, acked: 25 });
    const slots = answer.samples.map((sample) => Math.floor(sample.at / SAMPLE_MS));
    expect(new Set(slots).size).toBe(slots.length);
  });

  it("gzips a large answer for a client that accepts gzip, and only for it", async () => {
    const node = await startNode({ env: SAMPLING });
    const queues = 400;
    for (let first = 0; first < queues; first += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          http(node, "POST", `/v1/namespaces/_/queues/q-${first + offset}/messages`, undefined, { data: 1 }),
        ),
      );
    }
    await waitFor(async () => (await history(node)).totals?.queues.length === queues, {
      ...SAMPLED_WITHIN,
      what: `a sample of the ${queues} queues`,
    });
    const raw = (encoding: string | undefined) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        const headers = encoding === undefined ? {} : { "accept-encoding": encoding };
        get(`${node.url}/v1/dashboard/history`, { headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
        }).on("error", reject);
      });
    const zipped = await raw("gzip, deflate, br");
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toContain("Accept-Encoding");
    const unzipped = gunzipSync(zipped.body);
    expect(unzipped.length).toBeGreaterThan(zipped.body.length * 5);
    expect(JSON.parse(unzipped.toString()).totals.queues).toHaveLength(queues);
    const plain = await raw(undefined);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(plain.body.toString()).totals.queues).toHaveLength(queues);
    const refused = await raw("gzip;q=0, identity");
    expect(refused.headers["content-encoding"]).toBeUndefined();
  });

  it("needs monitor or admin on *: another token is answered FORBIDDEN, none UNAUTHORIZED", async () => {
    const node = await startNode({ args: ["--jwt-secret", TEST_JWT_SECRET], env: SAMPLING });
    const readers: Array<Record<string, string[]>> = [{ "*": ["monitor"] }, { "*": ["admin"] }];
    for (const rights of readers) {
      const reply = await http(node, "GET", "/v1/dashboard/history", await token(rights));
      expect(reply.status, JSON.stringify(rights)).toBe(200);
      expect(reply.body.intervalMs).toBe(SAMPLE_MS);
    }
    const forbidden = { status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } } };
    const others: Array<Record<string, string[]>> = [
      { "/orders": ["monitor"] },
      { "*": ["send", "consume", "join", "publish"] },
    ];
    for (const rights of others) {
      const reply = await http(node, "GET", "/v1/dashboard/history", await token(rights));
      expect(reply, JSON.stringify(rights)).toMatchObject(forbidden);
    }
    expect((await http(node, "GET", "/v1/dashboard/history")).status).toBe(401);
  });
});
