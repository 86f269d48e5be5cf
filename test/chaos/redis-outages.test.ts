/**
 * Chaos: Redis failing under load (PRODUCT.md "Reliability", docs/protocol.md §5 "Accepted means durable").
 * - Redis SIGKILLed and restarted from its append-only file: with `appendfsync always` nothing accepted
 *   is lost; with `everysec` the loss (if any) is reported, not failed, since that mode may lose the last
 *   second of writes in a crash of the machine.
 * - Redis restarted empty: every node notices (the cluster epoch is gone), logs an error and says so in
 *   `/readyz`'s body; the loss is reported.
 * - Redis unreachable (SIGSTOP: connections open, no answer) for 10 s: sends answer `UNAVAILABLE`, never
 *   a false `ok`; nothing accepted is lost; flow resumes within 2 s of Redis returning.
 */
import { describe, expect, it } from "vitest";
import type { NodeHandle } from "../helpers/nodes.js";
import { waitFor } from "../helpers/wait.js";
import { expectSafe, History, percentile } from "./checker.js";
import { redeliveryFigures, startChaosCluster } from "./cluster.js";
import { startConsumer } from "./consumers.js";
import { drain, redisQueueCounts, statsReader } from "./drain.js";
import { startLoad } from "./load.js";
import { report, sized } from "./report.js";

const QUEUE = "chaos";
const EMPTY = { ready: 0, inflight: 0, delayed: 0 };
/** The contract's bound on flow resuming after Redis returns. */
const RESUME_WITHIN_MS = 2000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ReadyBody {
  ok: boolean;
  dataLoss?: { detected: number; lastDetectedAt?: number };
}

async function readyBody(node: NodeHandle): Promise<ReadyBody> {
  return (await (await fetch(`${node.url}/readyz`)).json()) as ReadyBody;
}

/** Time from `since` to the first ok answer and to the first delivery that came after it. */
function resumedAfter(history: History, since: number): { sendMs: number; deliveryMs: number } {
  const answers = history
    .sendRecords()
    .filter(([, send]) => send.outcome === "ok" && (send.answeredAt ?? 0) >= since)
    .map(([, send]) => (send.answeredAt ?? 0) - since);
  const deliveries = history
    .allDeliveries()
    .filter((delivery) => delivery.at >= since)
    .map((delivery) => delivery.at - since);
  return { sendMs: Math.min(...answers), deliveryMs: Math.min(...deliveries) };
}

describe("chaos: Redis", () => {
  it.each([
    { appendfsync: "always" as const, mustLoseNothing: true },
    { appendfsync: "everysec" as const, mustLoseNothing: false },
  ])(
    "Redis SIGKILLed under load and restarted with AOF appendfsync $appendfsync: the nodes recover by themselves",
    async ({ appendfsync, mustLoseNothing }) => {
      const { redis, prefix, nodes } = await startChaosCluster(2, { redis: { appendfsync } });
      const history = new History();
      for (const [index, node] of nodes.entries()) {
        await startConsumer({
          name: `c${index}`,
          url: node.url,
          queue: QUEUE,
          history,
          visibilityMs: 2000,
          handleMs: 5,
        });
      }
      const load = startLoad({
        urls: nodes.map((node) => node.url),
        queue: QUEUE,
        history,
        messagesPerSecond: sized(200, 500),
      });
      const restarts = sized(1, 3);
      const downMs = sized(1500, 5000);
      const resumes: { sendMs: number; deliveryMs: number }[] = [];
      for (let round = 0; round < restarts; round += 1) {
        await pause(1000);
        await redis.kill();
        await pause(downMs);
        await redis.restart();
        const backAt = Date.now();
        await pause(1000);
        resumes.push(resumedAfter(history, backAt));
      }
      await load.stop();

      const drained = await drain({ history, stats: await statsReader(nodes[0]!.url, QUEUE), timeoutMs: 20_000 });
      const figures = history.figures();
      const dataLoss = await Promise.all(nodes.map(readyBody));
      report(`redis-restart-aof-${appendfsync}`, {
        restarts,
        downMs,
        ...figures,
        ...redeliveryFigures(history),
        resumeSendMs: resumes.map((resume) => resume.sendMs),
        resumeDeliveryMs: resumes.map((resume) => resume.deliveryMs),
        dataLossNoticed: dataLoss.map((body) => body.dataLoss?.detected ?? 0),
        drainMs: drained.drainMs,
      });
      expect(figures.unexpected).toBe(0);
      expect(figures.accepted).toBeGreaterThan(0);
      if (mustLoseNothing) {
        expectSafe(figures);
        // The epoch survived with the data: no node cried wolf.
        expect(dataLoss.map((body) => body.dataLoss)).toEqual([undefined, undefined]);
      }
      for (const resume of resumes) expect(Math.max(resume.sendMs, resume.deliveryMs)).toBeLessThan(RESUME_WITHIN_MS);
      expect(drained.stats).toEqual(EMPTY);
      expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
    },
  );

  it("every node notices a Redis that came back empty, logs it and says so in /readyz; the loss is reported", async () => {
    const { redis, nodes } = await startChaosCluster(2);
    const history = new History();
    // A backlog the restart will wipe: sent before anyone consumes.
    const load = startLoad({ urls: nodes.map((node) => node.url), queue: QUEUE, history, messagesPerSecond: 200 });
    await waitFor(() => history.acceptedCount() >= 200, { what: "a backlog of 200 accepted messages" });
    await load.stop();
    expect((await Promise.all(nodes.map(readyBody))).map((body) => body.dataLoss)).toEqual([undefined, undefined]);

    await redis.restart();
    const noticed = await waitFor(
      async () => {
        const bodies = await Promise.all(nodes.map(readyBody));
        return bodies.every((body) => body.ok && body.dataLoss?.detected === 1) ? bodies : undefined;
      },
      { timeoutMs: 10_000, what: "both nodes to notice that Redis lost its data" },
    );
    for (const node of nodes) expect(node.output()).toContain("REDIS LOST ITS DATA");

    // The cluster works again, and takes new messages end to end.
    await startConsumer({ name: "after", url: nodes[1]!.url, queue: QUEUE, history });
    const after = startLoad({
      urls: [nodes[0]!.url],
      queue: QUEUE,
      history,
      messagesPerSecond: 100,
      idPrefix: "after",
    });
    await pause(1000);
    await after.stop();
    // The drain waits for what was sent after the restart: the backlog will never come.
    const stats = await statsReader(nodes[0]!.url, QUEUE);
    const unsettledAfter = () => history.unsettledAccepted().filter((id) => id.startsWith("after-")).length;
    await waitFor(async () => unsettledAfter() === 0 && (await stats()).inflight === 0, {
      timeoutMs: 10_000,
      what: "the messages sent after the restart to be consumed",
    }).catch(() => {});
    const figures = history.figures();
    const lostAfter = unsettledAfter();
    report("redis-restart-empty", {
      ...figures,
      lostAfterRestart: lostAfter,
      dataLossNoticed: noticed.map((body) => body.dataLoss?.detected),
    });
    // What Redis lost is lost, and said: every message of the backlog; nothing sent after the restart.
    const backlog = history.sendRecords().filter(([id, send]) => id.startsWith("m-") && send.outcome === "ok").length;
    expect({ lost: figures.lost, lostAfter }).toEqual({ lost: backlog, lostAfter: 0 });
    expect(figures.unexpected).toBe(0);
  });

  it("answers UNAVAILABLE, never a false ok, while Redis hangs for 10 s under load; loses nothing; resumes within 2 s", async () => {
    const outageMs = 10_000;
    const { redis, prefix, nodes } = await startChaosCluster(2);
    const history = new History();
    for (const [index, node] of nodes.entries()) {
      await startConsumer({ name: `c${index}`, url: node.url, queue: QUEUE, history, visibilityMs: 2000, handleMs: 5 });
    }
    const load = startLoad({ urls: nodes.map((node) => node.url), queue: QUEUE, history, messagesPerSecond: 200 });
    const outages = sized(1, 3);
    const windows: { from: number; to: number }[] = [];
    const resumes: { sendMs: number; deliveryMs: number }[] = [];
    for (let round = 0; round < outages; round += 1) {
      await pause(1500);
      redis.pause();
      const from = Date.now();
      await pause(outageMs);
      // The window closes before Redis wakes: read after SIGCONT, a descheduled test process could count
      // answers Redis gave once it was running again as answers "during" the hang.
      const to = Date.now();
      redis.resume();
      windows.push({ from, to });
      await pause(1500);
      resumes.push(resumedAfter(history, to));
    }
    await load.stop();

    const drained = await drain({ history, stats: await statsReader(nodes[0]!.url, QUEUE), timeoutMs: 20_000 });
    const figures = history.figures();
    // Sends invoked and answered inside an outage.
    const during = history
      .sendRecords()
      .filter(([, send]) =>
        windows.some(({ from, to }) => send.invokedAt >= from && send.answeredAt !== undefined && send.answeredAt < to),
      );
    const outcomes: Record<string, number> = {};
    for (const [, send] of during) {
      const outcome = send.outcome === "failed" ? (send.code ?? "?") : send.outcome;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const unavailableAnswerMs = during
      .filter(([, send]) => send.code === "UNAVAILABLE")
      .map(([, send]) => (send.answeredAt ?? 0) - send.invokedAt);
    report("redis-unreachable", {
      outages,
      outageMs,
      ...figures,
      ...redeliveryFigures(history),
      answeredDuringOutage: outcomes,
      unavailableAnswerP50Ms: percentile(unavailableAnswerMs, 0.5),
      unavailableAnswerMaxMs: percentile(unavailableAnswerMs, 1),
      resumeSendMs: resumes.map((resume) => resume.sendMs),
      resumeDeliveryMs: resumes.map((resume) => resume.deliveryMs),
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    // Never a false ok: every send answered during the outage was refused, and with UNAVAILABLE.
    expect(Object.keys(outcomes)).toEqual(["UNAVAILABLE"]);
    for (const resume of resumes) expect(Math.max(resume.sendMs, resume.deliveryMs)).toBeLessThan(RESUME_WITHIN_MS);
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
  });
});
