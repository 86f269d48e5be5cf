/**
 * A node's Prometheus metrics (prom-client), every name under `mailroom_`, in a registry of the node's
 * own (so several nodes in one process never mix). Counters count what this node did; gauges of queue
 * depth are the store's view, the same from every node of a cluster (aggregate them with `max`, not `sum`).
 *
 * Label cardinality is capped: queue metrics carry `namespace` and `queue`, and the first
 * `maxQueueLabels` pairs this node meets get their own series; later ones are counted under
 * `namespace="_other", queue="_other"`. Namespace-only metrics (sockets, broadcasts, limit refusals) are
 * capped the same way at `maxQueueLabels` namespaces. So a client inventing queue names cannot grow a scrape without bound.
 *
 * The depth gauges read the store once per labelled queue; those reads are shared and reused for
 * `depthMaxAgeMs`: however often /metrics is scraped, a node reads each queue's depth at most once a second
 * (plus the read running), and concurrent scrapes wait for the same read.
 */
import type { QueueStats } from "@mailroom/protocol";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { QueueAddress, QueueOutcomes } from "../engines/queue-engine.js";
import type { MailroomServer } from "../socket-types.js";
import { RecentResults } from "../structures/recent-results.js";

/** The label values of everything past the cap. */
export const OTHER_LABEL = "_other";
const PREFIX = "mailroom_";
/** Redis latency buckets, in seconds: from a fast script on loopback to the command timeout. */
const REDIS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Prometheus scrapes every 15 s or so: depths a second old lose nothing, and cap what scrapes cost the store. */
const DEPTH_MAX_AGE_MS = 1000;

export interface NodeMetricsOptions {
  /** Distinct (namespace, queue) pairs, and namespaces, with their own series. @default 1000 */
  maxQueueLabels?: number;
  /** Labels on every series, such as the node id. */
  defaultLabels?: Record<string, string>;
  /** How long one read of every labelled queue's depth serves scrapes (ms). @default 1000 */
  depthMaxAgeMs?: number;
  /** The Socket.IO server whose namespaces' sockets are counted. */
  io: MailroomServer;
}

/** What the gauges read from the store, given once it is made (`observe`). */
export interface ObservedStore {
  /** A queue's depth (the store's view). */
  queueStats(address: QueueAddress): Promise<QueueDepth>;
  /** How many times this node found Redis without its data (the epoch check). */
  dataLossDetected(): number;
}

/** Hands out label values, up to a cap of distinct keys. */
class LabelCap<Labels extends Record<string, string>> {
  private readonly seen = new Map<string, Labels>();

  constructor(
    private readonly max: number,
    private readonly other: Labels,
  ) {}

  labels(key: string, labels: () => Labels): Labels {
    const known = this.seen.get(key);
    if (known) return known;
    if (this.seen.size >= this.max) return this.other;
    const fresh = labels();
    this.seen.set(key, fresh);
    return fresh;
  }

  known(): IterableIterator<Labels> {
    return this.seen.values();
  }
}

type QueueLabels = { namespace: string; queue: string };
type QueueDepth = Pick<QueueStats, "ready" | "inflight" | "delayed" | "groups">;

const DEPTH_HELP = {
  ready: "Messages ready in the queue",
  inflight: "Messages leased and not yet acked or ended",
  delayed: "Messages waiting for their delay",
  groups: "Message groups with messages in the queue (docs/protocol.md §11)",
} as const;

/** Reads every labelled queue's depth; a queue the store cannot answer for is left out. */
async function readQueueDepths(
  labels: QueueLabels[],
  queueStats: ObservedStore["queueStats"],
): Promise<Array<[QueueLabels, QueueDepth]>> {
  const reads = labels.map(async (queue): Promise<[QueueLabels, QueueDepth] | undefined> => {
    try {
      return [queue, await queueStats(queue)];
    } catch {
      return undefined; // The store is unreachable: no value beats a stale one.
    }
  });
  return (await Promise.all(reads)).filter((entry) => entry !== undefined);
}
type NamespaceLabels = { namespace: string };

export class NodeMetrics implements QueueOutcomes {
  readonly registry = new Registry();
  private readonly queueLabels: LabelCap<QueueLabels>;
  private readonly namespaceLabels: LabelCap<NamespaceLabels>;
  private readonly messages: Record<
    "sent" | "delivered" | "acked" | "nacked" | "deadLettered" | "expired",
    Counter<"namespace" | "queue">
  >;
  private readonly broadcasts: Counter<"namespace">;
  private readonly limitRefusals: Counter<"limit" | "namespace">;
  private readonly recoveries: Counter<"namespace" | "result">;
  private readonly replayed: Counter<"namespace">;
  private readonly gapRepairs: Counter<"namespace">;
  private readonly gapRepairedPublications: Counter<"namespace">;
  private readonly historyReads: Counter<"namespace">;
  private readonly redisDuration: Histogram<"command">;
  /** The store the gauges read; none before `observe` (the store is made after its metrics). */
  private store: ObservedStore | undefined;

  constructor(options: NodeMetricsOptions) {
    const max = options.maxQueueLabels ?? 1000;
    this.queueLabels = new LabelCap(max, { namespace: OTHER_LABEL, queue: OTHER_LABEL });
    this.namespaceLabels = new LabelCap(max, { namespace: OTHER_LABEL });
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });

    const queueCounter = (name: string, help: string) =>
      new Counter({
        name: `${PREFIX}messages_${name}_total`,
        help,
        labelNames: ["namespace", "queue"] as const,
        registers: [this.registry],
      });
    this.messages = {
      sent: queueCounter("sent", "Messages accepted into a queue by this node (duplicates not counted)"),
      delivered: queueCounter("delivered", "Messages leased to a consumer by this node (Socket.IO or HTTP)"),
      acked: queueCounter("acked", "Deliveries acknowledged through this node"),
      nacked: queueCounter("nacked", "Deliveries rejected (nack) through this node"),
      deadLettered: queueCounter("dead_lettered", "Messages moved to the dead-letter queue by this node's calls"),
      expired: queueCounter("expired", "Messages discarded by this node's calls because their TTL had passed"),
    };
    this.broadcasts = new Counter({
      name: `${PREFIX}room_broadcasts_total`,
      help: "Room publishes sent by this node (Socket.IO and HTTP)",
      labelNames: ["namespace"] as const,
      registers: [this.registry],
    });
    const namespaceCounter = (name: string, help: string) =>
      new Counter({ name: `${PREFIX}${name}`, help, labelNames: ["namespace"] as const, registers: [this.registry] });
    this.recoveries = new Counter({
      name: `${PREFIX}room_recoveries_total`,
      help: "Joins with `since` answered by this node, by result (recovered, not_recovered)",
      labelNames: ["namespace", "result"] as const,
      registers: [this.registry],
    });
    this.replayed = namespaceCounter(
      "room_replayed_publications_total",
      "Publications this node replayed to joining sockets (recovery and rewind)",
    );
    this.gapRepairs = namespaceCounter(
      "room_gap_repairs_total",
      "Times this node read publications it had missed from a room's history",
    );
    this.gapRepairedPublications = namespaceCounter(
      "room_gap_repaired_publications_total",
      "Publications this node delivered from a room's history after missing them live",
    );
    this.historyReads = namespaceCounter(
      "room_history_reads_total",
      "Reads of rooms' histories this node made (joins, recoveries and repairs of one room at once share one)",
    );
    this.limitRefusals = new Counter({
      name: `${PREFIX}limit_exceeded_total`,
      help: "Work this node refused at a limit (LIMIT_EXCEEDED, or RATE_LIMITED for the command rate), by limit",
      labelNames: ["limit", "namespace"] as const,
      registers: [this.registry],
    });
    this.redisDuration = new Histogram({
      name: `${PREFIX}redis_command_duration_seconds`,
      help: "Time from sending a Redis script call to its answer, by script",
      labelNames: ["command"] as const,
      buckets: REDIS_BUCKETS,
      registers: [this.registry],
    });

    // The depth gauges, and every scrape within depthMaxAgeMs, share one read of the store.
    const queueLabels = this.queueLabels;
    const depths = new RecentResults<Array<[QueueLabels, QueueDepth]>>({
      maxAgeMs: options.depthMaxAgeMs ?? DEPTH_MAX_AGE_MS,
      maxKeys: 1,
    });
    const readDepths = () =>
      depths.get("every labelled queue", () => {
        const store = this.store;
        return store
          ? readQueueDepths([...queueLabels.known()], (queue) => store.queueStats(queue))
          : Promise.resolve([]);
      });
    for (const field of ["ready", "inflight", "delayed", "groups"] as const) {
      new Gauge({
        name: `${PREFIX}queue_${field === "ready" ? "depth" : field}`,
        help: `${DEPTH_HELP[field]} (the store's view: the same from every node, so aggregate with max)`,
        labelNames: ["namespace", "queue"] as const,
        registers: [this.registry],
        async collect() {
          const depths = await readDepths();
          this.reset();
          for (const [labels, depth] of depths) this.set(labels, depth[field]);
        },
      });
    }

    const metrics = this;
    new Gauge({
      name: `${PREFIX}redis_data_loss_detected`,
      help: "Times this node found Redis without the cluster's data (restarted empty, restored from an old copy, flushed)",
      registers: [this.registry],
      collect() {
        this.set(metrics.store?.dataLossDetected() ?? 0);
      },
    });

    const namespaceLabels = this.namespaceLabels;
    new Gauge({
      name: `${PREFIX}sockets_connected`,
      help: "Socket.IO connections to this node, by namespace",
      labelNames: ["namespace"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const [name, namespace] of options.io._nsps) {
          const { namespace: label } = namespaceLabels.labels(name, () => ({ namespace: name }));
          counts.set(label, (counts.get(label) ?? 0) + namespace.sockets.size);
        }
        for (const [namespace, count] of counts) this.set({ namespace }, count);
      },
    });
  }

  /** Points the depth gauges and the data-loss gauge at the store, once it is made. */
  observe(store: ObservedStore): void {
    this.store = store;
  }

  sent(address: QueueAddress, count: number): void {
    if (count > 0) this.messages.sent.inc(this.labelsOf(address), count);
  }

  delivered(address: QueueAddress, count: number): void {
    if (count > 0) this.messages.delivered.inc(this.labelsOf(address), count);
  }

  acked(address: QueueAddress, count: number): void {
    if (count > 0) this.messages.acked.inc(this.labelsOf(address), count);
  }

  nacked(address: QueueAddress): void {
    this.messages.nacked.inc(this.labelsOf(address));
  }

  deadLettered(address: QueueAddress, count: number): void {
    if (count > 0) this.messages.deadLettered.inc(this.labelsOf(address), count);
  }

  expired(address: QueueAddress, count: number): void {
    if (count > 0) this.messages.expired.inc(this.labelsOf(address), count);
  }

  broadcasted(namespace: string): void {
    this.broadcasts.inc(this.namespaceLabels.labels(namespace, () => ({ namespace })));
  }

  /** A join with `since` or `rewind` was answered (delivery/room-feeds.ts). */
  roomJoined(namespace: string, outcome: { recovered: boolean | undefined; replayed: number }): void {
    const labels = this.namespaceLabels.labels(namespace, () => ({ namespace }));
    if (outcome.recovered !== undefined) {
      this.recoveries.inc({ ...labels, result: outcome.recovered ? "recovered" : "not_recovered" });
    }
    if (outcome.replayed > 0) this.replayed.inc(labels, outcome.replayed);
  }

  gapRepaired(namespace: string, publications: number): void {
    const labels = this.namespaceLabels.labels(namespace, () => ({ namespace }));
    this.gapRepairs.inc(labels);
    this.gapRepairedPublications.inc(labels, publications);
  }

  historyRead(namespace: string): void {
    this.historyReads.inc(this.namespaceLabels.labels(namespace, () => ({ namespace })));
  }

  /** A limit (limit-reporter.ts names them) refused work in `namespace`. */
  limitExceeded(limit: string, namespace: string): void {
    this.limitRefusals.inc({ limit, ...this.namespaceLabels.labels(namespace, () => ({ namespace })) });
  }

  redisCommand(command: string, seconds: number): void {
    this.redisDuration.observe({ command }, seconds);
  }

  /** The text a scrape answers, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private labelsOf({ namespace, queue }: QueueAddress): QueueLabels {
    return this.queueLabels.labels(`${namespace}\n${queue}`, () => ({ namespace, queue }));
  }
}
