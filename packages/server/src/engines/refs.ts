/**
 * A queue or a room as one string, "<namespace>\n<name>" (namespaces hold no newline): how both engines
 * key their indexes of queues and rooms (the due index, a node's queues and rooms, the memory engine's
 * maps). Parsing gives back the two parts.
 */

/** A queue as one string (namespaces hold no newline), as stored in the due index and node indexes. */
export function queueRef(namespace: string, queue: string): string {
  return `${namespace}\n${queue}`;
}

/** The ref of a queue's address: one spelling of "which queue" for every map keyed by queue. */
export function queueRefOf(address: { namespace: string; queue: string }): string {
  return queueRef(address.namespace, address.queue);
}

export function parseQueueRef(ref: string): { namespace: string; queue: string } {
  const split = ref.indexOf("\n");
  return { namespace: ref.slice(0, split), queue: ref.slice(split + 1) };
}

/** A room as one string (namespaces hold no newline), as stored in a node's room index. */
export function roomRef(namespace: string, room: string): string {
  return `${namespace}\n${room}`;
}

export function parseRoomRef(ref: string): { namespace: string; room: string } {
  const split = ref.indexOf("\n");
  return { namespace: ref.slice(0, split), room: ref.slice(split + 1) };
}
