/**
 * What the dashboard computes from snapshots, without a browser (packages/dashboard/src/state/): rates from
 * running totals and the 15-minute window of samples, started with the node's rate history, the queues worst
 * first with dead-letter queues folded into their queues, and the attention bar's items.
 */
import { describe, expect, it } from "vitest";
import type { HistorySample, RateHistory } from "../packages/dashboard/src/api/rate-history.js";
import type { Snapshot, SnapshotQueue } from "../packages/dashboard/src/api/snapshot.js";
import { attentionItems, LATE_HEARTBEAT_MS } from "../packages/dashboard/src/state/attention.js";
import { seedHistory } from "../packages/dashboard/src/state/history-seed.js";
import { queueKey } from "../packages/dashboard/src/state/queue-key.js";
import { worstFirst } from "../packages/dashboard/src/state/queue-rows.js";
import {
  CLUSTER_TOTAL,
  DEPTH_METRICS,
  fromFirstValue,
  SampleHistory,
} from "../packages/dashboard/src/state/sample-history.js";

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

/** A sample of the node's rate history, `seconds` after START: per queue [name, sent, acked] counts. */
function pastSample(
  seconds: number,
  counts: { sent: number | null; acked: number | null },
  queues: Array<[name: string, sent: number | null, acked: number | null]> = [],
): HistorySample {
  return {
    at: START + seconds * 1000,
    ...counts,
    queues: queues.map(([name, sent, acked]) => ({ namespace: "/", name, sent, acked })),
  };
}

/** The node's rate history: 10-second samples, totals at the newest one. */
function rateHistory(
  samples: HistorySample[],
  totals: Array<[name: string, sent: number, acked: number]>,
): RateHistory {
  return {
    intervalMs: 10_000,
    samples,
    totals: {
      at: samples.at(-1)?.at ?? START,
      queues: totals.map(([name, sent, acked]) => ({ namespace: "/", name, sent, acked })),
    },
  };
}

describe("the sample history started with the node's rate history", () => {
  const jobs = queueKey("/", "jobs");
  const idle = queueKey("/", "idle");

  it("turns each sample's counts into rates over the time since the sample before, a queue it does not name at 0", () => {
    const history = new SampleHistory();
    seedHistory(
      history,
      rateHistory(
        [
          pastSample(0, { sent: null, acked: null }),
          pastSample(10, { sent: 50, acked: 20 }, [["jobs", 50, 20]]),
          // A sample missed: these counts span 20 s.
          pastSample(30, { sent: 40, acked: 60 }, [["jobs", 40, 60]]),
          pastSample(40, { sent: 0, acked: 0 }),
        ],
        [
          ["jobs", 190, 180],
          ["idle", 7, 7],
        ],
      ),
    );
    const series = history.series(jobs);
    expect(series?.times).toEqual([0, 10, 30, 40].map((seconds) => (START + seconds * 1000) / 1000));
    expect(series?.values.sendRate).toEqual([null, 5, 2, 0]);
    expect(series?.values.ackRate).toEqual([null, 2, 3, 0]);
    expect(series?.values.ready).toEqual([null, null, null, null]);
    expect(history.series(idle)?.values.sendRate).toEqual([null, 0, 0, 0]);
    expect(history.series(CLUSTER_TOTAL)?.values.sendRate).toEqual([null, 5, 2, 0]);
    expect(history.spanSeconds()).toBe(40);
  });

  it("draws a gap, never a negative rate, for a null count or one below zero", () => {
    const history = new SampleHistory();
    seedHistory(
      history,
      rateHistory(
        [
          pastSample(0, { sent: 0, acked: 0 }),
          pastSample(10, { sent: 10, acked: -5 }, [["jobs", null, -5]]),
          pastSample(20, { sent: 30, acked: 0 }, [["jobs", 30, null]]),
        ],
        [["jobs", 100, 0]],
      ),
    );
    const series = history.series(jobs);
    expect(series?.values.sendRate).toEqual([0, null, 3]);
    expect(series?.values.ackRate).toEqual([0, null, null]);
    expect(history.series(CLUSTER_TOTAL)?.values.ackRate).toEqual([0, null, 0]);
  });

  it("counts the first snapshot's rates from the history's totals, and gives none when a total went down since", () => {
    const history = new SampleHistory();
    seedHistory(
      history,
      rateHistory(
        [pastSample(0, { sent: 0, acked: 0 }), pastSample(10, { sent: 0, acked: 0 })],
        [
          ["jobs", 100, 90],
          ["reset", 500, 500],
        ],
      ),
    );
    history.add(
      snapshot(START + 12_000, [queue("jobs", { sent: 110, acked: 96 }), queue("reset", { sent: 3, acked: 1 })]),
    );
    expect(history.latestRates(jobs)).toEqual({ send: 5, ack: 3 });
    expect(history.latestRates(queueKey("/", "reset"))).toEqual({ send: null, ack: null });
    expect(history.latestRates(CLUSTER_TOTAL)).toEqual({ send: 5, ack: 3 });
    history.add(snapshot(START + 13_000, [queue("reset", { sent: 5, acked: 1 })]));
    expect(history.latestRates(queueKey("/", "reset"))).toEqual({ send: 2, ack: 0 });
  });

  it("leaves a history that already holds samples as it is", () => {
    const history = new SampleHistory();
    history.add(snapshot(START + 60_000, [queue("jobs", { sent: 1 })]));
    seedHistory(history, rateHistory([pastSample(0, { sent: 5, acked: 5 }, [["jobs", 5, 5]])], [["jobs", 9, 9]]));
    expect(history.series(jobs)?.times).toEqual([(START + 60_000) / 1000]);
  });

  it("shows the last 15 minutes only, and starts the depths where the page began", () => {
    const history = new SampleHistory();
    const samples = [pastSample(0, { sent: 0, acked: 0 })];
    for (let seconds = 10; seconds <= 950; seconds += 10) samples.push(pastSample(seconds, { sent: 10, acked: 0 }));
    seedHistory(history, rateHistory(samples, [["jobs", 1000, 0]]));
    history.add(snapshot(START + 951_000, [queue("jobs", { sent: 1000, ready: 4 })]));
    expect(history.spanSeconds()).toBe(891);
    const series = history.series(jobs);
    expect(series?.times[0]).toBe((START + 60_000) / 1000);
    const depths = fromFirstValue(series as NonNullable<typeof series>, DEPTH_METRICS);
    expect(depths.times).toEqual([(START + 951_000) / 1000]);
    expect(depths.values.ready).toEqual([4]);
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
