/**
 * How many bytes a node holds for a socket and has not written to the network yet: the packets waiting in
 * its engine.io connection's write buffer (a polling client that does not poll, a websocket still busy
 * with earlier frames) plus what the websocket has queued in its TCP socket (a client that stopped
 * reading). The consumer dispatcher stops delivering past a bound of this (docs/protocol.md §15).
 * It reads engine.io's and ws's internals, which their types do not declare; a field that is not there
 * counts as 0.
 */
import type { MailroomSocket } from "../../socket-types.js";

interface ConnectionInternals {
  writeBuffer?: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: unknown } };
}

export function unsentBytes(socket: MailroomSocket): number {
  const connection = socket.conn as unknown as ConnectionInternals;
  let bytes = 0;
  for (const packet of connection.writeBuffer ?? []) bytes += byteLength(packet.data);
  const queued = connection.transport?.socket?.bufferedAmount;
  if (typeof queued === "number") bytes += queued;
  return bytes;
}

function byteLength(data: unknown): number {
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
