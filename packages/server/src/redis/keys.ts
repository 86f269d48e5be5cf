/**
 * Every Redis key and channel name Mailroom uses, built in this one module.
 * Names from clients are data: a room is URI-encoded, so it can hold neither a hash-tag brace nor a
 * separator. Keys that one script touches together share a hash tag, ready for Redis Cluster.
 */

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Sorted set: node id -> its last heartbeat (ms, Redis time). */
  nodes(): string {
    return `${this.prefix}:{cluster}:nodes`;
  }

  /** Hash: a node's id, url, startedAt, connections and lastSeenAt. */
  nodeInfo(nodeId: string): string {
    return `${this.prefix}:{cluster}:node:${nodeId}`;
  }

  /** Set: the rooms in which a node holds members, each as `roomRef(namespace, room)`. */
  nodeRooms(nodeId: string): string {
    return `${this.prefix}:{cluster}:node:${nodeId}:rooms`;
  }

  /** Hash: `<node id>/<socket id>` -> user, the room's members across the cluster. */
  roomMembers(namespace: string, room: string): string {
    return `${this.prefix}:room:{${this.roomTag(namespace, room)}}:members`;
  }

  /** Hash: node id -> how many members of the room that node holds. */
  roomCounts(namespace: string, room: string): string {
    return `${this.prefix}:room:{${this.roomTag(namespace, room)}}:counts`;
  }

  /** Channel on which a node checks that its own subscriber connection still receives. */
  probeChannel(nodeId: string): string {
    return `${this.prefix}:probe:${nodeId}`;
  }

  private roomTag(namespace: string, room: string): string {
    return `${namespace}:${encodeURIComponent(room)}`;
  }
}

/** A room as one string (namespaces hold no newline), as stored in a node's room index. */
export function roomRef(namespace: string, room: string): string {
  return `${namespace}\n${room}`;
}

export function parseRoomRef(ref: string): { namespace: string; room: string } {
  const split = ref.indexOf("\n");
  return { namespace: ref.slice(0, split), room: ref.slice(split + 1) };
}
