/**
 * The cluster's nodes, with the store the answering node sees. Each node measures its own event-loop lag:
 * the answering node's is from now, the others' from their last heartbeat. A node is ready while it
 * heartbeats (it reaches the store) and does not drain.
 */
import type { Snapshot } from "../api/snapshot.js";
import { isLate, memoryShare } from "../state/attention.js";
import { bytes, count, duration } from "./format.js";

export function NodesTable({ snapshot }: { snapshot: Snapshot }) {
  const nodes = [...snapshot.nodes].sort((a, b) => Number(b.self) - Number(a.self) || a.id.localeCompare(b.id));
  return (
    <section class="panel" aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <StoreLine snapshot={snapshot} />
      <table>
        <thead>
          <tr>
            <th>node</th>
            <th>state</th>
            <th class="number">connections</th>
            <th class="number">event-loop lag</th>
            <th class="number">up for</th>
            <th class="number">last heartbeat</th>
            <th>URL</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => {
            const late = isLate(node, snapshot.at);
            const state = node.draining ? "draining" : late ? "late heartbeat" : "ready";
            const lag = node.self ? snapshot.eventLoopLagMs : node.eventLoopLagMs;
            return (
              <tr key={node.id}>
                <td>
                  <code>{node.id}</code>
                  {node.self && <span class="tag">this page's node</span>}
                </td>
                <td class={state === "ready" ? "state-good" : "state-bad"}>{state}</td>
                <td class="number">{count(node.connections)}</td>
                <td class="number">{lag === undefined ? "–" : `${lag.toFixed(1)} ms`}</td>
                <td class="number">{duration(snapshot.at - node.startedAt)}</td>
                <td class="number">{duration(snapshot.at - node.lastSeenAt)} ago</td>
                <td>
                  <code>{node.url}</code>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function StoreLine({ snapshot: { store } }: { snapshot: Snapshot }) {
  const share = memoryShare(store.usedMemoryBytes, store.maxMemoryBytes);
  const memory =
    store.usedMemoryBytes === undefined
      ? undefined
      : share === undefined
        ? `${bytes(store.usedMemoryBytes)} used, no maxmemory set`
        : `${bytes(store.usedMemoryBytes)} of ${bytes(store.maxMemoryBytes ?? 0)} (${Math.round(share * 100)}%)`;
  return (
    <p class="store-line">
      Store: <strong>{store.engine === "redis" ? "Redis" : "memory (one node, nothing durable)"}</strong>,{" "}
      <span class={store.ready ? "state-good" : "state-bad"}>{store.ready ? "ready" : "not ready"}</span>
      {store.problem && <span class="state-bad"> ({store.problem})</span>}
      {memory && <>, memory {memory}</>}
      {store.dataLossDetected > 0 && <span class="state-bad">, data loss detected</span>}
    </p>
  );
}
