/**
 * The overview's queues, worst first. A queue's dead-letter queue (`<queue>.dlq`) is folded into its queue,
 * whose `deadLettered` already counts it; a `.dlq` whose queue the snapshot does not list stays a row.
 * Order: queues with dead letters (most first), then queues whose ready messages have no consumer (deepest
 * first), then every other queue deepest first (ready, delayed and in flight together); ties by namespace
 * and name, so rows do not jump between two equal snapshots.
 */
import { isDeadLetterQueue, queueOfDeadLetterQueue } from "../api/queue-paths.js";
import type { SnapshotQueue } from "../api/snapshot.js";
import { queueKey } from "./queue-key.js";

export function depthOf(queue: SnapshotQueue): number {
  return queue.ready + queue.delayed + queue.inflight;
}

/** Ready messages that nothing consumes: no consumer is attached to the queue. */
export function isUnconsumed(queue: SnapshotQueue): boolean {
  return queue.ready > 0 && queue.consumers === 0;
}

/** The queues the overview lists: folded dead-letter queues left out. */
export function listedQueues(queues: readonly SnapshotQueue[]): SnapshotQueue[] {
  const names = new Set(queues.map((queue) => queueKey(queue.namespace, queue.name)));
  return queues.filter(
    (queue) =>
      !(isDeadLetterQueue(queue.name) && names.has(queueKey(queue.namespace, queueOfDeadLetterQueue(queue.name)))),
  );
}

export function worstFirst(queues: readonly SnapshotQueue[]): SnapshotQueue[] {
  return [...listedQueues(queues)].sort(compareWorstFirst);
}

function tier(queue: SnapshotQueue): number {
  if (queue.deadLettered > 0) return 0;
  if (isUnconsumed(queue)) return 1;
  return 2;
}

function compareWorstFirst(a: SnapshotQueue, b: SnapshotQueue): number {
  return (
    tier(a) - tier(b) ||
    b.deadLettered - a.deadLettered ||
    depthOf(b) - depthOf(a) ||
    a.namespace.localeCompare(b.namespace) ||
    a.name.localeCompare(b.name)
  );
}
