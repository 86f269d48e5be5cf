/**
 * The message every queue and room scenario sends: a sequence number, the time it was (meant to be) sent,
 * its group when the run spreads messages over groups, and padding up to 200 bytes of JSON text. Times
 * are `now()`: milliseconds since the epoch with sub-millisecond precision, comparable between processes
 * on one machine.
 */

/** The size of a message's JSON text, as the scenarios of PRODUCT.md say. */
export const MESSAGE_BYTES = 200;

export interface Payload {
  /** Position in the run, from 0. */
  seq: number;
  /** When it was meant to be sent (open-loop) or was sent, in ms since the epoch. */
  sentAt: number;
  /**
   * The message's group (docs/protocol.md §11), when the run has groups: a system that knows groups sends
   * the message in it, and the consumer checks each group's order by `seq` (`groupOf`).
   */
  group?: string;
  pad: string;
}

/** Milliseconds since the epoch, sub-millisecond; the same clock in every process of the machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A payload whose JSON text is MESSAGE_BYTES long (give or take a byte for the digits of seq). */
export function payload(seq: number, sentAt: number = now(), group?: string): Payload {
  const fields = group === undefined ? { seq, sentAt } : { seq, sentAt, group };
  const skeleton = JSON.stringify({ ...fields, pad: "" }).length;
  return { ...fields, pad: "x".repeat(Math.max(0, MESSAGE_BYTES - skeleton)) };
}

/**
 * The group of message `seq` in a run over `groups` groups: `g-<seq mod groups>`, so the groups take the
 * messages in turn and each group's messages, in send order, have rising seqs. Undefined without groups.
 */
export function groupOf(seq: number, groups: number): string | undefined {
  return groups > 0 ? `g-${seq % groups}` : undefined;
}
