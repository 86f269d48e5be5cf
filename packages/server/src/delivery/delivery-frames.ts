/**
 * Splits a batch of deliveries into the frames that may carry them together (docs/protocol.md §15).
 *
 * Socket.IO's parser sends a packet that holds binary as JSON with `{ "_placeholder": true, "num": N }`
 * in each binary's place, and the receiving client puts attachment N back wherever it finds such an
 * object: also inside a producer's JSON data. In one frame beside another producer's binary message, JSON
 * data shaped like a placeholder would come out as that other message's bytes (or, with an unknown `num`,
 * break the consumer's parser and its connection). A frame is therefore either all binary (then its only
 * JSON is the node's own envelope and string headers, which never look like a placeholder) or all JSON
 * (then it has no attachments and the client replaces nothing). Order is kept: a batch becomes its runs
 * of one kind, in order.
 */

/** Consecutive runs of `messages` that are all binary or all JSON, in their order. */
export function deliveryFrames<Message extends { data: unknown }>(messages: Message[]): Message[][] {
  const frames: Message[][] = [];
  let current: Message[] = [];
  let currentIsBinary = false;
  for (const message of messages) {
    const binary = Buffer.isBuffer(message.data);
    if (current.length > 0 && binary !== currentIsBinary) {
      frames.push(current);
      current = [];
    }
    currentIsBinary = binary;
    current.push(message);
  }
  if (current.length > 0) frames.push(current);
  return frames;
}
