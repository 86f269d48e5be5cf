/** Rooms with members now, the most members first. */
import type { Snapshot } from "../api/snapshot.js";
import { CutName } from "./cut-name.js";
import { count } from "./format.js";

export function RoomsTable({ snapshot }: { snapshot: Snapshot }) {
  const rooms = [...snapshot.rooms].sort(
    (a, b) => b.members - a.members || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
  return (
    <section class="panel" aria-labelledby="rooms-title">
      <h2 id="rooms-title">Rooms</h2>
      {rooms.length === 0 ? (
        <p class="empty">No room has members.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>namespace</th>
              <th>room</th>
              <th class="number">members</th>
            </tr>
          </thead>
          <tbody>
            {rooms.map((room) => (
              <tr key={`${room.namespace}\n${room.name}`}>
                <td>
                  <CutName name={room.namespace} narrow>
                    <code>{room.namespace}</code>
                  </CutName>
                </td>
                <td>
                  <CutName name={room.name} narrow />
                </td>
                <td class="number">{count(room.members)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {snapshot.truncated.rooms && <p class="hint">The node lists only some of the rooms: there are more.</p>}
    </section>
  );
}
