/**
 * A node's line of leases for one queue (delivery/queue-feed.ts): when a push crosses a pull, the two
 * batches are merged in acceptance order, each keeping its own order, so a pull's batch taken by priority
 * (docs/protocol.md §11) is not re-sorted by acceptance when a push joins it.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { QueueFeed } from "../packages/server/src/delivery/queue-feed.js";
import type { Lease } from "../packages/server/src/engines/queue-engine.js";

function lease(seq: number, priority = 0): Lease {
  return { id: `m${seq}`, receipt: `r${seq}`, attempt: 1, enqueuedAt: 0, seq, priority, body: Buffer.alloc(0) };
}

function feed(): QueueFeed {
  const idle = async () => ({ got: 0, remaining: 0 });
  return new QueueFeed(
    { namespace: "/", queue: "q" },
    () => {},
    idle,
    () => {},
    () => false,
    pino({ level: "silent" }),
  );
}

const line = (queueFeed: QueueFeed) => queueFeed.waiting.map((waiting) => waiting.lease.seq);

describe("a queue's line of leases on a node", () => {
  it("keeps a pulled batch's priority order when a push that crossed it joins, whichever came first", () => {
    const pullFirst = feed();
    pullFirst.admit([lease(30, 9), lease(10, 0)], 30_000);
    pullFirst.admit([lease(40)], 30_000);
    expect(line(pullFirst)).toEqual([30, 10, 40]);

    const pushFirst = feed();
    pushFirst.admit([lease(40)], 30_000);
    pushFirst.admit([lease(30, 9), lease(10, 0)], 30_000);
    expect(line(pushFirst)).toEqual([30, 10, 40]);
  });

  it("merges a plain queue's crossing push and pull in acceptance order", () => {
    const queueFeed = feed();
    queueFeed.admit([lease(1), lease(3), lease(5)], 30_000);
    queueFeed.admit([lease(2), lease(4), lease(6)], 30_000);
    expect(line(queueFeed)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
