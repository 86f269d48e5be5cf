/**
 * Every queue the snapshot lists, worst first (state/queue-rows.ts), with its counts, its rates at the last
 * snapshot and a sparkline of send and ack rates over the last 15 minutes. A queue's name opens its page.
 * The first ROWS_SHOWN rows are drawn until "Show all" is pressed: the worst are at the top, and a thousand
 * rows of sparklines redrawn every second would cost the browser more than they tell.
 */
import { useState } from "preact/hooks";
import type { Snapshot } from "../api/snapshot.js";
import { queueKey } from "../state/queue-key.js";
import { isUnconsumed, worstFirst } from "../state/queue-rows.js";
import { queueHref } from "../state/routes.js";
import type { SampleHistory } from "../state/sample-history.js";
import { CutName } from "./cut-name.js";
import { count, rate } from "./format.js";
import { Sparkline } from "./sparkline.js";

/** Rows drawn before "Show all". */
const ROWS_SHOWN = 100;
/** What a sparkline draws. */
const SPARKLINE_METRICS = ["sendRate", "ackRate"] as const;

export function QueuesTable({ snapshot, history }: { snapshot: Snapshot; history: SampleHistory }) {
  const [showAll, setShowAll] = useState(false);
  const queues = worstFirst(snapshot.queues);
  const shown = showAll ? queues : queues.slice(0, ROWS_SHOWN);
  return (
    <section class="panel" aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      {queues.length === 0 ? (
        <p class="empty">No queue holds messages, has consumers or was sent to in the last 24 hours.</p>
      ) : (
        <table class="queues">
          <thead>
            <tr>
              <th>queue</th>
              <th>namespace</th>
              <th class="number">ready</th>
              <th class="number">in flight</th>
              <th class="number">delayed</th>
              <th class="number">dead letters</th>
              <th class="number">consumers</th>
              <th class="number">sent/s</th>
              <th class="number">acked/s</th>
              <th>
                <span class="legend-send">sent</span> / <span class="legend-ack">acked</span>, last 15 minutes
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((queue) => {
              const key = queueKey(queue.namespace, queue.name);
              const rates = history.latestRates(key);
              return (
                <tr key={key} data-queue={queue.name}>
                  <td>
                    <CutName name={queue.name}>
                      <a href={queueHref(queue.namespace, queue.name)}>{queue.name}</a>
                    </CutName>
                  </td>
                  <td>
                    <CutName name={queue.namespace}>
                      <code>{queue.namespace}</code>
                    </CutName>
                  </td>
                  <td class={`number depth${isUnconsumed(queue) ? " state-warn" : ""}`}>{count(queue.ready)}</td>
                  <td class="number">{count(queue.inflight)}</td>
                  <td class="number">{count(queue.delayed)}</td>
                  <td class={`number${queue.deadLettered > 0 ? " state-bad" : ""}`}>{count(queue.deadLettered)}</td>
                  <td class="number">{count(queue.consumers)}</td>
                  <td class="number">{rate(rates.send)}</td>
                  <td class="number">{rate(rates.ack)}</td>
                  <td>
                    <Sparkline series={history.series(key, SPARKLINE_METRICS)} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {shown.length < queues.length && (
        <button type="button" onClick={() => setShowAll(true)}>
          Show all {queues.length} queues
        </button>
      )}
      {snapshot.truncated.queues && <p class="hint">The node lists only some of the queues: there are more.</p>}
    </section>
  );
}
