/**
 * A node notices a Redis that lost its data without a restart (RELIABILITY.md, packages/server/src/redis/
 * epoch.ts): a flushed Redis keeps its connections, so only the periodic epoch check can see it. Every
 * node reports each loss once, in its log and in `/readyz`, and notices the next one too; a node that
 * joins a cluster whose epoch is intact reports nothing.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

async function dataLoss(node: NodeHandle): Promise<number> {
  const body = (await (await fetch(`${node.url}/readyz`)).json()) as { dataLoss?: { detected: number } };
  return body.dataLoss?.detected ?? 0;
}

function allReport(nodes: NodeHandle[], detected: number) {
  return waitFor(async () => (await Promise.all(nodes.map(dataLoss))).every((count) => count === detected), {
    timeoutMs: 10_000,
    what: `every node to report ${detected} data loss(es)`,
  });
}

describe("the cluster epoch", () => {
  it("makes every node report each flush of Redis once, and a newcomer report none", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const nodes = await startCluster(2, { redisUrl: redis.url, prefix });
    const admin = new Redis(redis.url);
    onCleanup(() => void admin.disconnect());
    await waitFor(async () => (await admin.exists(`${prefix}:{cluster}:epoch`)) === 1, { what: "the epoch key" });
    expect(await Promise.all(nodes.map(dataLoss))).toEqual([0, 0]);

    await admin.flushall();
    await allReport(nodes, 1);
    for (const node of nodes) expect(node.output()).toContain("REDIS LOST ITS DATA");

    // The epoch was written again, so the next loss is noticed too.
    await waitFor(async () => (await admin.exists(`${prefix}:{cluster}:epoch`)) === 1, { what: "a new epoch" });
    await admin.flushall();
    await allReport(nodes, 2);

    const newcomer = await startNode({ redisUrl: redis.url, prefix });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await dataLoss(newcomer)).toBe(0);
    expect(await Promise.all(nodes.map(dataLoss))).toEqual([2, 2]);
    // Operators see it in the metrics too.
    const scrape = await (await fetch(`${nodes[0]?.url}/metrics`)).text();
    expect(scrape).toMatch(/^mailroom_redis_data_loss_detected\{[^}]*\} 2$/m);
  });
});
