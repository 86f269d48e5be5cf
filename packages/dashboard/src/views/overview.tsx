/** The overview: what needs attention, the cluster's throughput, its queues worst first, nodes, namespaces, rooms. */
import type { Snapshot } from "../api/snapshot.js";
import { attentionItems } from "../state/attention.js";
import { CLUSTER_TOTAL, type SampleHistory } from "../state/sample-history.js";
import { AttentionBar } from "./attention-bar.js";
import { RATE_COLORS } from "./chart-colors.js";
import { NamespacesTable } from "./namespaces-table.js";
import { NodesTable } from "./nodes-table.js";
import { QueuesTable } from "./queues-table.js";
import { RoomsTable } from "./rooms-table.js";
import { TimeChart } from "./time-chart.js";

export function Overview({ snapshot, history }: { snapshot: Snapshot; history: SampleHistory }) {
  const total = history.series(CLUSTER_TOTAL);
  return (
    <>
      <AttentionBar items={attentionItems(snapshot)} />
      {total && (
        <section class="panel">
          <TimeChart
            title="Messages sent and acked per second, every queue listed, over the last 15 minutes"
            times={total.times}
            unit="/s"
            lines={[
              { label: "sent", color: RATE_COLORS.send, values: total.values.sendRate },
              { label: "acked", color: RATE_COLORS.ack, values: total.values.ackRate },
            ]}
          />
        </section>
      )}
      <QueuesTable snapshot={snapshot} history={history} />
      <NodesTable snapshot={snapshot} />
      <div class="columns">
        <NamespacesTable snapshot={snapshot} />
        <RoomsTable snapshot={snapshot} />
      </div>
    </>
  );
}
