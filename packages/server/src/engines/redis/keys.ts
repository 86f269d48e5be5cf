/**
 * Every Redis key and channel name Mailroom uses, built in this one module.
 * Names from clients are data: a room is URI-encoded, so it can hold neither a hash-tag brace nor a
 * separator. Keys that one script touches together share a hash tag, so every script stays in one slot
 * of a Redis Cluster.
 */
import { DUE_PARTITION_TAGS, duePartitionOfKey } from "./due-partitions.js";

export class RedisKeys {
  /**
   * @param shardedChannels whether Mailroom's own channels are sharded (SPUBLISH, SSUBSCRIBE), as on a
   * Redis Cluster, where each lives in a slot like a key
   */
  constructor(
    readonly prefix: string,
    readonly shardedChannels = false,
  ) {}

  /** Sorted set: node id -> its last heartbeat (ms, Redis time). */
  nodes(): string {
    return `${this.prefix}:{cluster}:nodes`;
  }

  /** String: the cluster's epoch, a random value a Redis that lost its data no longer holds (see epoch.ts). */
  epoch(): string {
    return `${this.prefix}:{cluster}:epoch`;
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

  /**
   * The keys of a room's history, in the order of room-publish.lua and room-history.lua: its meta (hash:
   * epoch, last offset) and its history (stream), under the room's hash tag like its members.
   */
  roomHistoryKeys(namespace: string, room: string): [meta: string, history: string] {
    const base = `${this.prefix}:room:{${this.roomTag(namespace, room)}}`;
    return [`${base}:history-meta`, `${base}:history`];
  }

  /**
   * Channel: a room's publications with their offsets (room-publish.lua), heard by the nodes that hold
   * members of the room. Sharded on a Redis Cluster (SPUBLISH), under the room's hash tag.
   */
  roomChannel(namespace: string, room: string): string {
    return `${this.prefix}:room:{${this.roomTag(namespace, room)}}:publications`;
  }

  /**
   * The 11 keys of a queue script, in the order of lua/include/queue-keys.lua: the queue's own, then its
   * dead-letter queue's. A queue and its `.dlq` share one hash tag (the name without `.dlq` suffixes), so
   * dead-lettering and redrive are atomic in one slot.
   */
  queueScriptKeys(namespace: string, queue: string): string[] {
    const own = this.queueBase(namespace, queue);
    const deadLetter = this.queueBase(namespace, `${queue}.dlq`);
    const tag = this.queueTag(namespace, queue);
    return [
      `${own}:ready`,
      `${own}:messages`,
      `${own}:inflight`,
      `${own}:delayed`,
      `${own}:dedup`,
      `${own}:counters`,
      `${this.prefix}:q:{${tag}}:seq`,
      `${deadLetter}:ready`,
      `${deadLetter}:messages`,
      `${deadLetter}:delayed`,
      `${own}:standing`,
    ];
  }

  /**
   * The queue registry of a namespace (queues/queue-registry.ts), in the order of the registry scripts:
   * - names: sorted set, queue name -> 0 (every score 0, so ZRANGEBYLEX reads it in name order)
   * - sent: hash, queue name -> when a send last registered it (ms, Redis time)
   * - seen: hash, queue name -> when it was last registered, for any reason (ms, Redis time)
   * One registry per namespace under the namespace's own hash tag: a registry script stays in one slot, and
   * namespaces spread over a cluster's masters.
   */
  queueRegistryKeys(namespace: string): string[] {
    const base = `${this.prefix}:queue-registry:{${namespace}}`;
    return [`${base}:names`, `${base}:sent`, `${base}:seen`];
  }

  /** Set: the namespaces whose queue registry has had queues (the dashboard's and `/v1/namespaces`' list). */
  queueNamespaces(): string {
    return `${this.prefix}:{cluster}:queue-namespaces`;
  }

  /** String: set (to the time, ms) once the queue registry holds the queues made before it existed. */
  queueRegistryBuilt(): string {
    return `${this.prefix}:{cluster}:queue-registry-built`;
  }

  /** String: the id of the node running the registry's migration now, with a TTL (a lease). */
  queueRegistryMigrationLease(): string {
    return `${this.prefix}:{cluster}:queue-registry-migration`;
  }

  /** A SCAN pattern that matches the keys of every queue of every namespace (for the registry's migration). */
  queueKeysPattern(): string {
    return `${escapeGlob(this.prefix)}:q:{*`;
  }

  /**
   * The queue whose `messages` or `consumers` hash this key is (keys that `queueKeysPattern` matches);
   * undefined for any other key. The namespace holds no colon, so the tag is "<namespace>:<queue family>";
   * queue names hold no brace, so the first `}:` after the tag's start closes it.
   */
  queueOfKey(key: string): { namespace: string; queue: string } | undefined {
    const start = `${this.prefix}:q:{`;
    if (!key.startsWith(start)) return undefined;
    const suffix = QUEUE_KEYS_OF_EXISTENCE.find((name) => key.endsWith(`:${name}`));
    if (suffix === undefined) return undefined;
    const namespaceEnd = key.indexOf(":", start.length);
    const tagEnd = key.indexOf("}:", start.length);
    if (namespaceEnd < 0 || tagEnd < namespaceEnd) return undefined;
    const queue = key.slice(tagEnd + 2, key.length - suffix.length - 1);
    const namespace = key.slice(start.length, namespaceEnd);
    if (!STORED_NAMESPACE.test(namespace) || !STORED_QUEUE.test(queue)) return undefined;
    return { namespace, queue };
  }

  /** Hash: node id -> how many consumers of the queue that node holds. */
  queueConsumers(namespace: string, queue: string): string {
    return `${this.queueBase(namespace, queue)}:consumers`;
  }

  /** Set: the queues in which a node holds consumers, each as `queueRef(namespace, queue)`. */
  nodeQueues(nodeId: string): string {
    return `${this.prefix}:{cluster}:node:${nodeId}:queues`;
  }

  /**
   * The keys of the dashboard's rate samples (rate-samples.ts), in the order of the rate-sample scripts,
   * one set for the cluster under the `{cluster}` tag:
   * - claim: string, the start of the last slot a node claimed (ms, Redis time)
   * - samples: list, the samples oldest first (rate-sample-append.lua writes their format)
   * - totals: hash, '<namespace> <queue>' -> '<sent> <acked>', the queues' totals at the newest sample
   */
  rateSampleKeys(): [claim: string, samples: string, totals: string] {
    const base = `${this.prefix}:{cluster}:rate-sample`;
    return [`${base}-claim`, `${base}s`, `${base}-totals`];
  }

  /**
   * Set: the queues sent to or acked from since the last rate sample, '<namespace> <queue>', added by each
   * node at its claims and popped by the claimer (redis-rate-samples.ts).
   */
  rateSampleActive(): string {
    return `${this.prefix}:{cluster}:rate-sample-active`;
  }

  /** String: the version of the layout of Mailroom's data in Redis (layout.ts). */
  layout(): string {
    return `${this.prefix}:{cluster}:layout`;
  }

  /**
   * The keys of one partition of the due-time index (due-partitions.ts), in the order of the due scripts:
   * - namespaces: sorted set, the first level: namespace -> the earliest time one of its queues in this
   *   partition has a lease deadline or a delay due (ms). The claim takes turns across the namespaces.
   * - generations: hash, queue ref -> generation, bumped whenever the queue's due time is marked.
   * The second level, a sorted set per namespace (queue ref -> when it next has timed work), is
   * `duePartitionQueuesPrefix(partition) + namespace`, in the same slot.
   */
  duePartitionKeys(partition: number): [namespaces: string, generations: string] {
    const base = this.duePartitionBase(partition);
    return [`${base}:namespaces`, `${base}:generations`];
  }

  /** The partition of the due index that holds a queue's timed work: the one in its own slot range. */
  duePartitionOfQueue(namespace: string, queue: string): number {
    return duePartitionOfKey(`{${this.queueTag(namespace, queue)}}`);
  }

  /** What a partition's second-level key puts before the namespace (the claim script builds the names). */
  duePartitionQueuesPrefix(partition: number): string {
    return `${this.duePartitionBase(partition)}:queues:`;
  }

  /**
   * The due-time index of layout 1, one for the whole cluster under the `{schedule}` tag: `[namespaces,
   * generations, one-level index of the first release]`. Nodes of layout 2 sweep what is left in it (a
   * node of the previous release may still write to it during a rolling upgrade) and mark nothing there.
   */
  legacyDueKeys(): [namespaces: string, generations: string, oneLevel: string] {
    return [
      `${this.prefix}:{schedule}:due-namespaces`,
      `${this.prefix}:{schedule}:generations`,
      `${this.prefix}:{schedule}:due`,
    ];
  }

  /** What layout 1's second-level key puts before the namespace. */
  legacyDueQueuesPrefix(): string {
    return `${this.prefix}:{schedule}:due-queues:`;
  }

  /**
   * Channel: messages became ready in the queue (a wake-up for nodes with its consumers). On a Redis
   * Cluster it is a sharded channel under the queue's hash tag, since the send script publishes it
   * (SPUBLISH) and a script stays in its keys' slot; elsewhere its name is layout 1's, so nodes of both
   * layouts hear each other during a rolling upgrade.
   */
  wakeChannel(namespace: string, queue: string): string {
    if (this.shardedChannels) return `${this.prefix}:wake:{${this.queueTag(namespace, queue)}}:${queue}`;
    return `${this.prefix}:wake:${namespace}:${queue}`;
  }

  /**
   * The field of a node's standing credit in a queue's `standing` hash (queue-keys.lua KEYS[11]), for its
   * consumers of that visibility; queue-send.lua reads the node and visibility back out of it.
   */
  standingField(nodeId: string, visibilityMs: number): string {
    return `${nodeId}/${visibilityMs}`;
  }

  /**
   * The channel on which sends lease a queue's messages straight to this node's consumers (push
   * delivery, queue-send.lua derives the same name): the wake-up channel's, so the same slot on a cluster.
   */
  pushChannel(namespace: string, queue: string, nodeId: string): string {
    return `${this.wakeChannel(namespace, queue)}/${nodeId}`;
  }

  /** Channel on which a node checks that its own subscriber connection still receives. */
  probeChannel(nodeId: string): string {
    return this.shardedChannels ? `${this.prefix}:probe:{${nodeId}}` : `${this.prefix}:probe:${nodeId}`;
  }

  private duePartitionBase(partition: number): string {
    const tag = DUE_PARTITION_TAGS[partition];
    if (tag === undefined) throw new RangeError(`no due partition ${partition}`);
    return `${this.prefix}:{${tag}}`;
  }

  private queueBase(namespace: string, queue: string): string {
    return `${this.prefix}:q:{${this.queueTag(namespace, queue)}}:${queue}`;
  }

  /** Namespace and queue name without its `.dlq` suffixes: a queue and its dead letters share a slot. */
  private queueTag(namespace: string, queue: string): string {
    return `${namespace}:${queue.replace(/(\.dlq)+$/, "")}`;
  }

  private roomTag(namespace: string, room: string): string {
    return `${namespace}:${encodeURIComponent(room)}`;
  }
}

/** The keys a queue has while it holds messages (`messages`) or consumers (`consumers`). */
const QUEUE_KEYS_OF_EXISTENCE = ["messages", "consumers"] as const;
/** What a stored namespace and queue look like (docs/protocol.md §1; a `.dlq` name may be 4 chars longer). */
const STORED_NAMESPACE = /^\/[A-Za-z0-9_-]*$/;
const STORED_QUEUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Escapes the characters that Redis glob patterns (SCAN MATCH) treat as special. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
