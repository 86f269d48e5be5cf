/**
 * The cluster's rate samples of the last 15 minutes, `GET /v1/dashboard/history` (docs/protocol.md §12), as
 * the page reads them once when it opens: per sample, the messages sent and acked since the previous one,
 * for the cluster and for each queue that had traffic; and the running totals at the newest sample.
 */
import { requestJson } from "./http.js";

export interface HistoryQueueCounts {
  namespace: string;
  name: string;
  /** Messages sent to (acked from) the queue since the previous sample; null: no count for that step. */
  sent: number | null;
  acked: number | null;
}

export interface HistorySample {
  /** Epoch milliseconds (the store's clock). */
  at: number;
  /** Messages sent (acked) by every queue since the previous sample; null: no count (the first sample). */
  sent: number | null;
  acked: number | null;
  /** Only the queues whose totals changed since the previous sample: the others had no traffic. */
  queues: HistoryQueueCounts[];
}

export interface HistoryTotals {
  /** The newest sample's time. */
  at: number;
  queues: Array<{ namespace: string; name: string; sent: number; acked: number }>;
}

export interface RateHistory {
  /** How often the cluster takes a sample (ms). */
  intervalMs: number;
  /** Oldest first. */
  samples: HistorySample[];
  /** Absent before the first sample. */
  totals?: HistoryTotals;
}

export const RATE_HISTORY_PATH = "/v1/dashboard/history";

export function fetchRateHistory(): Promise<RateHistory> {
  return requestJson<RateHistory>(RATE_HISTORY_PATH);
}
