/**
 * The chaos checker, in the manner of Jepsen's: every message carries a unique id; each send is recorded
 * as invoked, then accepted (an `ok` answer), failed (an error answer) or indeterminate (no answer in
 * time, or the connection closed first); each delivery is recorded with its consumer, attempt and
 * receipt, then as handled (the handler finished, so its ack was sent) and, when the ack came back
 * stale or failed, as such. After the run and a full drain, `figures()` accounts for every message:
 *
 * - lost: accepted, and no delivery of it was handled with an ack that did not come back stale. A
 *   message that was delivered but whose every ack was refused as stale is lost too: its lease had ended,
 *   so it must have been delivered again.
 * - unexpected: delivered, but never sent.
 * - duplicated: delivered more than once (allowed: at least once).
 * - failedButStored: answered with an error, yet delivered (an `UNAVAILABLE` whose write landed after all).
 *
 * With message groups (docs/protocol.md §11), `groupOrderViolations` counts first deliveries of a group
 * that came after a first delivery of a later message of that group.
 *
 * It fails a run on lost > 0 or unexpected > 0 (`expectSafe`). It keeps nothing but what it is told.
 */
import { expect } from "vitest";

type SendOutcome = "pending" | "ok" | "failed" | "indeterminate";

interface SendRecord {
  outcome: SendOutcome;
  invokedAt: number;
  /** The message's group and its place among the group's sends, when it has one. */
  group?: { name: string; index: number };
  answeredAt?: number;
  code?: string;
}

export interface DeliveryRecord {
  id: string;
  queue: string;
  receipt: string;
  attempt: number;
  consumer: string;
  at: number;
  /** Why a dead-letter queue's delivery is there. */
  reason?: string;
  /** The handler finished: the consumer sent its ack. */
  handled: boolean;
  /** How the ack came back when it did not succeed: stale (the lease had ended) or failed (an error). */
  ackProblem?: "stale" | "failed";
  /** The order in which the checker heard of it, across all deliveries. */
  heard?: number;
}

export interface Figures {
  attempted: number;
  accepted: number;
  failed: number;
  indeterminate: number;
  /** Sends with no outcome yet when the figures were taken (0 after a drain). */
  pending: number;
  delivered: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  failedButStored: number;
  indeterminateDelivered: number;
  /** A few lost ids, for the failure message. */
  lostSample: string[];
  unexpectedSample: string[];
}

export class History {
  private readonly sends = new Map<string, SendRecord>();
  private readonly deliveries = new Map<string, DeliveryRecord[]>();
  private readonly byReceipt = new Map<string, DeliveryRecord>();
  private readonly groupSends = new Map<string, number>();
  private heardDeliveries = 0;

  /** A send is made; `group`: the message's group, whose sends are numbered in the order they are made. */
  invoke(id: string, at = Date.now(), group?: string): void {
    if (this.sends.has(id)) throw new Error(`message id ${id} was sent twice: ids must be unique`);
    const record: SendRecord = { outcome: "pending", invokedAt: at };
    if (group !== undefined) {
      const index = this.groupSends.get(group) ?? 0;
      this.groupSends.set(group, index + 1);
      record.group = { name: group, index };
    }
    this.sends.set(id, record);
  }

  ok(id: string, at = Date.now()): void {
    this.answer(id, "ok", at);
  }

  failed(id: string, code: string, at = Date.now()): void {
    this.answer(id, "failed", at, code);
  }

  indeterminate(id: string, at = Date.now()): void {
    this.answer(id, "indeterminate", at);
  }

  delivered(delivery: Omit<DeliveryRecord, "handled">): void {
    this.heardDeliveries += 1;
    const record: DeliveryRecord = { ...delivery, handled: false, heard: this.heardDeliveries };
    const list = this.deliveries.get(delivery.id) ?? [];
    list.push(record);
    this.deliveries.set(delivery.id, list);
    this.byReceipt.set(delivery.receipt, record);
  }

  handled(receipt: string): void {
    const record = this.byReceipt.get(receipt);
    if (record) record.handled = true;
  }

  ackFailed(receipt: string, problem: "stale" | "failed"): void {
    const record = this.byReceipt.get(receipt);
    if (record) record.ackProblem = problem;
  }

  /** Every send, with its outcome and times. */
  sendRecords(): [string, Readonly<SendRecord>][] {
    return [...this.sends];
  }

  deliveriesOf(id: string): readonly DeliveryRecord[] {
    return this.deliveries.get(id) ?? [];
  }

  allDeliveries(): DeliveryRecord[] {
    return [...this.deliveries.values()].flat();
  }

  acceptedCount(): number {
    let count = 0;
    for (const record of this.sends.values()) if (record.outcome === "ok") count += 1;
    return count;
  }

  /** Whether some delivery of `id` was handled and its ack was not refused as stale. */
  isSettled(id: string): boolean {
    return this.deliveriesOf(id).some((delivery) => delivery.handled && delivery.ackProblem !== "stale");
  }

  /** Accepted messages not settled yet. */
  unsettledAccepted(): string[] {
    const ids: string[] = [];
    for (const [id, record] of this.sends) if (record.outcome === "ok" && !this.isSettled(id)) ids.push(id);
    return ids;
  }

  figures(): Figures {
    const counts = { ok: 0, failed: 0, indeterminate: 0, pending: 0 };
    let failedButStored = 0;
    let indeterminateDelivered = 0;
    const lost: string[] = [];
    for (const [id, record] of this.sends) {
      counts[record.outcome] += 1;
      const delivered = this.deliveriesOf(id).length > 0;
      if (record.outcome === "ok" && !this.isSettled(id)) lost.push(id);
      if (record.outcome === "failed" && delivered) failedButStored += 1;
      if (record.outcome === "indeterminate" && delivered) indeterminateDelivered += 1;
    }
    let deliveries = 0;
    let delivered = 0;
    let duplicated = 0;
    const unexpected: string[] = [];
    for (const [id, list] of this.deliveries) {
      deliveries += list.length;
      if (!this.sends.has(id)) {
        unexpected.push(id);
        continue;
      }
      delivered += 1;
      if (list.length > 1) duplicated += 1;
    }
    return {
      attempted: this.sends.size,
      accepted: counts.ok,
      failed: counts.failed,
      indeterminate: counts.indeterminate,
      pending: counts.pending,
      delivered,
      deliveries,
      lost: lost.length,
      duplicated,
      unexpected: unexpected.length,
      failedButStored,
      indeterminateDelivered,
      lostSample: lost.slice(0, 10),
      unexpectedSample: unexpected.slice(0, 10),
    };
  }

  /**
   * First deliveries of a group's accepted messages that came after the first delivery of a message the
   * group's producer sent later: 0 when every group kept its send order (a group's producer sends in
   * order on one connection, so send order is acceptance order; redeliveries are not first deliveries).
   */
  groupOrderViolations(): { groups: number; violations: number; sample: string[] } {
    const firsts = new Map<string, Array<{ index: number; heard: number; id: string }>>();
    for (const [id, record] of this.sends) {
      if (!record.group || record.outcome !== "ok") continue;
      const first = this.deliveriesOf(id).find((delivery) => delivery.attempt === 1) ?? this.deliveriesOf(id)[0];
      if (!first) continue;
      const list = firsts.get(record.group.name) ?? [];
      list.push({ index: record.group.index, heard: first.heard ?? 0, id });
      firsts.set(record.group.name, list);
    }
    let violations = 0;
    const sample: string[] = [];
    for (const list of firsts.values()) {
      list.sort((a, b) => a.heard - b.heard);
      for (let position = 1; position < list.length; position += 1) {
        if ((list[position] as { index: number }).index < (list[position - 1] as { index: number }).index) {
          violations += 1;
          if (sample.length < 10) sample.push((list[position] as { id: string }).id);
        }
      }
    }
    return { groups: firsts.size, violations, sample };
  }

  private answer(id: string, outcome: Exclude<SendOutcome, "pending">, at: number, code?: string): void {
    const record = this.sends.get(id);
    if (!record) throw new Error(`an answer for message id ${id}, which was never invoked`);
    record.outcome = outcome;
    record.answeredAt = at;
    if (code !== undefined) record.code = code;
  }
}

/** The run's safety: nothing accepted is lost, nothing arrives that was not sent, every send answered. */
export function expectSafe(figures: Figures): void {
  expect(
    { lost: figures.lost, unexpected: figures.unexpected, pending: figures.pending },
    `lost ids ${JSON.stringify(figures.lostSample)}, unexpected ids ${JSON.stringify(figures.unexpectedSample)}`,
  ).toEqual({ lost: 0, unexpected: 0, pending: 0 });
  expect(figures.accepted, "the run accepted messages").toBeGreaterThan(0);
}

/** Percentiles of a list of numbers (nearest rank), rounded to 0.1. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return Math.round((sorted[index] as number) * 10) / 10;
}
