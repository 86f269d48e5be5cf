/**
 * One queue: its stats, its charts (rates over the last 15 minutes, depths since the page opened), a peek at
 * its messages and the admin actions.
 * Stats come from the overview's snapshot; a queue the snapshot leaves out (its list was truncated, or the
 * queue is idle) is asked for with the stats route at each snapshot instead.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api/http.js";
import { fetchQueueStats, type QueueStats } from "../api/queue-api.js";
import { deadLetterQueueOf, isDeadLetterQueue, queueOfDeadLetterQueue } from "../api/queue-paths.js";
import type { Snapshot } from "../api/snapshot.js";
import { qualifiedName } from "../state/attention.js";
import { queueKey } from "../state/queue-key.js";
import { OVERVIEW_HREF, queueHref } from "../state/routes.js";
import { DEPTH_METRICS, fromFirstValue, type SampleHistory } from "../state/sample-history.js";
import { DEPTH_COLORS, RATE_COLORS } from "./chart-colors.js";
import { count, rate } from "./format.js";
import { PeekPanel } from "./peek-panel.js";
import { QueueActions } from "./queue-actions.js";
import { TimeChart } from "./time-chart.js";

export interface QueuePageProps {
  namespace: string;
  queue: string;
  snapshot: Snapshot;
  history: SampleHistory;
}

export function QueuePage({ namespace, queue, snapshot, history }: QueuePageProps) {
  const key = queueKey(namespace, queue);
  const { stats, error } = useQueueStats(namespace, queue, snapshot);
  const [generation, setGeneration] = useState(0);
  const series = history.series(key);
  const depths = series && fromFirstValue(series, DEPTH_METRICS);
  const rates = history.latestRates(key);

  return (
    <>
      <nav class="breadcrumbs">
        <a href={OVERVIEW_HREF}>Overview</a> › <code>{namespace}</code> › <strong>{queue}</strong>
      </nav>
      <h1 class="queue-title">{qualifiedName(namespace, queue)}</h1>
      {isDeadLetterQueue(queue) && (
        <p class="hint">
          The dead-letter queue of{" "}
          <a href={queueHref(namespace, queueOfDeadLetterQueue(queue))}>{queueOfDeadLetterQueue(queue)}</a>.
        </p>
      )}
      {error && (
        <p class="error-text">
          The stats could not be read ({error.code}): {error.message}
        </p>
      )}
      {stats && (
        <section class="tiles" aria-label="Stats">
          <Tile label="ready" value={count(stats.ready)} />
          <Tile label="in flight" value={count(stats.inflight)} />
          <Tile label="delayed" value={count(stats.delayed)} />
          <Tile label="dead letters" value={count(stats.deadLettered)} bad={stats.deadLettered > 0} />
          <Tile label="consumers" value={count(stats.consumers)} bad={stats.ready > 0 && stats.consumers === 0} />
          <Tile label="groups" value={count(stats.groups ?? 0)} />
          <Tile label="sent/s" value={rate(rates.send)} />
          <Tile label="acked/s" value={rate(rates.ack)} />
        </section>
      )}
      {series && depths && (
        <div class="columns">
          <section class="panel">
            <TimeChart
              title="Sent and acked per second, over the last 15 minutes"
              times={series.times}
              unit="/s"
              lines={[
                { label: "sent", color: RATE_COLORS.send, values: series.values.sendRate },
                { label: "acked", color: RATE_COLORS.ack, values: series.values.ackRate },
              ]}
            />
          </section>
          <section class="panel">
            <TimeChart
              title="Messages by state, since this page opened"
              times={depths.times}
              lines={[
                { label: "ready", color: DEPTH_COLORS.ready, values: depths.values.ready },
                { label: "in flight", color: DEPTH_COLORS.inflight, values: depths.values.inflight },
                { label: "delayed", color: DEPTH_COLORS.delayed, values: depths.values.delayed },
                { label: "dead letters", color: DEPTH_COLORS.deadLettered, values: depths.values.deadLettered },
              ]}
            />
          </section>
        </div>
      )}
      {stats && (
        <QueueActions
          namespace={namespace}
          queue={queue}
          deadLettered={stats.deadLettered}
          purgeable={stats.ready + stats.delayed}
          onChanged={() => setGeneration((value) => value + 1)}
        />
      )}
      <PeekPanel
        namespace={namespace}
        queue={queue}
        generation={generation}
        counts={{
          ready: stats?.ready ?? 0,
          delayed: stats?.delayed ?? 0,
          inflight: stats?.inflight ?? 0,
          deadLettered: stats?.deadLettered ?? 0,
        }}
      />
      {!isDeadLetterQueue(queue) && (
        <p class="hint">
          Its dead letters wait in{" "}
          <a href={queueHref(namespace, deadLetterQueueOf(queue))}>{deadLetterQueueOf(queue)}</a>.
        </p>
      )}
    </>
  );
}

function Tile({ label, value, bad = false }: { label: string; value: string; bad?: boolean }) {
  return (
    <div class={bad ? "tile tile-bad" : "tile"}>
      <div class="tile-value" data-stat={label}>
        {value}
      </div>
      <div class="tile-label">{label}</div>
    </div>
  );
}

/** The queue's stats: its entry in the snapshot, or the stats route's answer when the snapshot has none. */
function useQueueStats(
  namespace: string,
  queue: string,
  snapshot: Snapshot,
): { stats: QueueStats | undefined; error: ApiError | undefined } {
  const listed = snapshot.queues.find((entry) => entry.namespace === namespace && entry.name === queue);
  const [fetched, setFetched] = useState<{ stats?: QueueStats; error?: ApiError }>({});

  useEffect(() => {
    if (listed) return;
    let current = true;
    fetchQueueStats(namespace, queue).then(
      (stats) => current && setFetched({ stats }),
      (error: unknown) => current && setFetched({ error: error instanceof ApiError ? error : undefined }),
    );
    return () => {
      current = false;
    };
  }, [namespace, queue, listed !== undefined, snapshot.at]);

  if (listed) return { stats: listed, error: undefined };
  return { stats: fetched.stats, error: fetched.error };
}
