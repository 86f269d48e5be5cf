/**
 * The message every queue and room scenario sends: a sequence number, the time it was (meant to be) sent,
 * and padding up to 200 bytes of JSON text. Times are `now()`: milliseconds since the epoch with
 * sub-millisecond precision, comparable between processes on one machine.
 */

/** The size of a message's JSON text, as the scenarios of PRODUCT.md say. */
export const MESSAGE_BYTES = 200;

export interface Payload {
  /** Position in the run, from 0. */
  seq: number;
  /** When it was meant to be sent (open-loop) or was sent, in ms since the epoch. */
  sentAt: number;
  pad: string;
}

/** Milliseconds since the epoch, sub-millisecond; the same clock in every process of the machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A payload whose JSON text is MESSAGE_BYTES long (give or take a byte for the digits of seq). */
export function payload(seq: number, sentAt: number = now()): Payload {
  const skeleton = JSON.stringify({ seq, sentAt, pad: "" }).length;
  return { seq, sentAt, pad: "x".repeat(Math.max(0, MESSAGE_BYTES - skeleton)) };
}
