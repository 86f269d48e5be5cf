/** The namespaces that have queues or connected sockets now. */
import type { Snapshot } from "../api/snapshot.js";
import { CutName } from "./cut-name.js";
import { count } from "./format.js";

export function NamespacesTable({ snapshot }: { snapshot: Snapshot }) {
  return (
    <section class="panel" aria-labelledby="namespaces-title">
      <h2 id="namespaces-title">Namespaces</h2>
      {snapshot.namespaces.length === 0 ? (
        <p class="empty">No namespace has queues or sockets.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>namespace</th>
              <th class="number">queues</th>
              <th class="number">sockets</th>
            </tr>
          </thead>
          <tbody>
            {snapshot.namespaces.map((namespace) => (
              <tr key={namespace.name}>
                <td>
                  <CutName name={namespace.name} narrow>
                    <code>{namespace.name}</code>
                  </CutName>
                </td>
                <td class="number">{count(namespace.queues)}</td>
                <td class="number">{count(namespace.sockets)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
