/**
 * The due-time index's partitions spread over a Redis Cluster's masters (docs/protocol.md §14): each
 * partition's hash tag falls in its own sixteenth of the slots, so the masters that `redis-cli --cluster
 * create` gives equal runs of slots hold equal shares of the partitions; a queue is indexed in the
 * partition of its own slot range, so its marks go to its own master; and queues spread over the partitions.
 */
import calculateSlot from "cluster-key-slot";
import { describe, expect, it } from "vitest";
import { DUE_PARTITION_TAGS, DUE_PARTITIONS } from "../packages/server/src/engines/redis/due-partitions.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";

const SLOTS = 16_384;

describe("the partitions of the due-time index", () => {
  it("puts partition n's keys in the n-th sixteenth of the slots", () => {
    const keys = new RedisKeys("mailroom");
    for (let partition = 0; partition < DUE_PARTITIONS; partition += 1) {
      const slots = [...keys.duePartitionKeys(partition), `${keys.duePartitionQueuesPrefix(partition)}/orders`].map(
        (key) => calculateSlot(key),
      );
      expect(new Set(slots).size, `partition ${partition}'s keys share one slot`).toBe(1);
      expect(Math.floor((slots[0] ?? -1) / (SLOTS / DUE_PARTITIONS))).toBe(partition);
    }
    expect(new Set(DUE_PARTITION_TAGS).size).toBe(DUE_PARTITIONS);
  });

  it("gives 3 masters of equal slot runs 5 or 6 partitions each", () => {
    const masterOf = (slot: number) => Math.min(2, Math.floor(slot / Math.ceil(SLOTS / 3)));
    const masters = DUE_PARTITION_TAGS.map((tag) => masterOf(calculateSlot(tag)));
    for (const master of [0, 1, 2]) expect(masters.filter((each) => each === master).length).toBeGreaterThanOrEqual(5);
  });

  it("indexes a queue in the partition of its own slot range (on its own master), and a .dlq with its queue", () => {
    const keys = new RedisKeys("mailroom");
    for (const queue of ["orders", "emails", "q-17"]) {
      const [queueKey = ""] = keys.queueScriptKeys("/shop", queue);
      const partition = keys.duePartitionOfQueue("/shop", queue);
      expect(Math.floor(calculateSlot(queueKey) / (SLOTS / DUE_PARTITIONS))).toBe(partition);
      expect(keys.duePartitionOfQueue("/shop", `${queue}.dlq`)).toBe(partition);
    }
  });

  it("spreads 10,000 queues over the partitions within 15% of an even share", () => {
    const keys = new RedisKeys("mailroom");
    const partitions = Array.from({ length: 10_000 }, (_, index) => keys.duePartitionOfQueue("/", `queue-${index}`));
    const even = 10_000 / DUE_PARTITIONS;
    for (let partition = 0; partition < DUE_PARTITIONS; partition += 1) {
      const count = partitions.filter((each) => each === partition).length;
      expect(Math.abs(count - even) / even).toBeLessThan(0.15);
    }
  });
});
