/**
 * Grouped messages through a rolling upgrade from an earlier release with groups (helpers/previous-release.ts):
 * the first one (FIRST_GROUPS_RELEASE, layout 3), whose scripts kept the groups' bookkeeping one message at
 * a time where this checkout batches it and keeps the `groups` hash as a set; and the last one before
 * grouped messages were pushed (UNPUSHED_GROUPS_RELEASE), whose nodes must never be pushed one (this
 * checkout's nodes push them only to credits marked "|g", docs/protocol.md §15). Nodes of both releases
 * send, deliver and ack the same grouped queue at once, the old ones some messages with a priority (which
 * they note nowhere, so this checkout's acks may put such a group among priority 0's turns, and its takes
 * move it: queue-lanes.lua, group-priorities); an old node is killed holding leases; the last messages flow
 * through this checkout's nodes alone. What is proved: nothing accepted is lost, each group's
 * first deliveries come in send order, no two messages of a group are out at once, and once everything is
 * acked the queue holds nothing and counts no group.
 */
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { FIRST_GROUPS_RELEASE, previousReleaseCli, UNPUSHED_GROUPS_RELEASE } from "./helpers/previous-release.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const QUEUE = "orders";
const GROUPS = 12;
const VISIBILITY_MS = 2000;

function isDelayed(n: number): boolean {
  return n % 10 === 3;
}

interface Delivery {
  id: string;
  receipt: string;
  group: string;
  attempt: number;
  data: { n: number };
}

/** What the consumers saw, checked as it happens. */
class GroupChecker {
  readonly delivered = new Set<string>();
  /** Per group: the highest n delivered for the first time. */
  private readonly lastFirst = new Map<string, number>();
  /** Per group: the message delivered and not acked yet, with its lease's end. */
  private readonly out = new Map<string, { id: string; until: number }>();
  readonly violations: string[] = [];

  received(message: Delivery): void {
    const now = Date.now();
    const current = this.out.get(message.group);
    // A margin for the clocks of the test and Redis: only a lease well within its time counts.
    if (current && current.id !== message.id && now < current.until - 300) {
      this.violations.push(`${message.group}: ${message.data.n} while ${current.id} was out`);
    }
    this.out.set(message.group, { id: message.id, until: now + VISIBILITY_MS });
    // A delayed message joins its group when due (§11), so only the others are in send order.
    if (!this.delivered.has(message.id) && !isDelayed(message.data.n)) {
      const last = this.lastFirst.get(message.group) ?? -1;
      if (message.data.n < last) this.violations.push(`${message.group}: ${message.data.n} after ${last}`);
      this.lastFirst.set(message.group, Math.max(last, message.data.n));
    }
    this.delivered.add(message.id);
  }

  acking(message: Delivery): void {
    if (this.out.get(message.group)?.id === message.id) this.out.delete(message.group);
  }
}

/**
 * Sends `perGroup` messages to each group that `which` picks through `socket`, one group's in order, each
 * with the priority `priorityOf` gives it; the ids accepted go to `accepted`. Only one producer at a time
 * sends to a group, so `n` grows in send order (which a priority never changes within a group, §11).
 */
async function produce(
  socket: ClientSocket,
  perGroup: number,
  from: number,
  accepted: Set<string>,
  which: (group: number) => boolean = () => true,
  priorityOf: (n: number) => number = () => 0,
): Promise<void> {
  const groups = Array.from({ length: GROUPS }, (_unused, group) => group).filter(which);
  await Promise.all(
    groups.map(async (group) => {
      for (let index = 0; index < perGroup; index += 1) {
        const n = from + index;
        const delayMs = isDelayed(n) ? 200 : 0;
        const priority = priorityOf(n);
        const reply = await command(socket, "queue:send", {
          queue: QUEUE,
          data: { n },
          group: `g${group}`,
          delayMs,
          ...(priority > 0 ? { priority } : {}),
        });
        expect(reply).toMatchObject({ ok: true });
        accepted.add(reply.id);
      }
    }),
  );
}

/** A consumer through `node` that acks at once, but keeps the first lease of messages `holding` says. */
async function consume(
  node: NodeHandle,
  checker: GroupChecker,
  holding: (n: number) => boolean = () => false,
): Promise<ClientSocket> {
  const socket = await connectSocket(node.url);
  socket.on("queue:message", (message: Delivery) => {
    checker.received(message);
    if (message.attempt === 1 && holding(message.data.n)) return;
    checker.acking(message);
    socket.emit("queue:ack", { queue: QUEUE, receipt: message.receipt }, () => {});
  });
  const reply = await command(socket, "queue:consume", { queue: QUEUE, prefetch: 10, visibilityMs: VISIBILITY_MS });
  expect(reply).toMatchObject({ ok: true });
  return socket;
}

/** Waits until every accepted message has been delivered at least once. */
function everyAcceptedDelivered(accepted: Set<string>, checker: GroupChecker, what: string): Promise<boolean> {
  return waitFor(() => [...accepted].every((id) => checker.delivered.has(id)), { what, timeoutMs: 20_000 });
}

/** Waits until the queue holds nothing ready, in flight or delayed. */
function queueEmpty(socket: ClientSocket): Promise<boolean> {
  return waitFor(
    async () => {
      const stats = await command(socket, "queue:stats", { queue: QUEUE });
      return stats.ready === 0 && stats.inflight === 0 && stats.delayed === 0;
    },
    { what: "the queue to be empty" },
  );
}

describe.each([FIRST_GROUPS_RELEASE, UNPUSHED_GROUPS_RELEASE])(
  "grouped messages through a rolling upgrade from release %s",
  (release) => {
    it("keeps each group's order and one message out, and loses nothing, while both releases serve the queue", async () => {
      const redis = await startRedis();
      const prefix = freshPrefix();
      const cli = await previousReleaseCli(release);
      const [old1, old2] = (await Promise.all([
        startNode({ redisUrl: redis.url, prefix, cli }),
        startNode({ redisUrl: redis.url, prefix, cli }),
      ])) as [NodeHandle, NodeHandle];
      const checker = new GroupChecker();
      const accepted = new Set<string>();

      // The old release alone: a backlog, then a consumer that keeps the first lease of every 9th message.
      const oldProducer = await connectSocket(old1.url);
      await produce(oldProducer, 20, 0, accepted);
      await consume(old2, checker, (n) => n % 9 === 4);
      await waitFor(() => checker.delivered.size >= 60, { what: "the old release to deliver" });

      // Both releases at once: sends through either, consumers on either.
      const [new1, new2] = (await Promise.all([
        startNode({ redisUrl: redis.url, prefix }),
        startNode({ redisUrl: redis.url, prefix }),
      ])) as [NodeHandle, NodeHandle];
      const newProducer = await connectSocket(new1.url);
      // The old consumer alone drains the queue and stands for more: a send through a new node to its idle
      // groups then finds only the old node's credit, which must not be pushed a grouped message (it would
      // misread its receipt): it pulls them.
      await everyAcceptedDelivered(accepted, checker, "the old release to deliver its backlog");
      await queueEmpty(newProducer);
      await produce(newProducer, 1, 50, accepted);
      await everyAcceptedDelivered(accepted, checker, "the old consumer to get the new node's sends");
      const newConsumer = await consume(new2, checker);
      const even = (group: number) => group % 2 === 0;
      const odd = (group: number) => group % 2 === 1;
      const someWithPriority = (n: number) => (n % 4 === 1 ? 5 : 0);
      await Promise.all([
        produce(oldProducer, 20, 100, accepted, even, someWithPriority),
        produce(newProducer, 20, 200, accepted, odd),
      ]);
      await Promise.all([produce(oldProducer, 10, 300, accepted, odd), produce(newProducer, 10, 400, accepted, even)]);

      // The old consumer's node dies holding leases; then the old release is gone.
      await old2.kill();
      await old1.stop();
      await produce(newProducer, 10, 500, accepted);

      await everyAcceptedDelivered(accepted, checker, "every accepted message to be delivered");
      await queueEmpty(newConsumer);
      expect(checker.violations).toEqual([]);
      expect(accepted.size).toBe(GROUPS * 61);
      expect(await command(newConsumer, "queue:stats", { queue: QUEUE })).toMatchObject({ groups: 0, deadLettered: 0 });
    });
  },
);
