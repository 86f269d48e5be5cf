/**
 * The due-time index is split in partitions, so that on a Redis Cluster its load spreads over the masters
 * instead of weighing on the one slot of a single key. Each partition has its own hash tag, chosen so that
 * the partitions' slots fall in 16 equal slot ranges (`redis-cli --cluster create` gives each master a run of
 * whole ranges); tags like `{0}`..`{15}` would hash to scattered slots and pile up on one master by chance.
 * A queue's timed work is indexed in the partition of its own sixteenth of the slots (the partition of the
 * slot of its keys), so on a cluster a queue's due marks go to the master that holds the queue itself, and
 * queues spread over the partitions as they spread over the slots.
 */
import calculateSlot from "cluster-key-slot";

/** Partitions of the due-time index: enough to spread over up to 16 masters, few enough to poll each tick. */
export const DUE_PARTITIONS = 16;
/** Redis Cluster's number of hash slots. */
const SLOTS = 16384;

/** The hash tag of each partition (without braces): `due-<partition>-<salt>`, in slot order. */
export const DUE_PARTITION_TAGS: readonly string[] = Array.from({ length: DUE_PARTITIONS }, (_, partition) => {
  const width = SLOTS / DUE_PARTITIONS;
  for (let salt = 0; ; salt += 1) {
    const tag = `due-${partition}-${salt}`;
    const slot = calculateSlot(tag);
    if (slot >= partition * width && slot < (partition + 1) * width) return tag;
  }
});

/** The partition of the slot of a key: for a queue, pass one of its keys (or its hash tag in braces). */
export function duePartitionOfKey(key: string): number {
  return Math.floor((calculateSlot(key) * DUE_PARTITIONS) / SLOTS);
}
