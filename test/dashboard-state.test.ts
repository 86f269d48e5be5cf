/**
 * What the dashboard computes from snapshots, without a browser (packages/dashboard/src/state/): rates from
 * running totals and the 15-minute window of samples, the queues worst first with dead-letter queues folded
 * into their queues, and the attention bar's items.
 */
import { describe, expect, it } from "vitest";
import type { Snapshot, SnapshotQueue } from "../packages/dashboard/src/api/snapshot.js";
import { attentionItems, LATE_HEARTBEAT_MS } from "../packages/dashboard/src/state/attention.js";
import { queueKey } from "../packages/dashboard/src/state/queue-key.js";
import { worstFirst } from "../packages/dashboard/src/state/queue-rows.js";
import { CLUSTER_TOTAL, SampleHistory } from "../packages/dashboard/src/state/sample-history.js";

const START = Date.UTC(2026, 11, 5, 12, 0, 0);

function queue(name: string, fields: Partial<SnapshotQueue> = {}): SnapshotQueue {
  return {
    namespace: "/",
    name,
    ready: 0,
    inflight: 0,
    delayed: 0,
    deadLettered: 0,
    consumers: 0,
    groups: 0,
    sent: 0,
    acked: 0,
    ...fields,
  };
}

function snapshot(at: number, queues: SnapshotQueue[], fields: Partial<Snapshot> = {}): Snapshot {
  return {
    at,
    node: "n1",
    nodes: [{ id: "n1", url: "http://127.0.0.1:3000", startedAt: START, connections: 0, lastSeenAt: at, self: true }],
    store: { engine: "redis", ready: true, dataLossDetected: 0 },
    eventLoopLagMs: 0.5,
    namespaces: [],
    queues,
    rooms: [],
    truncated: { queues: false, rooms: false },
    ...fields,
  };
}

describe("the sample history", () => {
  it("turns two snapshots' running totals into rates per second over the time between them", () => {
    const history = new SampleHistory();
    history.add(snapshot(START, [queue("jobs", { sent: 100, acked: 40 })]));
    expect(history.latestRates(queueKey("/", "jobs"))).toEqual({ send: null, ack: null });
    history.add(snapshot(START + 2000, [queue("jobs", { sent: 120, acked: 50 })]));
    expect(history.latestRates(queueKey("/", "jobs"))).toEqual({ send: 10, ack: 5 });
  });

  it("gives no rate for a step where a total went down, and none for the same snapshot twice", () => {
    const history = new SampleHistory();
    const key = queueKey("/", "jobs");
    history.add(snapshot(START, [queue("jobs", { sent: 100 })]));
    history.add(snapshot(START + 1000, [queue("jobs", { sent: 3 })]));
    expect(history.latestRates(key).send).toBeNull();
    history.add(snapshot(START + 2000, [queue("jobs", { sent: 5 })]));
    history.add(snapshot(START + 2000, [queue("jobs", { sent: 5 })]));
    expect(history.latestRates(key).send).toBe(2);
    expect(history.series(key)?.times).toHaveLength(3);
  });

  it("keeps at most its capacity of samples, oldest first, and forgets a queue absent for a whole window", () => {
    const history = new SampleHistory(4);
    history.add(snapshot(START, [queue("gone", { ready: 1 })]));
    for (let second = 1; second <= 5; second++) {
      history.add(snapshot(START + second * 1000, [queue("jobs", { ready: second })]));
    }
    const series = history.series(queueKey("/", "jobs"));
    expect(series?.times).toEqual([2, 3, 4, 5].map((second) => (START + second * 1000) / 1000));
    expect(series?.values.ready).toEqual([2, 3, 4, 5]);
    expect(history.series(queueKey("/", "gone"))).toBeUndefined();
    expect(history.spanSeconds()).toBe(3);
  });

  it("sums the queues' rates for the cluster, so a queue entering with a large total adds no spike", () => {
    const history = new SampleHistory();
    history.add(snapshot(START, [queue("a", { sent: 10 })]));
    history.add(snapshot(START + 1000, [queue("a", { sent: 13 }), queue("b", { sent: 1_000_000 })]));
    expect(history.latestRates(CLUSTER_TOTAL).send).toBe(3);
  });
});

describe("the queues worst first", () => {
  it("puts dead letters first, then ready messages with no consumer, then the deepest, and folds each .dlq into its queue", () => {
    const rows = worstFirst([
      queue("deep", { ready: 50, consumers: 2 }),
      queue("idle"),
      queue("unconsumed", { ready: 3 }),
      queue("failing", { deadLettered: 2, consumers: 1 }),
      queue("failing.dlq", { ready: 2 }),
      queue("orphan.dlq", { ready: 1 }),
    ]);
    expect(rows.map((row) => row.name)).toEqual(["failing", "unconsumed", "orphan.dlq", "deep", "idle"]);
  });
});

describe("the attention bar", () => {
  it("says nothing when all is well", () => {
    expect(attentionItems(snapshot(START, [queue("jobs", { ready: 5, consumers: 1 })]))).toEqual([]);
  });

  it("names the nodes that drain, apart from those whose heartbeat is late", () => {
    const items = attentionItems(
      snapshot(START, [], {
        nodes: [
          { id: "n1", url: "", startedAt: START, connections: 0, lastSeenAt: START, self: true },
          { id: "n2", url: "", startedAt: START, connections: 0, lastSeenAt: START, self: false, draining: true },
        ],
      }),
    );
    expect(items.map((item) => item.text)).toEqual(["1 node is draining (not ready): n2."]);
  });

  it("names the queue whose oldest ready message has waited over a minute", () => {
    const items = attentionItems(
      snapshot(START, [
        queue("fresh", { ready: 1, consumers: 1, oldestReadyAgeMs: 5_000 }),
        queue("stale", { ready: 4, consumers: 1, oldestReadyAgeMs: 3 * 60_000 }),
      ]),
    );
    expect(items).toEqual([
      {
        severity: "warning",
        text: "The oldest ready message has waited 3 min, in stale.",
        queue: { namespace: "/", name: "stale" },
      },
    ]);
  });

  it("names dead letters, unconsumed queues, late nodes, a store not ready, data loss and Redis memory, critical first", () => {
    const at = START + 60_000;
    const items = attentionItems(
      snapshot(at, [queue("failing", { deadLettered: 7 }), queue("unconsumed", { ready: 3 })], {
        nodes: [
          { id: "n1", url: "", startedAt: START, connections: 0, lastSeenAt: at, self: true },
          { id: "n2", url: "", startedAt: START, connections: 0, lastSeenAt: at - LATE_HEARTBEAT_MS - 1, self: false },
        ],
        store: {
          engine: "redis",
          ready: false,
          problem: "Redis is unreachable",
          dataLossDetected: 1,
          usedMemoryBytes: 85,
          maxMemoryBytes: 100,
        },
      }),
    );
    expect(items.map((item) => [item.severity, item.text])).toEqual([
      ["critical", "The store (redis) is not ready: Redis is unreachable."],
      [
        "critical",
        "Redis lost data it had accepted (restarted without persistence, restored from an old snapshot, failed over to an empty replica, or flushed): messages may be gone.",
      ],
      ["warning", "Redis uses 85% of its maxmemory: sends fail when it is full."],
      ["warning", "1 node has not sent a heartbeat for over 3 s: n2."],
      ["warning", "7 dead letters in 1 queue: failing."],
      ["warning", "1 queue has ready messages and no consumer: unconsumed."],
    ]);
    expect(items.find((item) => item.text.startsWith("7 dead letters"))?.queue).toEqual({
      namespace: "/",
      name: "failing",
    });
  });
});
