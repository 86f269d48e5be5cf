/**
 * What the charts draw: up to 15 minutes of one-second samples taken from the snapshots since the page opened
 * (it keeps nothing across loads, and the node keeps no history for it). Per queue it keeps its depths and
 * its send and ack rates; the rates come from the difference between two consecutive snapshots' running
 * totals over the time between them, and a total that went down (counters reset) gives no rate for that step.
 *
 * The cluster's series (CLUSTER_TOTAL) sums the queues' depths, and their rates where a queue has one, so a
 * queue that enters the snapshot with a large total adds no spike.
 *
 * Storage is a ring of `capacity` slots shared by every series: a queue first seen has no value in the
 * slots before it, and a queue absent from the last full window is forgotten. Values are float32 columns,
 * NaN where there is none, so a thousand queues over 15 minutes stay within a few tens of megabytes.
 */
import type { Snapshot, SnapshotQueue } from "../api/snapshot.js";
import { queueKey } from "./queue-key.js";

/** 15 minutes at one sample a second. */
export const HISTORY_SECONDS = 15 * 60;

export const METRICS = ["ready", "inflight", "delayed", "deadLettered", "sendRate", "ackRate"] as const;
export type Metric = (typeof METRICS)[number];

/** A series for a chart: times in seconds (uPlot's unit) and each metric's values, null where none. */
export interface ChartSeries {
  times: number[];
  values: Record<Metric, Array<number | null>>;
}

/** The latest rates of a queue, in messages per second; null before two samples. */
export interface Rates {
  send: number | null;
  ack: number | null;
}

interface Totals {
  sent: number;
  acked: number;
  /** Epoch milliseconds of the snapshot the totals came from. */
  at: number;
}

interface Columns {
  metrics: Record<Metric, Float32Array>;
  /** How many samples were added when the queue was last present: forgotten a full window later. */
  lastSeen: number;
  totals: Totals | undefined;
}

/** The key of the series that sums every queue of the snapshot. */
export const CLUSTER_TOTAL = "\n*";

export class SampleHistory {
  private readonly times: Float64Array;
  private readonly columns = new Map<string, Columns>();
  /** Samples added so far; the next one goes to slot `added % capacity`. */
  private added = 0;

  constructor(private readonly capacity: number = HISTORY_SECONDS) {
    this.times = new Float64Array(capacity);
  }

  /** How many seconds the samples kept so far span. */
  spanSeconds(): number {
    const kept = Math.min(this.added, this.capacity);
    if (kept < 2) return 0;
    const newest = this.times[(this.added - 1) % this.capacity] as number;
    const oldest = this.times[(this.added - kept) % this.capacity] as number;
    return (newest - oldest) / 1000;
  }

  /** Adds the snapshot as the newest sample; one no newer than the newest (the node's cached one again) adds nothing. */
  add(snapshot: Snapshot): void {
    if (this.added > 0 && snapshot.at <= (this.times[(this.added - 1) % this.capacity] as number)) return;
    const slot = this.added % this.capacity;
    this.times[slot] = snapshot.at;
    const present = new Set<string>([CLUSTER_TOTAL]);
    const total = this.columnsOf(CLUSTER_TOTAL);
    for (const metric of METRICS) total.metrics[metric][slot] = 0;
    let rated = false;
    for (const queue of snapshot.queues) {
      const key = queueKey(queue.namespace, queue.name);
      present.add(key);
      const columns = this.columnsOf(key);
      this.write(columns, slot, queue, snapshot.at);
      for (const metric of METRICS) {
        const value = columns.metrics[metric][slot] as number;
        if (Number.isNaN(value)) continue;
        const column = total.metrics[metric];
        column[slot] = (column[slot] as number) + value;
        if (metric === "sendRate") rated = true;
      }
    }
    if (!rated) {
      total.metrics.sendRate[slot] = Number.NaN;
      total.metrics.ackRate[slot] = Number.NaN;
    }
    total.lastSeen = this.added;
    for (const [key, columns] of this.columns) {
      if (present.has(key)) continue;
      if (this.added - columns.lastSeen >= this.capacity) {
        this.columns.delete(key);
        continue;
      }
      for (const metric of METRICS) columns.metrics[metric][slot] = Number.NaN;
      columns.totals = undefined;
    }
    this.added++;
  }

  /**
   * The queue's series (or the cluster's, with CLUSTER_TOTAL), oldest first, for the metrics asked (every one
   * by default; the others come back empty); undefined if never seen.
   */
  series(key: string, metrics: readonly Metric[] = METRICS): ChartSeries | undefined {
    const columns = this.columns.get(key);
    if (columns === undefined) return undefined;
    const kept = Math.min(this.added, this.capacity);
    const times: number[] = [];
    const values = Object.fromEntries(METRICS.map((metric) => [metric, [] as Array<number | null>])) as Record<
      Metric,
      Array<number | null>
    >;
    for (let index = this.added - kept; index < this.added; index++) {
      const slot = index % this.capacity;
      times.push((this.times[slot] as number) / 1000);
      for (const metric of metrics) {
        const value = columns.metrics[metric][slot] as number;
        values[metric].push(Number.isNaN(value) ? null : value);
      }
    }
    return { times, values };
  }

  /** The queue's rates at the newest sample. */
  latestRates(key: string): Rates {
    const columns = this.columns.get(key);
    if (columns === undefined || this.added === 0) return { send: null, ack: null };
    const slot = (this.added - 1) % this.capacity;
    const value = (metric: Metric) => {
      const number = columns.metrics[metric][slot] as number;
      return Number.isNaN(number) ? null : number;
    };
    return { send: value("sendRate"), ack: value("ackRate") };
  }

  private columnsOf(key: string): Columns {
    let columns = this.columns.get(key);
    if (columns === undefined) {
      columns = this.emptyColumns();
      this.columns.set(key, columns);
    }
    return columns;
  }

  private emptyColumns(): Columns {
    const metrics = Object.fromEntries(
      METRICS.map((metric) => [metric, new Float32Array(this.capacity).fill(Number.NaN)]),
    ) as Record<Metric, Float32Array>;
    return { metrics, lastSeen: this.added, totals: undefined };
  }

  private write(columns: Columns, slot: number, queue: SnapshotQueue, at: number): void {
    const { metrics } = columns;
    metrics.ready[slot] = queue.ready;
    metrics.inflight[slot] = queue.inflight;
    metrics.delayed[slot] = queue.delayed;
    metrics.deadLettered[slot] = queue.deadLettered;
    metrics.sendRate[slot] = rate(columns.totals?.sent, queue.sent, columns.totals?.at, at);
    metrics.ackRate[slot] = rate(columns.totals?.acked, queue.acked, columns.totals?.at, at);
    columns.totals = { sent: queue.sent, acked: queue.acked, at };
    columns.lastSeen = this.added;
  }
}

/** Per second, from two running totals; NaN without a previous one, or if the total went down or time did not move. */
function rate(previous: number | undefined, current: number, previousAt: number | undefined, at: number): number {
  if (previous === undefined || previousAt === undefined) return Number.NaN;
  const seconds = (at - previousAt) / 1000;
  if (seconds <= 0 || current < previous) return Number.NaN;
  return (current - previous) / seconds;
}
