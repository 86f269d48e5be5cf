/**
 * Acks and nacks as both transports run them: the store decides, then the consumer dispatcher frees the
 * prefetch slots of exactly what the store accepted. An ack may wait a few ms in the store for others to
 * share its call, unless a consumer of this node that holds one of its deliveries is short of credit.
 * Meanwhile the dispatcher knows the receipts are being settled, so a release of their consumer's leases
 * (its socket went) leaves them alone. A stale receipt, or one sent with another queue's name, changes
 * nothing (docs/protocol.md §3).
 */
import type { ConsumerDispatcher } from "../delivery/consumer-dispatcher.js";
import type { QueueAddress, QueueEngine } from "../engines/queue-engine.js";

/** What a settlement asks of the node's consumer dispatcher. */
export type SettlingDispatcher = Pick<ConsumerDispatcher, "settled" | "mayWaitToSettle" | "beginSettling">;

export async function ackAndSettle(
  engine: QueueEngine,
  dispatcher: SettlingDispatcher | undefined,
  address: QueueAddress,
  receipts: string[],
): Promise<{ acked: number; stale: string[] }> {
  const settlingEnds = dispatcher?.beginSettling(receipts);
  try {
    const result = await engine.ack(address, receipts, dispatcher?.mayWaitToSettle(receipts) ?? false);
    const stale = new Set(result.stale);
    dispatcher?.settled(
      address,
      receipts.filter((receipt) => !stale.has(receipt)),
    );
    return result;
  } finally {
    settlingEnds?.();
  }
}

export async function nackAndSettle(
  engine: QueueEngine,
  dispatcher: SettlingDispatcher | undefined,
  address: QueueAddress,
  receipt: string,
  options: { requeue?: boolean | undefined; delayMs?: number | undefined },
): Promise<{ deadLettered: boolean }> {
  const settlingEnds = dispatcher?.beginSettling([receipt]);
  try {
    const result = await engine.nack(address, receipt, options.requeue ?? true, options.delayMs ?? 0);
    dispatcher?.settled(address, [receipt]);
    return result;
  } finally {
    settlingEnds?.();
  }
}
