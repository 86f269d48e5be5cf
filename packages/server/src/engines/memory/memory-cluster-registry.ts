/**
 * The registry of a single node with no Redis: its own memberships are the whole cluster's.
 */
import { MAX_LISTED_MEMBERS, type RoomMember, type RoomMembersResult } from "@mailroom/protocol";
import type { ClusterRegistry, LocalNode, Membership, NodeRecord, RoomCount } from "../cluster-registry.js";
import { LocalMemberships } from "../local-memberships.js";
import { queueRef } from "../refs.js";

export class MemoryRegistry implements ClusterRegistry {
  private readonly memberships = new LocalMemberships();
  private readonly consumerCounts = new Map<string, number>();

  constructor(private readonly node: LocalNode) {}

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  async join(membership: Membership): Promise<void> {
    this.memberships.add(membership);
  }

  async leave(membership: Membership): Promise<void> {
    this.memberships.remove(membership);
  }

  async members(namespace: string, room: string): Promise<RoomMembersResult> {
    const sockets = this.memberships.membersOf(namespace, room);
    const members: RoomMember[] = [];
    for (const [socket, user] of sockets) {
      if (members.length === MAX_LISTED_MEMBERS) break;
      members.push(user === undefined ? { socket } : { socket, user });
    }
    return { count: sockets.size, members };
  }

  async setQueueConsumers(namespace: string, queue: string, count: number): Promise<void> {
    if (count > 0) this.consumerCounts.set(queueRef(namespace, queue), count);
    else this.consumerCounts.delete(queueRef(namespace, queue));
  }

  async queueConsumers(namespace: string, queue: string): Promise<number> {
    return this.consumerCounts.get(queueRef(namespace, queue)) ?? 0;
  }

  async queueConsumerCounts(namespace: string, queues: string[]): Promise<number[]> {
    return queues.map((queue) => this.consumerCounts.get(queueRef(namespace, queue)) ?? 0);
  }

  async nodes(): Promise<NodeRecord[]> {
    const now = Date.now();
    const { id, url, startedAt, connections, namespaceSockets, health } = this.node;
    const { draining, eventLoopLagMs } = health();
    return [
      {
        id,
        url: url(),
        startedAt,
        connections: connections(),
        lastSeenAt: now,
        namespaces: namespaceSockets(),
        draining,
        eventLoopLagMs,
      },
    ];
  }

  async rooms(limit: number): Promise<RoomCount[]> {
    return this.memberships
      .roomCounts()
      .sort((first, second) => second.members - first.members)
      .slice(0, limit);
  }
}
