/**
 * Keeps a producer's send order within each group well defined while several sends are in flight: a send
 * carrying a message of a group starts only once the previous send carrying one of that group's messages
 * has been accepted. Each group's messages are then stored in the order the producer made them (rising
 * seq), which is the order the consumer checks (measure/group-order.ts); sends of other groups, and of
 * ungrouped messages, go at once. With messages dealt to the groups in turn, a group's previous send is
 * usually long accepted, so the wait costs next to nothing. It keeps one promise per group.
 */
import type { Payload } from "../systems/payload.js";

export class GroupSendOrder {
  /** Group -> the acceptance of the last send that carried one of its messages. */
  private readonly lastSendOf = new Map<string, Promise<void>>();

  /** Runs `send` (of `messages`) once the earlier sends of their groups are accepted; resolves with it. */
  send(messages: readonly Payload[], send: () => Promise<void>): Promise<void> {
    const earlier = new Set<Promise<void>>();
    for (const { group } of messages) {
      const previous = group === undefined ? undefined : this.lastSendOf.get(group);
      if (previous) earlier.add(previous);
    }
    const sent = earlier.size === 0 ? send() : Promise.all(earlier).then(send);
    // Recorded before anything is awaited, so a send made next, even by another lane, waits for this one.
    for (const { group } of messages) if (group !== undefined) this.lastSendOf.set(group, sent);
    return sent;
  }
}
