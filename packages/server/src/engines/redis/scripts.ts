/**
 * The Lua scripts, loaded once from `packages/server/lua/*.lua`, and the only module that knows the
 * order of their KEYS and ARGV. Each script runs by EVALSHA, falling back to EVAL after a Redis restart.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { parseQueueRef } from "../refs.js";
import type { RedisKeys } from "./keys.js";

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

const QUEUE_KEY_COUNT = 10;

const SCRIPTS = {
  heartbeat: { numberOfKeys: 2, lua: lua("heartbeat", "allow") },
  liveNodes: { numberOfKeys: 1, lua: lua("live-nodes", "allow") },
  claimDeadNodes: { numberOfKeys: 1, lua: lua("claim-dead-nodes", "allow") },
  roomJoin: { numberOfKeys: 2, lua: lua("room-join", "deny") },
  roomLeave: { numberOfKeys: 2, lua: lua("room-leave", "allow") },
  roomDropNode: { numberOfKeys: 2, lua: lua("room-drop-node", "allow") },
  queueSend: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-send", "deny") },
  queueReceive: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-receive", "allow") },
  queueAck: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-ack", "allow") },
  queueNack: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-nack", "allow") },
  queueExtend: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-extend", "allow") },
  queueRelease: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-release", "allow") },
  queueSweep: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-sweep", "allow") },
  queueStats: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-stats", "allow") },
  queuePurge: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-purge", "allow") },
  queueRedrive: { numberOfKeys: QUEUE_KEY_COUNT, lua: lua("queue-redrive", "allow") },
  // Registering is allowed when full: its entry is small, once per queue, and a send it precedes is refused.
  queueRegister: { numberOfKeys: 3, lua: lua("queue-register", "allow") },
  queueRegistryPage: { numberOfKeys: 2, lua: lua("queue-registry-page", "allow") },
  queueRegistryForget: { numberOfKeys: 3, lua: lua("queue-registry-forget", "allow") },
  claimDueQueues: { numberOfKeys: 3, lua: lua("claim-due-queues", "allow") },
  settleDueQueue: { numberOfKeys: 3, lua: lua("settle-due-queue", "allow") },
  markDueQueue: { numberOfKeys: 3, lua: lua("mark-due-queue", "allow") },
} as const;

type ScriptName = keyof typeof SCRIPTS;
/** Told how long each script call took, in seconds (for the Redis latency metric). */
export type ScriptTiming = (script: string, seconds: number) => void;
type Argument = string | number | Buffer;
type ScriptRunner = (...keysThenArgs: Argument[]) => Promise<unknown>;
/** What `defineCommand` adds to a client: `name` replies with strings, `nameBuffer` with Buffers. */
type WithScripts = Record<ScriptName | `${ScriptName}Buffer`, ScriptRunner>;

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
  body: Buffer;
}

/** What `queueRegistryPage` answers: Redis's clock (ms) and each queue with its last send (ms; 0 = none). */
export interface RegistryPageReply {
  now: number;
  queues: Array<{ name: string; lastSentAt: number }>;
}

export interface HeartbeatArgs {
  nodeId: string;
  url: string;
  startedAt: number;
  connections: number;
  infoTtlMs: number;
}

export interface Membership {
  namespace: string;
  room: string;
  socket: string;
  user?: string | undefined;
}

/**
 * Typed calls of every script on one client. The client auto-pipelines: calls made in the same tick
 * travel to Redis in one round trip.
 */
export class Scripts {
  private readonly target: WithScripts;

  constructor(
    client: Redis,
    private readonly keys: RedisKeys,
    private readonly timing?: ScriptTiming,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition);
    this.target = client as unknown as WithScripts;
  }

  heartbeat(args: HeartbeatArgs): Promise<number> {
    const { nodeId, url, startedAt, connections, infoTtlMs } = args;
    return this.run(
      "heartbeat",
      [this.keys.nodes(), this.keys.nodeInfo(nodeId)],
      [nodeId, url, startedAt, connections, infoTtlMs],
    ) as Promise<number>;
  }

  liveNodes(timeoutMs: number): Promise<string[]> {
    return this.run("liveNodes", [this.keys.nodes()], [timeoutMs]) as Promise<string[]>;
  }

  claimDeadNodes(timeoutMs: number): Promise<string[]> {
    return this.run("claimDeadNodes", [this.keys.nodes()], [timeoutMs]) as Promise<string[]>;
  }

  roomJoin(nodeId: string, member: Membership): Promise<number> {
    return this.run("roomJoin", this.roomKeys(member), [nodeId, member.socket, member.user ?? ""]) as Promise<number>;
  }

  roomLeave(nodeId: string, member: Membership): Promise<number> {
    return this.run("roomLeave", this.roomKeys(member), [nodeId, member.socket]) as Promise<number>;
  }

  roomDropNode(nodeId: string, namespace: string, room: string): Promise<number> {
    return this.run("roomDropNode", this.roomKeys({ namespace, room }), [nodeId]) as Promise<number>;
  }

  /** Returns { wasEmpty, earliest due, duplicate flag per message }. */
  queueSend(target: QueueTarget, dedupWindowMs: number, items: SendItem[]): Promise<number[]> {
    const wakeChannel = this.keys.wakeChannel(target.namespace, target.queue);
    const args: Argument[] = [dedupWindowMs, wakeChannel, items.length];
    for (const item of items) {
      args.push(item.id, item.chosenByProducer ? "1" : "0", item.delayMs, item.ttlMs, item.maxAttempts, item.body);
    }
    return this.runQueue("queueSend", target, args) as Promise<number[]>;
  }

  /** Returns { deadline, remaining, expired, then id, receipt and stored entry per message }, bulk strings as Buffers. */
  queueReceive(
    target: QueueTarget,
    max: number,
    visibilityMs: number,
    token: string,
    byteBudget: number,
  ): Promise<unknown[]> {
    return this.runQueue("queueReceiveBuffer", target, [max, visibilityMs, token, byteBudget]) as Promise<unknown[]>;
  }

  /** Returns { acked, then the 1-based positions of stale receipts }. */
  queueAck(target: QueueTarget, receipts: string[]): Promise<number[]> {
    return this.runQueue("queueAck", target, receipts) as Promise<number[]>;
  }

  /** Returns { current, deadLettered, wasEmpty, due }. */
  queueNack(target: QueueTarget, receipt: string, requeue: boolean, delayMs: number): Promise<number[]> {
    return this.runQueue("queueNack", target, [receipt, requeue ? "1" : "0", delayMs]) as Promise<number[]>;
  }

  /** Returns the new deadline, or 0 for a stale receipt. */
  queueExtend(target: QueueTarget, receipt: string, visibilityMs: number): Promise<number> {
    return this.runQueue("queueExtend", target, [receipt, visibilityMs]) as Promise<number>;
  }

  /** Returns { ended, wasEmpty, dead-lettered }. */
  queueRelease(target: QueueTarget, receipts: string[]): Promise<number[]> {
    return this.runQueue("queueRelease", target, receipts) as Promise<number[]>;
  }

  /** Returns { wasFilled, next due, more, dead-lettered }. */
  queueSweep(target: QueueTarget, limit: number): Promise<number[]> {
    return this.runQueue("queueSweep", target, [limit]) as Promise<number[]>;
  }

  /** Returns { ready, inflight, delayed, deadLettered, expired, discarded }. */
  queueStats(target: QueueTarget): Promise<number[]> {
    return this.runQueue("queueStats", target, []) as Promise<number[]>;
  }

  queuePurge(target: QueueTarget): Promise<number> {
    return this.runQueue("queuePurge", target, []) as Promise<number>;
  }

  queueRedrive(target: QueueTarget): Promise<number> {
    return this.runQueue("queueRedrive", target, []) as Promise<number>;
  }

  /** Registers queues of one namespace (sent: stamps their last send too); returns how many were new. */
  queueRegister(namespace: string, queues: string[], sent: boolean): Promise<number> {
    const keys = this.keys.queueRegistryKeys(namespace);
    return this.run("queueRegister", keys, [sent ? "1" : "0", ...queues]) as Promise<number>;
  }

  /** A page of the namespace's queue registry: the names after `after` (empty: from the start), in name order. */
  async queueRegistryPage(namespace: string, after: string, limit: number): Promise<RegistryPageReply> {
    const [names, sent] = this.keys.queueRegistryKeys(namespace) as [string, string];
    const reply = (await this.run("queueRegistryPage", [names, sent], [after, limit])) as Array<string | number>;
    const queues: RegistryPageReply["queues"] = [];
    for (let index = 1; index < reply.length; index += 2) {
      queues.push({ name: String(reply[index]), lastSentAt: Number(reply[index + 1]) });
    }
    return { now: Number(reply[0]), queues };
  }

  /** Returns how many of these queues were forgotten (see queue-registry-forget.lua for which stay). */
  queueRegistryForget(namespace: string, queues: string[], sentWindowMs: number, graceMs: number): Promise<number> {
    const keys = this.keys.queueRegistryKeys(namespace);
    return this.run("queueRegistryForget", keys, [sentWindowMs, graceMs, ...queues]) as Promise<number>;
  }

  /** Returns { queue ref, generation, ... } of the claimed queues, a share for each namespace with due work. */
  claimDueQueues(limit: number, claimMs: number): Promise<string[]> {
    const keys = [this.keys.dueNamespaces(), this.keys.dueGenerations(), this.keys.legacyDueQueues()];
    return this.run("claimDueQueues", keys, [limit, claimMs, this.keys.dueQueuesPrefix()]) as Promise<string[]>;
  }

  settleDueQueue(ref: string, generation: string, nextDue: number): Promise<number> {
    const { namespace } = parseQueueRef(ref);
    return this.run("settleDueQueue", this.scheduleKeys(namespace), [
      ref,
      generation,
      nextDue,
      namespace,
    ]) as Promise<number>;
  }

  /** Marks a real deadline of the queue (never "now" for a look: that would let one namespace crowd the index). */
  markDueQueue(ref: string, due: number): Promise<number> {
    const { namespace } = parseQueueRef(ref);
    return this.run("markDueQueue", this.scheduleKeys(namespace), [ref, due, namespace]) as Promise<number>;
  }

  private runQueue(name: `${ScriptName}` | `${ScriptName}Buffer`, target: QueueTarget, args: Argument[]) {
    const keys = this.keys.queueScriptKeys(target.namespace, target.queue);
    return this.timed(name, this.target[name](...keys, target.isDeadLetterQueue ? "1" : "0", ...args));
  }

  private scheduleKeys(namespace: string): string[] {
    return [this.keys.dueNamespaces(), this.keys.dueGenerations(), this.keys.dueQueues(namespace)];
  }

  private run(name: ScriptName, keys: string[], args: Argument[]): Promise<unknown> {
    return this.timed(name, this.target[name](...keys, ...args));
  }

  private timed(name: string, call: Promise<unknown>): Promise<unknown> {
    const { timing } = this;
    if (!timing) return call;
    const started = performance.now();
    const record = () => timing(name.replace(/Buffer$/, ""), (performance.now() - started) / 1000);
    call.then(record, record);
    return call;
  }

  private roomKeys({ namespace, room }: { namespace: string; room: string }): string[] {
    return [this.keys.roomMembers(namespace, room), this.keys.roomCounts(namespace, room)];
  }
}
