/**
 * The Lua scripts, loaded once from `packages/server/lua/*.lua`, and the only module that knows the
 * order of their KEYS and ARGV; their replies are decoded into named fields by script-replies.ts. Each
 * script runs by EVALSHA, falling back to EVAL after a Redis restart.
 */
import { readFileSync } from "node:fs";
import type { QueueTotals, SampledHistory, SlotClaim } from "../rate-samples.js";
import { parseQueueRef } from "../refs.js";
import type { RedisKeys } from "./keys.js";
import { LuaScript, type ScriptArgument } from "./lua-script.js";
import type { RedisClient } from "./redis-clients.js";
import {
  type AckReply,
  type ClaimReply,
  decode,
  type HistoryReply,
  type NackReply,
  type ReceiveReply,
  type RegistryPageReply,
  type ReleaseReply,
  type ReturnReply,
  type SendReply,
  type StatsReply,
  type SweepReply,
} from "./script-replies.js";

const LUA_FOLDER = new URL("../../../lua/", import.meta.url);
/** A line `--!include name` is replaced by lua/include/name.lua (Redis scripts have no modules). */
const INCLUDE_LINE = /^--!include ([a-z-]+)$/gm;

/**
 * What a script may do when Redis is full (`maxmemory` reached under `noeviction`, the policy Mailroom
 * needs). "deny": Redis refuses it before it starts (OOM, answered `UNAVAILABLE`), so no new message or
 * membership is accepted into a full Redis. "allow": it runs anyway, since it frees memory (acks, ends of
 * leases) or must go on for the cluster to drain a full Redis (deliveries, heartbeats, sweeps). Without the
 * `#!lua` line Redis would only check the first write of a script, which let writes through once a script
 * had removed something.
 */
type WhenFull = "deny" | "allow";

function lua(name: string, whenFull: WhenFull): string {
  const source = readFileSync(new URL(`${name}.lua`, LUA_FOLDER), "utf8");
  const shebang = whenFull === "allow" ? "#!lua flags=allow-oom\n" : "#!lua\n";
  return (
    shebang +
    source.replace(INCLUDE_LINE, (_line, include: string) =>
      readFileSync(new URL(`include/${include}.lua`, LUA_FOLDER), "utf8"),
    )
  );
}

const QUEUE_KEY_COUNT = 11;

const SCRIPTS = {
  heartbeat: { numberOfKeys: 2, lua: lua("heartbeat", "allow") },
  layoutUpgrade: { numberOfKeys: 2, lua: lua("layout-upgrade", "allow") },
  liveNodes: { numberOfKeys: 1, lua: lua("live-nodes", "allow") },
  claimDeadNodes: { numberOfKeys: 1, lua: lua("claim-dead-nodes", "allow") },
  roomJoin: { numberOfKeys: 2, lua: lua("room-join", "deny") },
  roomLeave: { numberOfKeys: 2, lua: lua("room-leave", "allow") },
  roomDropNode: { numberOfKeys: 2, lua: lua("room-drop-node", "allow") },
  roomPublish: { numberOfKeys: 2, lua: lua("room-publish", "deny") },
  // Allowed when full: a read writes at most a new epoch, and members must still get their position.
  roomHistory: { numberOfKeys: 2, lua: lua("room-history", "allow") },
  queueSend: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-send", "deny") },
  queueReceive: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-receive", "allow") },
  queueAck: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-ack", "allow") },
  queueNack: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-nack", "allow") },
  queueExtend: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-extend", "allow") },
  queueRelease: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-release", "allow") },
  queueReturn: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-return", "allow") },
  queueWithdraw: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-withdraw", "allow") },
  queueSweep: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-sweep", "allow") },
  queueStats: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-stats", "allow") },
  queuePurge: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-purge", "allow") },
  queuePeek: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-peek", "allow") },
  queueRedrive: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-redrive", "allow") },
  // Registering is allowed when full: its entry is small, once per queue, and a send it precedes is refused.
  queueRegister: { numberOfKeys: 3, lua: lua("queue-register", "allow") },
  queueRegistryPage: { numberOfKeys: 2, lua: lua("queue-registry-page", "allow") },
  queueRegistryForget: { numberOfKeys: 3, lua: lua("queue-registry-forget", "allow") },
  // The dashboard's rate samples: a claim is a small write that must go on when full (every node asks each
  // interval, and a refusal would only be logged); a sample adds data, so a full Redis refuses it.
  rateSampleClaim: { numberOfKeys: 1, lua: lua("rate-sample-claim", "allow") },
  rateSampleAppend: { numberOfKeys: 2, lua: lua("rate-sample-append", "deny") },
  rateSamplesRead: { numberOfKeys: 2, lua: lua("rate-samples-read", "allow") },
  // Two keys for a partition of the due index, three for layout 1's (with its one-level index). A fixed
  // number of keys, the partition's first: a cluster client routes a call by its first key.
  claimDueQueues: { numberOfKeys: 2, lua: lua("claim-due-queues", "allow") },
  claimLegacyDueQueues: { numberOfKeys: 3, lua: lua("claim-due-queues", "allow") },
  settleDueQueue: { numberOfKeys: 3, lua: lua("settle-due-queue", "allow") },
  markDueQueue: { numberOfKeys: 3, lua: lua("mark-due-queue", "allow") },
} as const;

type ScriptName = keyof typeof SCRIPTS;
const LOADED = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, { lua, numberOfKeys }]) => [name, new LuaScript(lua, numberOfKeys)]),
) as Record<ScriptName, LuaScript>;
/** Told how long each script call took, in seconds (for the Redis latency metric). */
export type ScriptTiming = (script: string, seconds: number) => void;

/** Where a queue script works: the queue and whether it is itself a dead-letter queue. */
export interface QueueTarget {
  namespace: string;
  queue: string;
  isDeadLetterQueue: boolean;
}

/** One message for `queueSend`, as the script takes it. */
export interface SendItem {
  id: string;
  chosenByProducer: boolean;
  delayMs: number;
  ttlMs: number;
  maxAttempts: number;
  group?: string | undefined;
  priority?: number | undefined;
  body: Buffer;
}

export interface HeartbeatArgs {
  nodeId: string;
  url: string;
  startedAt: number;
  connections: number;
  infoTtlMs: number;
  /** The layout this node reads and writes (layout.ts). */
  layout: number;
  /** Connected sockets per namespace. */
  namespaces: Record<string, number>;
  draining: boolean;
  eventLoopLagMs: number;
}

export interface Membership {
  namespace: string;
  room: string;
  socket: string;
  user?: string | undefined;
}

/**
 * Typed calls of every script on one client. Calls made in the same tick travel to Redis together, each
 * written at once: their round trips overlap.
 */
export class Scripts {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly timing?: ScriptTiming,
  ) {}

  async heartbeat(args: HeartbeatArgs): Promise<number> {
    const { nodeId, url, startedAt, connections, infoTtlMs, layout, namespaces, draining, eventLoopLagMs } = args;
    const keys = [this.keys.nodes(), this.keys.nodeInfo(nodeId)];
    const argv = [
      nodeId,
      url,
      startedAt,
      connections,
      infoTtlMs,
      layout,
      JSON.stringify(namespaces),
      draining ? "1" : "0",
      eventLoopLagMs,
    ];
    return decode.count(await this.run("heartbeat", keys, argv), "heartbeat");
  }

  /** Moves the data's layout to `target` when every live node reads it; returns the layout after. */
  async layoutUpgrade(nodeTimeoutMs: number, target: number): Promise<number> {
    const keys = [this.keys.nodes(), this.keys.layout()];
    const reply = await this.run("layoutUpgrade", keys, [nodeTimeoutMs, target, this.keys.nodeInfo("")]);
    return decode.count(reply, "layout-upgrade");
  }

  async liveNodes(timeoutMs: number): Promise<string[]> {
    return decode.strings(await this.run("liveNodes", [this.keys.nodes()], [timeoutMs]), "live-nodes");
  }

  /** The dead nodes (never `callerId`), claimed for the caller to clean up after. */
  async claimDeadNodes(timeoutMs: number, callerId: string): Promise<string[]> {
    const reply = await this.run("claimDeadNodes", [this.keys.nodes()], [timeoutMs, callerId]);
    return decode.strings(reply, "claim-dead-nodes");
  }

  async roomJoin(nodeId: string, member: Membership): Promise<number> {
    const reply = await this.run("roomJoin", this.roomKeys(member), [nodeId, member.socket, member.user ?? ""]);
    return decode.count(reply, "room-join");
  }

  async roomLeave(nodeId: string, member: Membership): Promise<number> {
    return decode.count(await this.run("roomLeave", this.roomKeys(member), [nodeId, member.socket]), "room-leave");
  }

  async roomDropNode(nodeId: string, namespace: string, room: string): Promise<number> {
    const reply = await this.run("roomDropNode", this.roomKeys({ namespace, room }), [nodeId]);
    return decode.count(reply, "room-drop-node");
  }

  /** Publishes to a room with history (room-publish.lua); `newEpoch` is used when the room has none. */
  async roomPublish(
    namespace: string,
    room: string,
    history: { newEpoch: string; size: number; ttlMs: number },
    body: Buffer,
  ): Promise<{ epoch: string; offset: number }> {
    const publish = this.keys.shardedChannels ? "SPUBLISH" : "PUBLISH";
    const channel = this.keys.roomChannel(namespace, room);
    const args = [publish, channel, history.newEpoch, history.size, history.ttlMs, body];
    return decode.roomPlace(await this.run("roomPublish", this.keys.roomHistoryKeys(namespace, room), args));
  }

  /** Reads a room's place and publications (room-history.lua); bulk replies as Buffers (binary data). */
  async roomHistory(
    namespace: string,
    room: string,
    history: { newEpoch: string; size: number; ttlMs: number },
    range: { after: number; tail: number },
  ): Promise<HistoryReply> {
    const keys = this.keys.roomHistoryKeys(namespace, room);
    const args = [history.newEpoch, history.ttlMs, range.after, range.tail, history.size];
    return decode.history(
      await this.timed("roomHistory", LOADED.roomHistory.run(this.client, [...keys, ...args], true)),
    );
  }

  /**
   * `push.token` starts the receipts of the leases pushed to standing consumers (as a receive's token);
   * one push carries at most `push.maxBytes` of stored messages.
   */
  async queueSend(
    target: QueueTarget,
    dedupWindowMs: number,
    push: { token: string; maxBytes: number },
    items: SendItem[],
  ): Promise<SendReply> {
    const wakeChannel = this.keys.wakeChannel(target.namespace, target.queue);
    const publish = this.keys.shardedChannels ? "SPUBLISH" : "PUBLISH";
    const args: ScriptArgument[] = [dedupWindowMs, publish, wakeChannel, push.token, push.maxBytes, items.length];
    for (const item of items) {
      const { id, chosenByProducer, delayMs, ttlMs, maxAttempts, group, priority, body } = item;
      args.push(id, chosenByProducer ? "1" : "0", delayMs, ttlMs, maxAttempts, group ?? "", priority ?? 0, body);
    }
    return decode.send(await this.runQueue("queueSend", target, args));
  }

  /**
   * Bulk strings come back as Buffers, so the stored entries need no copy. `standing`: the credit this
   * node's consumers leave standing when the receive empties the queue (queue-receive.lua ARGV[6..8]).
   */
  async queueReceive(
    target: QueueTarget,
    max: number,
    visibilityMs: number,
    token: string,
    byteBudget: number,
    standing: { credit: number; field: string; lifeMs: number },
  ): Promise<ReceiveReply> {
    const args = [max, visibilityMs, token, byteBudget, standing.credit, standing.field, standing.lifeMs];
    return decode.receive(await this.runQueue("queueReceive", target, args, { buffers: true }));
  }

  /** Puts pushed leases no consumer got back at the head, and withdraws `standingField` (empty: none). */
  async queueReturn(target: QueueTarget, standingField: string, receipts: string[]): Promise<ReturnReply> {
    return decode.returned(await this.runQueue("queueReturn", target, [standingField, ...receipts]));
  }

  async queueWithdraw(target: QueueTarget, standingField: string): Promise<number> {
    return decode.count(await this.runQueue("queueWithdraw", target, [standingField]), "queue-withdraw");
  }

  async queueAck(target: QueueTarget, receipts: string[]): Promise<AckReply> {
    return decode.ack(await this.runQueue("queueAck", target, receipts), receipts.length);
  }

  async queueNack(target: QueueTarget, receipt: string, requeue: boolean, delayMs: number): Promise<NackReply> {
    return decode.nack(await this.runQueue("queueNack", target, [receipt, requeue ? "1" : "0", delayMs]));
  }

  /** The new deadline, or undefined for a stale receipt. */
  async queueExtend(target: QueueTarget, receipt: string, visibilityMs: number): Promise<number | undefined> {
    return decode.extend(await this.runQueue("queueExtend", target, [receipt, visibilityMs]));
  }

  async queueRelease(target: QueueTarget, receipts: string[]): Promise<ReleaseReply> {
    return decode.release(await this.runQueue("queueRelease", target, receipts));
  }

  async queueSweep(target: QueueTarget, limit: number): Promise<SweepReply> {
    return decode.sweep(await this.runQueue("queueSweep", target, [limit]));
  }

  async queueStats(target: QueueTarget): Promise<StatsReply> {
    return decode.stats(await this.runQueue("queueStats", target, []));
  }

  /** Ids and stored entries (Buffers), changing nothing (queue-peek.lua). */
  async queuePeek(target: QueueTarget, which: string, limit: number): Promise<Array<{ id: string; entry: Buffer }>> {
    return decode.peek(await this.runQueue("queuePeek", target, [which, limit], { buffers: true }));
  }

  async queuePurge(target: QueueTarget): Promise<number> {
    return decode.count(await this.runQueue("queuePurge", target, []), "queue-purge");
  }

  async queueRedrive(target: QueueTarget): Promise<number> {
    return decode.count(await this.runQueue("queueRedrive", target, []), "queue-redrive");
  }

  /** Registers queues of one namespace (sent: stamps their last send too); returns how many were new. */
  async queueRegister(namespace: string, queues: string[], sent: boolean): Promise<number> {
    const keys = this.keys.queueRegistryKeys(namespace);
    return decode.count(await this.run("queueRegister", keys, [sent ? "1" : "0", ...queues]), "queue-register");
  }

  /** A page of the namespace's queue registry: the names after `after` (empty: from the start), in name order. */
  async queueRegistryPage(namespace: string, after: string, limit: number): Promise<RegistryPageReply> {
    const [names, sent] = this.keys.queueRegistryKeys(namespace) as [string, string];
    return decode.registryPage(await this.run("queueRegistryPage", [names, sent], [after, limit]));
  }

  /** Returns how many of these queues were forgotten (see queue-registry-forget.lua for which stay). */
  async queueRegistryForget(
    namespace: string,
    queues: string[],
    sentWindowMs: number,
    graceMs: number,
  ): Promise<number> {
    const keys = this.keys.queueRegistryKeys(namespace);
    const reply = await this.run("queueRegistryForget", keys, [sentWindowMs, graceMs, ...queues]);
    return decode.count(reply, "queue-registry-forget");
  }

  /** Claims the current slot's rate sample (rate-sample-claim.lua); undefined when another node did. */
  async rateSampleClaim(intervalMs: number, keepMs: number): Promise<SlotClaim | undefined> {
    const [claim] = this.keys.rateSampleKeys();
    return decode.slotClaim(await this.run("rateSampleClaim", [claim], [intervalMs, keepMs]));
  }

  /**
   * Appends the sample taken at `at` from these totals, keeping `maxSamples` for `keepMs`; false when a sample
   * as new was stored first (rate-sample-append.lua).
   */
  async rateSampleAppend(
    at: number,
    maxSamples: number,
    keepMs: number,
    totals: QueueTotals[],
    partial: boolean,
  ): Promise<boolean> {
    const [, samples, totalsKey] = this.keys.rateSampleKeys();
    const args: ScriptArgument[] = [at, maxSamples, keepMs, partial ? 1 : 0];
    for (const queue of totals) args.push(`${queue.namespace} ${queue.queue}`, queue.sent, queue.acked);
    const reply = await this.run("rateSampleAppend", [samples, totalsKey], args);
    return decode.count(reply, "rate-sample-append") === 1;
  }

  /** Adds queues ('<namespace> <queue>') to the set of those active since the last sample, for `keepMs`. */
  async rateSampleNoteActive(queues: string[], keepMs: number): Promise<void> {
    const key = this.keys.rateSampleActive();
    // Sent together (one round trip); on one connection, in this order.
    await Promise.all([this.client.sadd(key, ...queues), this.client.pexpire(key, keepMs)]);
  }

  /** Takes (removes and answers) up to `max` of the queues active since the last sample. */
  async rateSampleTakeActive(max: number): Promise<string[]> {
    return (await this.client.spop(this.keys.rateSampleActive(), max)) as string[];
  }

  async rateSamplesRead(): Promise<SampledHistory> {
    const [, samples, totals] = this.keys.rateSampleKeys();
    return decode.rateSamples(await this.run("rateSamplesRead", [samples, totals], []));
  }

  /** The claimed queues of one partition of the due index, a share for each namespace with due work. */
  async claimDueQueues(partition: number, limit: number, claimMs: number): Promise<ClaimReply> {
    const keys = this.keys.duePartitionKeys(partition);
    const queuesPrefix = this.keys.duePartitionQueuesPrefix(partition);
    const reply = await this.run("claimDueQueues", keys, [limit, claimMs, queuesPrefix]);
    return decode.claims(reply);
  }

  /** Claims from layout 1's due index, which no node of layout 2 marks (see keys.ts `legacyDueKeys`). */
  async claimLegacyDueQueues(limit: number, claimMs: number): Promise<ClaimReply> {
    const keys = this.keys.legacyDueKeys();
    const queuesPrefix = this.keys.legacyDueQueuesPrefix();
    const reply = await this.run("claimLegacyDueQueues", keys, [limit, claimMs, queuesPrefix]);
    return decode.claims(reply);
  }

  /**
   * Returns 1 when settled, 0 when a mark since the claim leaves it to another sweep. A claim from layout
   * 1's index (`legacy`) is settled there.
   */
  async settleDueQueue(ref: string, generation: string, nextDue: number, legacy = false): Promise<number> {
    const { namespace, queue } = parseQueueRef(ref);
    const keys = legacy ? this.legacyScheduleKeys(namespace) : this.scheduleKeys(namespace, queue);
    const reply = await this.run("settleDueQueue", keys, [ref, generation, nextDue, namespace]);
    return decode.count(reply, "settle-due-queue");
  }

  /** Marks a real deadline of the queue (never "now" for a look: that would let one namespace crowd the index). */
  async markDueQueue(ref: string, due: number): Promise<number> {
    const { namespace, queue } = parseQueueRef(ref);
    return decode.count(
      await this.run("markDueQueue", this.scheduleKeys(namespace, queue), [ref, due, namespace]),
      "mark-due-queue",
    );
  }

  /** `buffers`: bulk replies as Buffers (stored entries, no copy), else as strings. */
  private runQueue(name: ScriptName, target: QueueTarget, args: ScriptArgument[], { buffers = false } = {}) {
    const keys = this.keys.queueScriptKeys(target.namespace, target.queue);
    const keysThenArgs = [...keys, target.isDeadLetterQueue ? "1" : "0", ...args];
    return this.timed(name, LOADED[name].run(this.client, keysThenArgs, buffers));
  }

  /** The keys of mark-due-queue.lua and settle-due-queue.lua: those of the queue's partition. */
  private scheduleKeys(namespace: string, queue: string): string[] {
    const partition = this.keys.duePartitionOfQueue(namespace, queue);
    return [...this.keys.duePartitionKeys(partition), this.keys.duePartitionQueuesPrefix(partition) + namespace];
  }

  private legacyScheduleKeys(namespace: string): string[] {
    const [namespaces, generations] = this.keys.legacyDueKeys();
    return [namespaces, generations, this.keys.legacyDueQueuesPrefix() + namespace];
  }

  private run(name: ScriptName, keys: string[], args: ScriptArgument[]): Promise<unknown> {
    return this.timed(name, LOADED[name].run(this.client, [...keys, ...args]));
  }

  private timed(name: ScriptName, call: Promise<unknown>): Promise<unknown> {
    const { timing } = this;
    if (!timing) return call;
    const started = performance.now();
    const record = () => timing(name, (performance.now() - started) / 1000);
    call.then(record, record);
    return call;
  }

  private roomKeys({ namespace, room }: { namespace: string; room: string }): string[] {
    return [this.keys.roomMembers(namespace, room), this.keys.roomCounts(namespace, room)];
  }
}
