/**
 * The Redis engine's groups and priorities (queue-lanes.lua, which takes a pass of a rotation at a time) and
 * the memory engine's (structures/fair-lanes.ts, one take at a time) give the same answers: random runs
 * of sends (groups, priorities, ungrouped messages, some delayed past the run), receives (with and without
 * a byte budget), acks, releases, nacks, dead-letterings, peeks, purges and redrives, on both engines side by
 * side, with fast-check on a fixed seed.
 * Every receive must lease the same messages in the same order, at the same attempt, and the counts must
 * agree after every step. Of time, only TTLs: some messages are sent with one that has passed by the next
 * step, so receives meet expired heads of groups and lanes; no delay or lease runs out during a run (the
 * conformance suite holds both engines to those), and a delayed message leaves only by a purge.
 */
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryQueueEngine } from "../packages/server/src/engines/memory/memory-queue-engine.js";
import type { Lease, NewMessage, QueueAddress, QueueEngine } from "../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "./helpers/cleanup.js";
import { startDeployment } from "./helpers/redis-deployments.js";
import { startRedisEngine } from "./helpers/redis-engine.js";

/** No lease ends and no dedup window matters within a run. */
const LONG_MS = 600_000;
const RUNS = 200;
const SEED = 17;
/** A TTL that has passed by the next step: sends wait this long and a little more. */
const PASSING_TTL_MS = 2;
/** A few groups, so that they meet in rotations, go out and come back within a run. */
const GROUPS = ["A", "B", "C", "D", "E"];

type Step =
  | {
      kind: "send";
      messages: Array<{
        group: string | undefined;
        priority: number;
        bytes: number;
        expires: boolean;
        delayed: boolean;
      }>;
    }
  | { kind: "purge" }
  | { kind: "redrive" }
  | { kind: "peek" }
  | { kind: "receive"; max: number; byteBudget: number }
  | { kind: "ack" | "release"; pick: number[] }
  | { kind: "nack"; pick: number; requeue: boolean };

const sendStep = fc.record({
  kind: fc.constant("send" as const),
  messages: fc.array(
    fc.record({
      group: fc.option(fc.constantFrom(...GROUPS), { nil: undefined, freq: 3 }),
      priority: fc.constantFrom(0, 0, 0, 0, 1, 2, 9),
      bytes: fc.integer({ min: 1, max: 60 }),
      expires: fc.constantFrom(false, false, false, false, false, true),
      delayed: fc.constantFrom(false, false, false, false, false, false, false, true),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});
const receiveStep = fc.record({
  kind: fc.constant("receive" as const),
  max: fc.integer({ min: 1, max: 12 }),
  byteBudget: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
});
const settleStep = fc.record({
  kind: fc.constantFrom("ack" as const, "release" as const),
  pick: fc.array(fc.nat(), { maxLength: 6 }),
});
const nackStep = fc.record({ kind: fc.constant("nack" as const), pick: fc.nat(), requeue: fc.boolean() });
const queueStep = fc.oneof(
  fc.record({ kind: fc.constant("purge" as const) }),
  fc.record({ kind: fc.constant("redrive" as const) }),
  fc.record({ kind: fc.constant("peek" as const) }),
);
const steps = fc.array(
  fc.oneof(
    { arbitrary: sendStep, weight: 4 },
    { arbitrary: receiveStep, weight: 8 },
    { arbitrary: settleStep, weight: 4 },
    { arbitrary: nackStep, weight: 2 },
    { arbitrary: queueStep, weight: 1 },
  ),
  {
    minLength: 5,
    maxLength: 40,
  },
);

/** One engine's side of a run: its leases out, by message id. */
class Side {
  readonly out = new Map<string, string>();
  constructor(readonly engine: QueueEngine) {}

  remember(leases: Lease[]): void {
    for (const lease of leases) this.out.set(lease.id, lease.receipt);
  }

  receipts(ids: string[]): string[] {
    return ids.map((id) => this.out.get(id) as string);
  }

  forget(ids: string[]): void {
    for (const id of ids) this.out.delete(id);
  }
}

function described(leases: Lease[]) {
  return leases.map((lease) => [lease.id, lease.group, lease.priority, lease.attempt]);
}

async function run(memory: Side, redis: Side, address: QueueAddress, plan: Step[]): Promise<void> {
  let next = 0;
  const both = [memory, redis];
  for (const [index, step] of plan.entries()) {
    const where = `step ${index} (${step.kind})`;
    if (step.kind === "send") {
      const messages: NewMessage[] = step.messages.map(({ group, priority, bytes, expires, delayed }) => {
        next += 1;
        return {
          id: `m${next}`,
          chosenByProducer: false,
          body: Buffer.alloc(bytes, 120),
          delayMs: delayed ? LONG_MS : 0,
          ttlMs: expires ? PASSING_TTL_MS : 0,
          maxAttempts: 3,
          group,
          priority,
        };
      });
      for (const side of both) await side.engine.send(address, messages);
      if (step.messages.some((each) => each.expires)) await sleep(PASSING_TTL_MS * 2);
    } else if (step.kind === "peek") {
      const [fromMemory, fromRedis] = await Promise.all(both.map((side) => side.engine.peek(address, "ready", 20)));
      expect(
        fromRedis!.map((message) => message.id),
        where,
      ).toEqual(fromMemory!.map((message) => message.id));
    } else if (step.kind === "purge" || step.kind === "redrive") {
      const purge = step.kind === "purge";
      const [fromMemory, fromRedis] = await Promise.all(
        both.map((side) => (purge ? side.engine.purge(address) : side.engine.redrive(address))),
      );
      expect(fromRedis, where).toBe(fromMemory);
    } else if (step.kind === "receive") {
      const [fromMemory, fromRedis] = await Promise.all(
        both.map((side) => side.engine.receive(address, step.max, LONG_MS, step.byteBudget)),
      );
      expect(described(fromRedis!.leases), where).toEqual(described(fromMemory!.leases));
      memory.remember(fromMemory!.leases);
      redis.remember(fromRedis!.leases);
    } else {
      const outIds = [...memory.out.keys()].sort();
      expect([...redis.out.keys()].sort(), where).toEqual(outIds);
      if (outIds.length === 0) continue;
      if (step.kind === "nack") {
        const id = outIds[step.pick % outIds.length] as string;
        for (const side of both) {
          await side.engine.nack(address, side.receipts([id])[0] as string, step.requeue, 0);
          side.forget([id]);
        }
      } else {
        const ids = [...new Set(step.pick.map((pick) => outIds[pick % outIds.length] as string))];
        for (const side of both) {
          if (step.kind === "ack") await side.engine.ack(address, side.receipts(ids));
          else await side.engine.release(address, side.receipts(ids));
          side.forget(ids);
        }
      }
    }
    const [memoryStats, redisStats] = await Promise.all(both.map((side) => side.engine.stats(address)));
    const counts = ({ ready, inflight, delayed, groups, expired }: typeof memoryStats & {}) => ({
      ready,
      inflight,
      delayed,
      groups,
      expired,
    });
    expect(counts(redisStats!), `${where}: counts`).toEqual(counts(memoryStats!));
  }
}

describe("groups and priorities: the Redis engine and the memory engine", () => {
  it("lease the same messages in the same order through random sends, receives, acks, releases and nacks", async () => {
    const deployment = await startDeployment("standalone");
    const redisEngine = await startRedisEngine(deployment, { dedupWindowMs: LONG_MS });
    onCleanup(() => redisEngine.close());
    const memoryEngine = new MemoryQueueEngine({ dedupWindowMs: LONG_MS });
    await memoryEngine.start();
    onCleanup(() => memoryEngine.close());
    let queueNumber = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (plan) => {
        queueNumber += 1;
        const address = { namespace: "/", queue: `differential-${queueNumber}` };
        await run(new Side(memoryEngine), new Side(redisEngine.engine), address, plan);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
