/**
 * The replies of the Lua scripts, decoded in one place, per script, into named fields (the order of a
 * script's reply is written in its header, and known here only). A reply of the wrong shape is a bug
 * between a script and this module: it throws `INTERNAL` naming the script, never a wrong value.
 */
import { MailroomError } from "@mailroom/protocol";
import type { QueueGrowth, QueueTotals, RateSample, SampledHistory, SlotClaim } from "../rate-samples.js";

export interface SendReply {
  /** The queue was empty before (the script published its wake-up itself). */
  wasEmpty: boolean;
  /** The earliest delay or expiry the send added (ms, Redis time); 0 when none. */
  earliestDue: number;
  /** The earliest deadline of the leases it pushed to standing consumers (ms, Redis time); 0 when none. */
  pushedDeadline: number;
  /** Whether the due index already has a due at or before `pushedDeadline`: no mark is needed. */
  pushedDueCovered: boolean;
  /** Per message, in order: whether it was a duplicate and not stored again. */
  duplicates: boolean[];
}

/** One leased message: its stored entry as it is ("seq|attempt|…|reason|" then the body). */
export interface ReceivedEntry {
  id: string;
  receipt: string;
  entry: Buffer;
}

export interface ReceiveReply {
  /** The leases' deadline (ms, Redis time). */
  deadline: number;
  /** Messages still ready after this receive. */
  remaining: number;
  /** Expired messages met and discarded. */
  expired: number;
  /** Whether the due index already has a due at or before the deadline: no mark is needed. */
  dueCovered: boolean;
  /** The last acceptance seq pushed to this node (0 = none): its push may still be on its way. */
  pushedThrough: number;
  entries: ReceivedEntry[];
}

export interface AckReply {
  acked: number;
  /** A group's next message became takeable: the queue's consumers are to be woken. */
  wake: boolean;
  /** Per receipt, in order: whether it matched a current lease. */
  current: boolean[];
}

export interface NackReply {
  current: boolean;
  deadLettered: boolean;
  wasEmpty: boolean;
  /** When the requeued message is due (ms), with a delay; 0 otherwise. */
  due: number;
}

export interface ReleaseReply {
  ended: number;
  wasEmpty: boolean;
  deadLettered: number;
}

export interface SweepReply {
  /** The ready list went from empty to not. */
  wasFilled: boolean;
  /** When the queue next has timed work (ms); 0 when none. */
  nextDue: number;
  /** Work was left for another call. */
  more: boolean;
  deadLettered: number;
}

/** What returning undelivered pushed leases answers. */
export interface ReturnReply {
  ended: number;
  wasEmpty: boolean;
}

export interface StatsReply {
  ready: number;
  inflight: number;
  delayed: number;
  deadLettered: number;
  expired: number;
  discarded: number;
  groups: number;
  sent: number;
  acked: number;
}

export interface ClaimedQueue {
  ref: string;
  /** Its generation at the claim, for settle-due-queue.lua. */
  generation: string;
}

/** What a claim of due queues answers: the queues, and in how long the index next has due work. */
export interface ClaimReply {
  claimed: ClaimedQueue[];
  /** Ms from now (Redis's clock) to the index's next due work; undefined when it holds none. */
  nextDueInMs: number | undefined;
}

/** What `queueRegistryPage` answers: Redis's clock (ms) and each queue with its last send (ms; 0 = none). */
export interface RegistryPageReply {
  now: number;
  queues: Array<{ name: string; lastSentAt: number }>;
}

/** A room's place in its history and the publications read, each still encoded (room-history.lua). */
export interface HistoryReply {
  epoch: string;
  offset: number;
  entries: Array<{ offset: number; body: Buffer }>;
}

export const decode = {
  roomPlace(reply: unknown): { epoch: string; offset: number } {
    const [epoch, offset] = list(reply, "room-publish");
    return { epoch: String(epoch), offset: integer(offset, "room-publish") };
  },

  history(reply: unknown): HistoryReply {
    const items = list(reply, "room-history");
    const entries: HistoryReply["entries"] = [];
    for (let index = 2; index + 1 < items.length; index += 2) {
      const body = items[index + 1];
      if (!Buffer.isBuffer(body)) throw malformed("room-history");
      entries.push({ offset: integer(items[index], "room-history"), body });
    }
    return { epoch: String(items[0]), offset: integer(items[1], "room-history"), entries };
  },

  send(reply: unknown): SendReply {
    const [wasEmpty, earliestDue, pushedDeadline, pushedDueCovered, ...duplicates] = integers(reply, "queue-send");
    return {
      wasEmpty: wasEmpty === 1,
      earliestDue: earliestDue ?? 0,
      pushedDeadline: pushedDeadline ?? 0,
      pushedDueCovered: pushedDueCovered === 1,
      duplicates: duplicates.map((flag) => flag === 1),
    };
  },

  receive(reply: unknown): ReceiveReply {
    const items = list(reply, "queue-receive");
    const entries: ReceivedEntry[] = [];
    for (let index = 5; index + 2 < items.length; index += 3) {
      const entry = items[index + 2];
      if (!Buffer.isBuffer(entry)) throw malformed("queue-receive");
      entries.push({ id: String(items[index]), receipt: String(items[index + 1]), entry });
    }
    return {
      deadline: integer(items[0], "queue-receive"),
      remaining: integer(items[1], "queue-receive"),
      expired: integer(items[2], "queue-receive"),
      dueCovered: items[3] === 1,
      pushedThrough: integer(items[4], "queue-receive"),
      entries,
    };
  },

  /** The script answers the number acked, the wake flag, then the 1-based positions of the stale receipts. */
  ack(reply: unknown, receiptCount: number): AckReply {
    const [acked, wake, ...stalePositions] = integers(reply, "queue-ack");
    const current = Array.from({ length: receiptCount }, () => true);
    for (const position of stalePositions) current[position - 1] = false;
    return { acked: acked ?? 0, wake: wake === 1, current };
  },

  nack(reply: unknown): NackReply {
    const [current, deadLettered, wasEmpty, due] = integers(reply, "queue-nack");
    return { current: current === 1, deadLettered: deadLettered === 1, wasEmpty: wasEmpty === 1, due: due ?? 0 };
  },

  /** The new deadline (ms), or undefined for a stale receipt. */
  extend(reply: unknown): number | undefined {
    const deadline = integer(reply, "queue-extend");
    return deadline > 0 ? deadline : undefined;
  },

  returned(reply: unknown): ReturnReply {
    const [ended, wasEmpty] = integers(reply, "queue-return");
    return { ended: ended ?? 0, wasEmpty: wasEmpty === 1 };
  },

  release(reply: unknown): ReleaseReply {
    const [ended, wasEmpty, deadLettered] = integers(reply, "queue-release");
    return { ended: ended ?? 0, wasEmpty: wasEmpty === 1, deadLettered: deadLettered ?? 0 };
  },

  sweep(reply: unknown): SweepReply {
    const [wasFilled, nextDue, more, deadLettered] = integers(reply, "queue-sweep");
    return { wasFilled: wasFilled === 1, nextDue: nextDue ?? 0, more: more === 1, deadLettered: deadLettered ?? 0 };
  },

  stats(reply: unknown): StatsReply {
    const [ready, inflight, delayed, deadLettered, expired, discarded, groups, sent, acked] = integers(
      reply,
      "queue-stats",
    );
    return {
      ready: ready ?? 0,
      inflight: inflight ?? 0,
      delayed: delayed ?? 0,
      deadLettered: deadLettered ?? 0,
      expired: expired ?? 0,
      discarded: discarded ?? 0,
      groups: groups ?? 0,
      sent: sent ?? 0,
      acked: acked ?? 0,
    };
  },

  claims(reply: unknown): ClaimReply {
    const items = list(reply, "claim-due-queues");
    const claimed: ClaimedQueue[] = [];
    for (let index = 1; index + 1 < items.length; index += 2) {
      claimed.push({ ref: String(items[index]), generation: String(items[index + 1]) });
    }
    const nextDueIn = integer(items[0], "claim-due-queues");
    return { claimed, nextDueInMs: nextDueIn < 0 ? undefined : nextDueIn };
  },

  registryPage(reply: unknown): RegistryPageReply {
    const items = list(reply, "queue-registry-page");
    const queues: RegistryPageReply["queues"] = [];
    for (let index = 1; index + 1 < items.length; index += 2) {
      queues.push({ name: String(items[index]), lastSentAt: integer(items[index + 1], "queue-registry-page") });
    }
    return { now: integer(items[0], "queue-registry-page"), queues };
  },

  /** `{ slot start, now }`, or an empty array when another node claimed the slot (rate-sample-claim.lua). */
  slotClaim(reply: unknown): SlotClaim | undefined {
    const items = list(reply, "rate-sample-claim");
    if (items.length === 0) return undefined;
    return { slotStart: integer(items[0], "rate-sample-claim"), at: integer(items[1], "rate-sample-claim") };
  },

  /** The samples as rate-sample-append.lua writes them, and the totals hash (rate-samples-read.lua). */
  rateSamples(reply: unknown): SampledHistory {
    const [lines, flatTotals] = list(reply, "rate-samples-read");
    const samples = list(lines, "rate-samples-read").map((line) => rateSample(String(line)));
    const newest = samples.at(-1);
    if (newest === undefined) return { samples, totals: undefined };
    const queues: QueueTotals[] = [];
    const flat = list(flatTotals, "rate-samples-read");
    for (let index = 0; index + 1 < flat.length; index += 2) {
      const [namespace, queue] = words(String(flat[index]), 2);
      const [sent, acked] = words(String(flat[index + 1]), 2);
      queues.push({
        namespace,
        queue,
        sent: integer(sent, "rate-samples-read"),
        acked: integer(acked, "rate-samples-read"),
      });
    }
    return { samples, totals: { at: newest.at, queues } };
  },

  /** Pairs of id and stored entry (queue-peek.lua), the entries as Buffers. */
  peek(reply: unknown): Array<{ id: string; entry: Buffer }> {
    const items = list(reply, "queue-peek");
    const messages: Array<{ id: string; entry: Buffer }> = [];
    for (let index = 0; index + 1 < items.length; index += 2) {
      const entry = items[index + 1];
      if (!Buffer.isBuffer(entry)) throw malformed("queue-peek");
      messages.push({ id: String(items[index]), entry });
    }
    return messages;
  },

  /** A reply that is one integer (a count, a flag). */
  count(reply: unknown, script: string): number {
    return integer(reply, script);
  },

  /** A reply that is a list of strings (node ids). */
  strings(reply: unknown, script: string): string[] {
    return list(reply, script).map(String);
  },
};

/** One sample: '<time> <sent> <acked>' then '<namespace> <queue> <sent> <acked>' lines, '-' for no count. */
function rateSample(text: string): RateSample {
  const [head = "", ...entries] = text.split("\n");
  const [at, sent, acked] = words(head, 3);
  const queues: QueueGrowth[] = entries.map((entry) => {
    const [namespace, queue, queueSent, queueAcked] = words(entry, 4);
    return { namespace, queue, sent: countOrNone(queueSent), acked: countOrNone(queueAcked) };
  });
  return { at: integer(at, "rate-samples-read"), sent: countOrNone(sent), acked: countOrNone(acked), queues };
}

function countOrNone(word: string): number | undefined {
  return word === "-" ? undefined : integer(word, "rate-samples-read");
}

/** Exactly `count` words separated by single spaces. */
function words(text: string, count: 2): [string, string];
function words(text: string, count: 3): [string, string, string];
function words(text: string, count: 4): [string, string, string, string];
function words(text: string, count: number): string[] {
  const parts = text.split(" ");
  if (parts.length !== count) throw malformed("rate-samples-read");
  return parts;
}

function list(reply: unknown, script: string): unknown[] {
  if (!Array.isArray(reply)) throw malformed(script);
  return reply;
}

function integers(reply: unknown, script: string): number[] {
  return list(reply, script).map((item) => integer(item, script));
}

/** An integer reply, or an integer in a string or Buffer reply (Lua numbers given back as text). */
function integer(value: unknown, script: string): number {
  const number = typeof value === "number" ? value : Number(String(value));
  if (!Number.isFinite(number)) throw malformed(script);
  return number;
}

function malformed(script: string): MailroomError {
  return new MailroomError("INTERNAL", `the ${script} script gave a reply of an unexpected shape`);
}
