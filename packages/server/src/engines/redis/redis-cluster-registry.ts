/**
 * The cluster registry on Redis. Each node heartbeats into one sorted set stamped with Redis's clock;
 * room memberships live in two hashes per room (members, and a per-node count so that `count` is a
 * sum over live nodes rather than a scan). Queries filter by live nodes, so a dead node's members stop
 * counting the moment its heartbeat is too old; the first live node to claim it then deletes what it held.
 * A node rewrites its own memberships whenever Redis has lost them (its heartbeat finds it unlisted).
 */
import { MAX_LISTED_MEMBERS, type RoomMember, type RoomMembersResult } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { ClusterRegistry, LocalNode, Membership, NodeRecord, RoomCount } from "../cluster-registry.js";
import { LocalMemberships } from "../local-memberships.js";
import { parseQueueRef, parseRoomRef, queueRef, roomRef } from "../refs.js";
import type { RedisKeys } from "./keys.js";
import { LAYOUT_VERSION } from "./layout.js";
import type { RedisClient } from "./redis-clients.js";
import type { Scripts } from "./scripts.js";
import { inStore } from "./store-errors.js";

/** How many heartbeat timeouts a node's info hash outlives its last heartbeat (then Redis drops it). */
const INFO_TTL_IN_TIMEOUTS = 3;
/** Entries read per HSCAN call while listing members. */
const MEMBER_SCAN_PAGE = 1000;

export interface RedisRegistryOptions {
  redis: RedisClient;
  scripts: Scripts;
  keys: RedisKeys;
  node: LocalNode;
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  logger: FastifyBaseLogger;
}

export class RedisRegistry implements ClusterRegistry {
  private readonly local = new LocalMemberships();
  /** This node's consumer count per queue ref; what Redis holds for this node, or is being retried. */
  private readonly consumerCounts = new Map<string, number>();
  /** Queue refs whose count could not reach Redis; retried at each heartbeat. */
  private readonly pendingCounts = new Set<string>();
  /** Leaves that could not reach Redis; retried at each heartbeat. */
  private readonly pendingLeaves = new Map<string, Membership>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /**
   * Heartbeats that are still to write this node's entries again, after Redis lost them (0: none). Two: a
   * live node that had found this one dead may still be removing its entries while the first rewrite lands
   * (its removal is several calls), and the second puts back what that removal took.
   */
  private rewritesLeft = 0;
  /** When the last heartbeat landed (this process's monotonic clock, ms); 0 before the first. */
  private lastHeartbeatAt = 0;

  constructor(private readonly options: RedisRegistryOptions) {}

  async start(): Promise<void> {
    await this.heartbeatNow();
    this.timer = setInterval(() => void this.heartbeatNow(), this.options.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Whether the cluster sees this node: its last heartbeat landed within the node timeout. */
  isRegistered(): boolean {
    return this.lastHeartbeatAt > 0 && performance.now() - this.lastHeartbeatAt < this.options.nodeTimeoutMs;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const { redis, scripts, keys, node } = this.options;
    const rooms = new Set<string>();
    for (const { namespace, room } of this.local.all()) rooms.add(roomRef(namespace, room));
    await Promise.allSettled([
      ...[...rooms].map((ref) => {
        const { namespace, room } = parseRoomRef(ref);
        return scripts.roomDropNode(node.id, namespace, room);
      }),
      ...[...this.consumerCounts.keys()].map((ref) => {
        const { namespace, queue } = parseQueueRef(ref);
        return redis.hdel(keys.queueConsumers(namespace, queue), node.id);
      }),
      redis.del(keys.nodeRooms(node.id), keys.nodeQueues(node.id), keys.nodeInfo(node.id)),
      redis.zrem(keys.nodes(), node.id),
    ]);
  }

  async join(membership: Membership): Promise<void> {
    const { redis, scripts, keys, node } = this.options;
    this.pendingLeaves.delete(pendingKey(membership));
    const isNewRoom = this.local.add(membership);
    try {
      await inStore(
        Promise.all([
          isNewRoom ? redis.sadd(keys.nodeRooms(node.id), roomRef(membership.namespace, membership.room)) : 0,
          scripts.roomJoin(node.id, membership),
        ]),
      );
    } catch (error) {
      this.local.remove(membership);
      // The write may have landed before the failure: make sure it does not linger.
      this.pendingLeaves.set(pendingKey(membership), membership);
      throw error;
    }
  }

  async leave(membership: Membership): Promise<void> {
    this.local.remove(membership);
    try {
      await this.options.scripts.roomLeave(this.options.node.id, membership);
    } catch (error) {
      this.options.logger.debug({ err: error }, "a leave could not reach Redis; retrying at the next heartbeat");
      this.pendingLeaves.set(pendingKey(membership), membership);
    }
  }

  async members(namespace: string, room: string): Promise<RoomMembersResult> {
    const { redis, scripts, keys, nodeTimeoutMs } = this.options;
    const [liveIds, counts] = await inStore(
      Promise.all([scripts.liveNodes(nodeTimeoutMs), redis.hgetall(keys.roomCounts(namespace, room))]),
    );
    const live = new Set(liveIds);
    let count = 0;
    for (const [nodeId, nodeCount] of Object.entries(counts)) if (live.has(nodeId)) count += Number(nodeCount);
    const members: RoomMember[] = [];
    let cursor = "0";
    do {
      const [next, entries] = await inStore(
        redis.hscan(keys.roomMembers(namespace, room), cursor, "COUNT", MEMBER_SCAN_PAGE),
      );
      cursor = next;
      for (let index = 0; index < entries.length && members.length < MAX_LISTED_MEMBERS; index += 2) {
        const field = entries[index] as string;
        const user = entries[index + 1] as string;
        const split = field.indexOf("/");
        if (!live.has(field.slice(0, split))) continue;
        const socket = field.slice(split + 1);
        members.push(user === "" ? { socket } : { socket, user });
      }
    } while (cursor !== "0" && members.length < MAX_LISTED_MEMBERS);
    return { count, members };
  }

  async setQueueConsumers(namespace: string, queue: string, count: number): Promise<void> {
    const ref = queueRef(namespace, queue);
    if (count > 0) this.consumerCounts.set(ref, count);
    else this.consumerCounts.delete(ref);
    try {
      await this.writeConsumerCount(ref);
    } catch (error) {
      this.options.logger.debug({ err: error }, "a consumer count could not reach Redis; retrying");
      this.pendingCounts.add(ref);
    }
  }

  async queueConsumers(namespace: string, queue: string): Promise<number> {
    const [count] = await this.queueConsumerCounts(namespace, [queue]);
    return count ?? 0;
  }

  /** One read of the live nodes for all the queues, and their counts in the same pipeline. */
  async queueConsumerCounts(namespace: string, queues: string[]): Promise<number[]> {
    const { redis, scripts, keys, nodeTimeoutMs } = this.options;
    const [liveIds, perQueue] = await inStore(
      Promise.all([
        scripts.liveNodes(nodeTimeoutMs),
        Promise.all(queues.map((queue) => redis.hgetall(keys.queueConsumers(namespace, queue)))),
      ]),
    );
    const live = new Set(liveIds);
    return perQueue.map((counts) => {
      let total = 0;
      for (const [nodeId, count] of Object.entries(counts)) {
        if (live.has(nodeId)) total += Number(count);
      }
      return total;
    });
  }

  private async writeConsumerCount(ref: string): Promise<void> {
    const { redis, keys, node } = this.options;
    const { namespace, queue } = parseQueueRef(ref);
    const count = this.consumerCounts.get(ref) ?? 0;
    const key = keys.queueConsumers(namespace, queue);
    await Promise.all(
      count > 0
        ? [redis.hset(key, node.id, count), redis.sadd(keys.nodeQueues(node.id), ref)]
        : [redis.hdel(key, node.id), redis.srem(keys.nodeQueues(node.id), ref)],
    );
    this.pendingCounts.delete(ref);
  }

  async nodes(): Promise<NodeRecord[]> {
    const { redis, scripts, keys, nodeTimeoutMs } = this.options;
    const liveIds = await inStore(scripts.liveNodes(nodeTimeoutMs));
    const infos = await inStore(Promise.all(liveIds.map((id) => redis.hgetall(keys.nodeInfo(id)))));
    return infos
      .filter((info) => info.id !== undefined)
      .map((info) => ({
        id: info.id as string,
        url: info.url ?? "",
        startedAt: Number(info.startedAt),
        connections: Number(info.connections),
        lastSeenAt: Number(info.lastSeenAt),
        namespaces: parseNamespaces(info.namespaces),
        draining: info.draining === "1",
        ...(info.eventLoopLagMs === undefined ? {} : { eventLoopLagMs: Number(info.eventLoopLagMs) }),
      }));
  }

  async rooms(limit: number): Promise<RoomCount[]> {
    const { redis, scripts, keys, nodeTimeoutMs } = this.options;
    const liveIds = await inStore(scripts.liveNodes(nodeTimeoutMs));
    const refs = new Set<string>();
    for (const rooms of await inStore(Promise.all(liveIds.map((id) => redis.smembers(keys.nodeRooms(id)))))) {
      for (const ref of rooms) {
        if (refs.size >= limit * ROOM_CANDIDATES_PER_LISTED) break;
        refs.add(ref);
      }
    }
    const live = new Set(liveIds);
    const counted = await inStore(
      Promise.all(
        [...refs].map(async (ref) => {
          const { namespace, room } = parseRoomRef(ref);
          const counts = await redis.hgetall(keys.roomCounts(namespace, room));
          let members = 0;
          for (const [nodeId, count] of Object.entries(counts)) if (live.has(nodeId)) members += Number(count);
          return { namespace, room, members };
        }),
      ),
    );
    return counted
      .filter((room) => room.members > 0)
      .sort((first, second) => second.members - first.members)
      .slice(0, limit);
  }

  /** One heartbeat: say we are alive, repair what Redis lost, and clean up after dead nodes. */
  async heartbeatNow(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    const { scripts, node, nodeTimeoutMs, logger } = this.options;
    try {
      const wasUnlisted = await scripts.heartbeat({
        nodeId: node.id,
        url: node.url(),
        startedAt: node.startedAt,
        connections: node.connections(),
        infoTtlMs: nodeTimeoutMs * INFO_TTL_IN_TIMEOUTS,
        layout: LAYOUT_VERSION,
        namespaces: node.namespaceSockets(),
        ...node.health(),
      });
      if (wasUnlisted === 1) this.rewritesLeft = REWRITES_AFTER_UNLISTED;
      if (this.rewritesLeft > 0) {
        await this.rewriteMemberships();
        for (const ref of this.consumerCounts.keys()) this.pendingCounts.add(ref);
        this.rewritesLeft -= 1;
      }
      for (const ref of [...this.pendingCounts]) await this.writeConsumerCount(ref);
      this.lastHeartbeatAt = performance.now();
      await this.retryPendingLeaves();
      for (const deadId of await scripts.claimDeadNodes(nodeTimeoutMs, node.id)) await this.removeDeadNode(deadId);
    } catch (error) {
      logger.debug({ err: error }, "heartbeat failed");
    } finally {
      this.ticking = false;
    }
  }

  private async rewriteMemberships(): Promise<void> {
    const { redis, scripts, keys, node, logger } = this.options;
    const writes: Promise<unknown>[] = [];
    for (const membership of this.local.all()) {
      writes.push(redis.sadd(keys.nodeRooms(node.id), roomRef(membership.namespace, membership.room)));
      writes.push(scripts.roomJoin(node.id, membership));
    }
    if (writes.length === 0) return;
    await Promise.all(writes);
    logger.info({ memberships: writes.length / 2 }, "rewrote this node's room memberships into Redis");
  }

  private async retryPendingLeaves(): Promise<void> {
    for (const [key, membership] of this.pendingLeaves) {
      try {
        await this.options.scripts.roomLeave(this.options.node.id, membership);
        this.pendingLeaves.delete(key);
      } catch (error) {
        this.options.logger.debug({ err: error }, "a pending leave failed again");
      }
    }
  }

  private async removeDeadNode(deadId: string): Promise<void> {
    const { redis, scripts, keys, logger } = this.options;
    const rooms = await redis.smembers(keys.nodeRooms(deadId));
    await Promise.all(
      rooms.map((ref) => {
        const { namespace, room } = parseRoomRef(ref);
        return scripts.roomDropNode(deadId, namespace, room);
      }),
    );
    const queues = await redis.smembers(keys.nodeQueues(deadId));
    await Promise.all(
      queues.map((ref) => {
        const { namespace, queue } = parseQueueRef(ref);
        return redis.hdel(keys.queueConsumers(namespace, queue), deadId);
      }),
    );
    await redis.del(keys.nodeRooms(deadId), keys.nodeQueues(deadId), keys.nodeInfo(deadId));
    logger.info({ node: deadId, rooms: rooms.length }, "removed a dead node's room memberships");
  }
}

/** See `rewritesLeft`. */
const REWRITES_AFTER_UNLISTED = 2;

function pendingKey({ namespace, room, socket }: Membership): string {
  return `${namespace}\n${room}\n${socket}`;
}

/** Rooms looked at per room listed: the listing keeps the most populous of them. */
const ROOM_CANDIDATES_PER_LISTED = 10;

/** A node record's sockets per namespace; a node of an older release wrote none. */
function parseNamespaces(text: string | undefined): Record<string, number> {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}
