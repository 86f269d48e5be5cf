/**
 * Leases as Redis hands them over: from a receive's reply (id, receipt, stored entry) and from a push
 * (queue-send.lua: "<visibility ms>\n", then per lease "<receipt length> <entry length>\n<receipt><entry>").
 * A stored entry is "seq|attempt|maxAttempts|enqueuedAt|expiresAt|reason|body", the reason followed by
 * "~priority~group" for a message with a group or a priority (queue-keys.lua); bodies stay views of the
 * reply, never copies.
 */
import { MailroomError } from "@mailroom/protocol";
import type { Lease, PushedLeases } from "../queue-engine.js";

/** The "|" that ends each of a stored entry's six fields (queue-keys.lua: decodeMessage). */
const FIELD_END = 0x7c;
const NEWLINE = 0x0a;
/** A reason field with placement: "<reason>~<priority digit>~<group>". */
const PLACED_REASON = /^([A-Za-z]*)~(\d)~(.*)$/;
const SPACE = 0x20;

/** A lease from its id, receipt and stored entry: the delivery is attempt + 1. */
export function leaseOf(id: string, receipt: string, entry: Buffer): Lease {
  const ends: number[] = [];
  for (let position = 0; ends.length < 6; position += 1) {
    const found = entry.indexOf(FIELD_END, position);
    if (found < 0) throw new MailroomError("INTERNAL", `stored message ${id} has a malformed entry`);
    ends.push(found);
    position = found;
  }
  const field = (number: number) =>
    entry.toString("latin1", number === 0 ? 0 : (ends[number - 1] as number) + 1, ends[number]);
  const lease: Lease = {
    id,
    receipt,
    attempt: Number(field(1)) + 1,
    enqueuedAt: Number(field(3)),
    seq: Number(field(0)),
    body: entry.subarray((ends[5] as number) + 1),
  };
  let reason = field(5);
  const placed = PLACED_REASON.exec(reason);
  if (placed) {
    reason = placed[1] as string;
    lease.priority = Number(placed[2]);
    if (placed[3]) lease.group = placed[3];
  }
  if (reason === "rejected" || reason === "maxAttempts") lease.reason = reason;
  return lease;
}

/** The decimal number written from `start` to `end`, or undefined when that is not only digits. */
function digits(message: Buffer, start: number, end: number): number | undefined {
  if (start < 0 || end <= start) return undefined;
  const text = message.toString("latin1", start, end);
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/**
 * A receipt is "<hex token>:<id>", or "<hex token>/<group>/<id>" for a grouped message. Ids, groups and
 * tokens hold no "/", so one in a receipt makes it a grouped one (queue-keys.lua: receiptParts). Receipts
 * of earlier releases have an index after the token, which reads the same way.
 */
function receiptId(receipt: string): string {
  const slash = receipt.indexOf("/");
  if (slash >= 0) return receipt.slice(receipt.indexOf("/", slash + 1) + 1);
  return receipt.slice(receipt.indexOf(":") + 1);
}

/** The leases of one push; throws on a message that is not one. */
export function pushedLeases(message: Buffer): PushedLeases {
  const malformed = () => new MailroomError("INTERNAL", "a push on a queue's channel is malformed");
  let position = message.indexOf(NEWLINE);
  const visibilityMs = digits(message, 0, position);
  if (visibilityMs === undefined) throw malformed();
  position += 1;
  const leases: Lease[] = [];
  while (position < message.length) {
    const space = message.indexOf(SPACE, position);
    const newline = message.indexOf(NEWLINE, space);
    if (space < 0 || newline < 0) throw malformed();
    const receiptLength = digits(message, position, space) ?? 0;
    const entryLength = digits(message, space + 1, newline) ?? 0;
    const receiptStart = newline + 1;
    const entryStart = receiptStart + receiptLength;
    const entryEnd = entryStart + entryLength;
    if (!(receiptLength > 0 && entryLength > 0 && entryEnd <= message.length)) throw malformed();
    const receipt = message.toString("utf8", receiptStart, entryStart);
    leases.push(leaseOf(receiptId(receipt), receipt, message.subarray(entryStart, entryEnd)));
    position = entryEnd;
  }
  return { visibilityMs, leases };
}
