/**
 * What the charts draw: the last 15 minutes of samples. Live samples are the snapshots, one a second since
 * the page opened; past samples come before them, from the node's rate history (history-seed.ts), with
 * rates only (the node keeps no depths). Per queue it keeps its depths and its send and ack rates; a live
 * rate comes from the difference between two consecutive snapshots' running totals over the time between
 * them, and a total that went down (counters reset) gives no rate for that step. The first snapshot's rates
 * come from the totals the past samples ended with (`primeTotals`), so the charts run on without a gap.
 *
 * The cluster's series (CLUSTER_TOTAL) sums the queues' depths, and their rates where a queue has one, so a
 * queue that enters the snapshot with a large total adds no spike; a past sample brings its own.
 *
 * Storage is a ring of `capacity` slots shared by every series: a queue first seen has no value in the
 * slots before it, and a queue absent from the last full window is forgotten. Values are float32 columns,
 * NaN where there is none, so a thousand queues over 15 minutes stay within a few tens of megabytes. The
 * series hold the slots of the last 15 minutes only, whatever the ring still holds.
 */
import type { Snapshot, SnapshotQueue } from "../api/snapshot.js";
import { queueKey } from "./queue-key.js";

/** 15 minutes at one sample a second. */
export const HISTORY_SECONDS = 15 * 60;
/** The series cover this much time before their newest sample. */
const WINDOW_MS = HISTORY_SECONDS * 1000;

export const METRICS = ["ready", "inflight", "delayed", "deadLettered", "sendRate", "ackRate"] as const;
export type Metric = (typeof METRICS)[number];
/** The metrics a past sample has no value for: the node keeps no history of depths. */
export const DEPTH_METRICS = ["ready", "inflight", "delayed", "deadLettered"] as const satisfies readonly Metric[];

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

/** A queue's (or the cluster's) rates in a past sample, per second; null: none for that step. */
export interface PastRates {
  send: number | null;
  ack: number | null;
}

/** A sample from before the page opened: rates only. A queue it does not name has no value in it. */
export interface PastSample {
  /** Epoch milliseconds. */
  at: number;
  /** By queue key. */
  queues: Map<string, PastRates>;
  cluster: PastRates;
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

  /** How many seconds the series span (at most 15 minutes). */
  spanSeconds(): number {
    if (this.added < 2) return 0;
    const newest = this.times[(this.added - 1) % this.capacity] as number;
    const oldest = this.times[this.firstInWindow() % this.capacity] as number;
    return (newest - oldest) / 1000;
  }

  /** Whether no sample was added yet. */
  isEmpty(): boolean {
    return this.added === 0;
  }

  /** Adds the snapshot as the newest sample; one no newer than the newest (the node's cached one again) adds nothing. */
  add(snapshot: Snapshot): void {
    if (!this.isNewer(snapshot.at)) return;
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
    this.blankAbsent(slot, present);
    this.added++;
  }

  /** Adds a sample from before the page opened (rates only), as the newest; one no newer adds nothing. */
  addPast(sample: PastSample): void {
    if (!this.isNewer(sample.at)) return;
    const slot = this.added % this.capacity;
    this.times[slot] = sample.at;
    const present = new Set<string>([CLUSTER_TOTAL]);
    this.writeRates(this.columnsOf(CLUSTER_TOTAL), slot, sample.cluster);
    for (const [key, rates] of sample.queues) {
      present.add(key);
      this.writeRates(this.columnsOf(key), slot, rates);
    }
    this.blankAbsent(slot, present);
    this.added++;
  }

  /** The queue's running totals as of `at`: the next snapshot's rates are counted from them. */
  primeTotals(key: string, totals: { sent: number; acked: number }, at: number): void {
    this.columnsOf(key).totals = { sent: totals.sent, acked: totals.acked, at };
  }

  /**
   * The queue's series (or the cluster's, with CLUSTER_TOTAL), oldest first, for the metrics asked (every one
   * by default; the others come back empty); undefined if never seen.
   */
  series(key: string, metrics: readonly Metric[] = METRICS): ChartSeries | undefined {
    const columns = this.columns.get(key);
    if (columns === undefined) return undefined;
    const times: number[] = [];
    const values = Object.fromEntries(METRICS.map((metric) => [metric, [] as Array<number | null>])) as Record<
      Metric,
      Array<number | null>
    >;
    for (let index = this.firstInWindow(); index < this.added; index++) {
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

  private isNewer(at: number): boolean {
    return this.added === 0 || at > (this.times[(this.added - 1) % this.capacity] as number);
  }

  /** The index of the oldest sample kept that is within 15 minutes of the newest. */
  private firstInWindow(): number {
    const newest = this.times[(this.added - 1) % this.capacity] as number;
    let index = Math.max(0, this.added - this.capacity);
    while (index < this.added - 1 && (this.times[index % this.capacity] as number) < newest - WINDOW_MS) index++;
    return index;
  }

  /** Leaves no value in the slot for the series absent from its sample; forgets those absent a whole window. */
  private blankAbsent(slot: number, present: Set<string>): void {
    for (const [key, columns] of this.columns) {
      if (present.has(key)) continue;
      if (this.added - columns.lastSeen >= this.capacity) {
        this.columns.delete(key);
        continue;
      }
      for (const metric of METRICS) columns.metrics[metric][slot] = Number.NaN;
      columns.totals = undefined;
    }
  }

  private writeRates(columns: Columns, slot: number, rates: PastRates): void {
    for (const metric of METRICS) columns.metrics[metric][slot] = Number.NaN;
    columns.metrics.sendRate[slot] = rates.send ?? Number.NaN;
    columns.metrics.ackRate[slot] = rates.ack ?? Number.NaN;
    columns.lastSeen = this.added;
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

/** The series from its first slot where one of these metrics has a value: depths start with the page. */
export function fromFirstValue(series: ChartSeries, metrics: readonly Metric[]): ChartSeries {
  const first = series.times.findIndex((_time, index) =>
    metrics.some((metric) => series.values[metric][index] !== null),
  );
  if (first <= 0) return series;
  const values = Object.fromEntries(METRICS.map((metric) => [metric, series.values[metric].slice(first)]));
  return { times: series.times.slice(first), values: values as ChartSeries["values"] };
}

/** Per second, from two running totals; NaN without a previous one, or if the total went down or time did not move. */
function rate(previous: number | undefined, current: number, previousAt: number | undefined, at: number): number {
  if (previous === undefined || previousAt === undefined) return Number.NaN;
  const seconds = (at - previousAt) / 1000;
  if (seconds <= 0 || current < previous) return Number.NaN;
  return (current - previous) / seconds;
}
