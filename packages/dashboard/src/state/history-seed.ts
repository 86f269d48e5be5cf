/**
 * Starts an empty sample history with the node's rate history (`GET /v1/dashboard/history`), so the charts
 * open with the last 15 minutes instead of nothing: each of the node's samples becomes a past sample whose
 * rates are its counts over the time since the sample before it (the interval, for the first one). A queue
 * a sample does not name had no traffic in it (rate 0); a `null` count, a negative one, or a step of no time
 * gives no rate (a gap), never a negative one. The newest sample's totals are where the first snapshot's
 * rates are counted from. A history that already holds samples is left as it is.
 */
import type { RateHistory } from "../api/rate-history.js";
import { queueKey } from "./queue-key.js";
import type { PastRates, SampleHistory } from "./sample-history.js";

export function seedHistory(history: SampleHistory, past: RateHistory): void {
  if (!history.isEmpty()) return;
  const known = new Set<string>();
  for (const queue of past.totals?.queues ?? []) known.add(queueKey(queue.namespace, queue.name));
  for (const sample of past.samples) {
    for (const queue of sample.queues) known.add(queueKey(queue.namespace, queue.name));
  }
  let previousAt: number | undefined;
  for (const sample of past.samples) {
    const seconds = (previousAt === undefined ? past.intervalMs : sample.at - previousAt) / 1000;
    previousAt = sample.at;
    // The first sample the cluster took counts nothing, for any queue.
    const quiet: PastRates = sample.sent === null ? { send: null, ack: null } : { send: 0, ack: 0 };
    const queues = new Map<string, PastRates>();
    for (const key of known) queues.set(key, quiet);
    for (const queue of sample.queues) {
      queues.set(queueKey(queue.namespace, queue.name), {
        send: perSecond(queue.sent, seconds),
        ack: perSecond(queue.acked, seconds),
      });
    }
    const cluster = { send: perSecond(sample.sent, seconds), ack: perSecond(sample.acked, seconds) };
    history.addPast({ at: sample.at, queues, cluster });
  }
  if (past.totals === undefined) return;
  for (const queue of past.totals.queues) {
    history.primeTotals(queueKey(queue.namespace, queue.name), queue, past.totals.at);
  }
}

function perSecond(count: number | null, seconds: number): number | null {
  if (count === null || count < 0 || seconds <= 0) return null;
  return count / seconds;
}
