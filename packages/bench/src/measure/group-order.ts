/**
 * Checks, at the consumers of one process, the two promises of groups (docs/protocol.md §11) on every
 * first delivery of a grouped message:
 *
 * - **Send order**: a group's first deliveries come in the order of their seqs (the producer sends each
 *   group's messages in rising seq, one send accepted before the next: roles/group-send-order.ts). A first
 *   delivery whose seq is below the group's last one is a violation. Redeliveries (attempt > 1) repeat an
 *   earlier message on purpose and are only counted.
 * - **One out at a time**: a group's next message cannot legitimately arrive before the ack of its
 *   previous one has left the consumer, and the SDK sends the acks of one event-loop turn at the end of
 *   that turn (setImmediate). A first delivery in the same turn as its group's previous one is an
 *   overlap: both were out at once. A lease the node granted before the ack reached it, but that arrived
 *   in a later turn, is not seen: this is the cheap half of the check.
 *
 * Also counts deliveries whose group is not the one the producer put in the payload. Messages without a
 * group in their payload, and the warm-up ones (seq < 0), are left out. One map entry per group.
 */
import type { Payload } from "../systems/payload.js";
import type { DeliveryFacts } from "../systems/queue-system.js";

export interface GroupOrderSummary {
  /** Groups seen. */
  groups: number;
  firstDeliveries: number;
  redeliveries: number;
  /** First deliveries that came before an earlier-sent message of their group. */
  orderViolations: number;
  /** First deliveries in the same event-loop turn as their group's previous one (both out at once). */
  overlaps: number;
  /** Deliveries whose group was not the payload's (or that named none). */
  wrongGroup: number;
}

interface GroupState {
  lastSeq: number;
  lastTurn: number;
}

export class GroupOrderChecker {
  private readonly byGroup = new Map<string, GroupState>();
  private readonly counts = { firstDeliveries: 0, redeliveries: 0, orderViolations: 0, overlaps: 0, wrongGroup: 0 };
  /** Event-loop turns since the checker started: bumped at the end of each turn that saw a delivery. */
  private turn = 0;
  private turnEnds = false;

  record(message: Payload, delivery: DeliveryFacts | undefined): void {
    const group = message.group;
    if (group === undefined || message.seq < 0) return;
    if (delivery?.group !== group) this.counts.wrongGroup += 1;
    if ((delivery?.attempt ?? 1) > 1) {
      this.counts.redeliveries += 1;
      return;
    }
    this.counts.firstDeliveries += 1;
    this.endTurnLater();
    const state = this.byGroup.get(group);
    if (!state) {
      this.byGroup.set(group, { lastSeq: message.seq, lastTurn: this.turn });
      return;
    }
    if (message.seq < state.lastSeq) this.counts.orderViolations += 1;
    if (state.lastTurn === this.turn) this.counts.overlaps += 1;
    state.lastSeq = Math.max(state.lastSeq, message.seq);
    state.lastTurn = this.turn;
  }

  summary(): GroupOrderSummary {
    return { groups: this.byGroup.size, ...this.counts };
  }

  /** Marks the end of this turn the way the SDK's ack batcher finds it: setImmediate. */
  private endTurnLater(): void {
    if (this.turnEnds) return;
    this.turnEnds = true;
    setImmediate(() => {
      this.turn += 1;
      this.turnEnds = false;
    });
  }
}
