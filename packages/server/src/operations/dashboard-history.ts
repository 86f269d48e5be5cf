/**
 * `GET /v1/dashboard/history` (docs/protocol.md §12): the cluster's rate samples of the last 15 minutes
 * (engines/rate-samples.ts), as the dashboard reads them when it opens, so its charts start with the
 * recent past instead of empty. Counts the store has none for are `null`; the newest sample's totals come
 * with their sums, so the page can go on from them with the live snapshots' totals.
 */
import type { HttpDashboardHistory } from "@mailroom/protocol";
import type { RateSamples } from "../engines/rate-samples.js";

export async function dashboardHistory(
  samples: Pick<RateSamples, "read">,
  intervalMs: number,
): Promise<HttpDashboardHistory> {
  const history = await samples.read();
  const answer: HttpDashboardHistory = {
    intervalMs,
    samples: history.samples.map((sample) => ({
      at: sample.at,
      sent: sample.sent ?? null,
      acked: sample.acked ?? null,
      queues: sample.queues.map((queue) => ({
        namespace: queue.namespace,
        name: queue.queue,
        sent: queue.sent ?? null,
        acked: queue.acked ?? null,
      })),
    })),
  };
  if (history.totals !== undefined) {
    const queues = history.totals.queues.map(({ namespace, queue, sent, acked }) => ({
      namespace,
      name: queue,
      sent,
      acked,
    }));
    answer.totals = {
      at: history.totals.at,
      sent: queues.reduce((sum, queue) => sum + queue.sent, 0),
      acked: queues.reduce((sum, queue) => sum + queue.acked, 0),
      queues,
    };
  }
  return answer;
}
