/**
 * Chaos: the Redis deployments of docs/protocol.md §14 failing under load (RELIABILITY.md). Each scenario
 * runs two real nodes on a real deployment (a Redis Cluster of 3 masters + 3 replicas, or a Sentinel set),
 * producers on both nodes, consumers on both, over several queues (on a cluster, one on each master), and
 * accounts for every message with the checker after the fault and a full drain:
 * - a cluster master SIGKILLed (its replica takes over; the old master comes back as a replica): with
 *   `--redis-wait-replicas 1` nothing accepted is lost; with 0 the loss is reported, not failed (Redis
 *   replication is asynchronous);
 * - a graceful `CLUSTER FAILOVER` of each master in turn, and a slot migration of a busy queue: nothing
 *   lost, flow goes on, the nodes are ready again;
 * - a Sentinel master SIGKILLed with `--redis-wait-replicas 1` and a replica more than failovers (so the
 *   promoted master still has one): nothing lost, the nodes follow the failover with no restart, `/readyz`
 *   shows the outage.
 * Each reports the checker's figures, the answers other than `ok` by code, the longest time between two
 * accepted sends of each queue, each node's stretches of not being ready, and the error lines the nodes
 * logged (what lies behind an `INTERNAL`).
 * The quick form (`npm test`) runs the master SIGKILL with WAIT on the cluster and the Sentinel scenario;
 * `CHAOS=full` runs every scenario, longer and under more load.
 */
import { describe, expect, it } from "vitest";
import type { NodeHandle } from "../helpers/nodes.js";
import type { RedisCluster } from "../helpers/redis-cluster.js";
import { type RedisDeployment, startDeployment } from "../helpers/redis-deployments.js";
import { waitFor } from "../helpers/wait.js";
import { expectSafe, History } from "./checker.js";
import { redeliveryFigures, startChaosClusterOn, watchReadiness } from "./cluster.js";
import { startConsumer } from "./consumers.js";
import { drain, type QueueCounts, redisQueueCounts, statsReader } from "./drain.js";
import { type Load, startLoad } from "./load.js";
import { FULL, report, sized } from "./report.js";

const EMPTY = { ready: 0, inflight: 0, delayed: 0 };
/** Queues of a run: on a cluster, spread over its masters (the first is the one a fault aims at). */
const QUEUE_COUNT = 3;
/** Short leases, so that an ack lost in a failover brings its message back within the run. */
const VISIBILITY_MS = 2000;
/** How long each handler works. */
const HANDLE_MS = 5;
/** Load on the whole run, spread evenly over the queues. */
const MESSAGES_PER_SECOND = sized(90, 450);
/** Load before the first fault and after the last, so each fault strikes and ends under steady flow. */
const STEADY_MS = sized(1500, 4000);
/** Bound on a drain: long enough for leases lost in a failover to expire and come back. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Bound on a drain when a loss is allowed: a lost message never comes, so the drain runs to its end. */
const LOSSY_DRAIN_TIMEOUT_MS = 10_000;
/** Quick scenarios fit the quick budget; the full ones run for minutes. */
const SCENARIO_TIMEOUT_MS = sized(120_000, 600_000);
/** pino's level number of `error`. */
const FATAL_LEVEL = 60;
const ERROR_LEVEL = 50;
/** How long a node may take to be ready again after a graceful failover or a migration. */
const READY_AGAIN_WITHIN_MS = 10_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` queue names on a cluster whose slots lie on every master in turn: one queue per master first. */
async function queuesOnEveryMaster(cluster: RedisCluster, count: number): Promise<string[]> {
  const masters = await cluster.mastersNow();
  const perMaster = Math.ceil(count / masters.length);
  const byMaster = new Map(masters.map((master) => [master.port, [] as string[]]));
  for (let candidate = 0; [...byMaster.values()].some((names) => names.length < perMaster); candidate += 1) {
    const name = `q-${candidate}`;
    byMaster.get((await cluster.masterFor(queueTag(name))).port)?.push(name);
  }
  const rounds = [...byMaster.values()];
  return Array.from(
    { length: count },
    (_, index) => rounds[index % rounds.length]?.[Math.floor(index / rounds.length)] ?? "",
  );
}

/** The hash tag of a queue's keys in namespace "/" (docs/protocol.md §14, "One slot per script"). */
function queueTag(queue: string): string {
  return `{/:${queue}}`;
}

/** The system under test, loaded: two nodes, producers and consumers on both, one load per queue. */
interface Run {
  deployment: RedisDeployment;
  nodes: NodeHandle[];
  prefix: string;
  queues: string[];
  history: History;
  loads: Load[];
  readiness: ReturnType<typeof watchReadiness>[];
}

async function startRun(
  deployment: RedisDeployment,
  options: { waitReplicas: number; queues: string[] },
): Promise<Run> {
  const { queues } = options;
  const { nodes, prefix } = await startChaosClusterOn(deployment, 2, {
    node: { args: ["--redis-wait-replicas", String(options.waitReplicas)] },
  });
  const history = new History();
  for (const [index, node] of nodes.entries()) {
    for (const queue of queues) {
      const name = `c${index}-${queue}`;
      await startConsumer({ name, url: node.url, queue, history, visibilityMs: VISIBILITY_MS, handleMs: HANDLE_MS });
    }
  }
  const readiness = nodes.map((node) => watchReadiness(node));
  const loads = queues.map((queue) =>
    startLoad({
      urls: nodes.map((node) => node.url),
      queue,
      history,
      messagesPerSecond: MESSAGES_PER_SECOND / queues.length,
      idPrefix: queue,
    }),
  );
  await pause(STEADY_MS);
  return { deployment, nodes, prefix, queues, history, loads, readiness };
}

/** The run's end: load stopped, every queue drained; its figures, reported under `scenario`. */
async function finishRun(run: Run, scenario: string, options: { lossAllowed?: boolean; fault: object }) {
  const { history, queues, nodes } = run;
  await pause(STEADY_MS);
  await Promise.all(run.loads.map((load) => load.stop()));
  const readers = await Promise.all(queues.map((queue) => statsReader(nodes[0]?.url ?? "", queue)));
  const stats = async (): Promise<QueueCounts> => {
    const counts = await Promise.all(readers.map((read) => read()));
    return {
      ready: sum(counts.map((count) => count.ready)),
      inflight: sum(counts.map((count) => count.inflight)),
      delayed: sum(counts.map((count) => count.delayed)),
    };
  };
  const timeoutMs = options.lossAllowed ? LOSSY_DRAIN_TIMEOUT_MS : DRAIN_TIMEOUT_MS;
  const drained = await drain({ history, stats, timeoutMs });
  const statuses = await Promise.all(run.readiness.map((watch) => watch.stop()));
  const figures = history.figures();
  const left = await Promise.all(queues.map((queue) => redisQueueCounts(run.deployment, run.prefix, queue)));
  const outcome = {
    ...figures,
    ...redeliveryFigures(history),
    failedByCode: failuresByCode(history),
    ackFailures: ackFailures(history),
    longestOkGapMs: Object.fromEntries(queues.map((queue) => [queue, longestOkGapMs(history, queue)])),
    notReady: statuses.map(notReadySpans),
    nodeErrors: nodeErrorCounts(nodes),
    ...options.fault,
    drainMs: drained.drainMs,
  };
  const { lostSample, unexpectedSample, ...shown } = outcome;
  report(scenario, {
    deployment: run.deployment.kind,
    queues: queues.length,
    messagesPerSecond: MESSAGES_PER_SECOND,
    visibilityMs: VISIBILITY_MS,
    ...shown,
    ...(figures.lost > 0 ? { lostSample } : {}),
  });
  return { figures, drained, left, statuses };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Sends answered with an error, by code (`UNAVAILABLE` while a failover lasts). */
function failuresByCode(history: History): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, send] of history.sendRecords()) {
    if (send.outcome === "failed") counts[send.code ?? "?"] = (counts[send.code ?? "?"] ?? 0) + 1;
  }
  return counts;
}

/** Acks that came back stale (the lease had ended) or failed (an error such as `UNAVAILABLE`). */
function ackFailures(history: History): { stale: number; failed: number } {
  const deliveries = history.allDeliveries();
  return {
    stale: deliveries.filter((delivery) => delivery.ackProblem === "stale").length,
    failed: deliveries.filter((delivery) => delivery.ackProblem === "failed").length,
  };
}

/** The longest time between two `ok` answers to sends to `queue` (its ids start with the queue's name). */
function longestOkGapMs(history: History, queue: string): number {
  const times = history
    .sendRecords()
    .filter(([id, send]) => id.startsWith(`${queue}-`) && send.outcome === "ok")
    .map(([, send]) => send.answeredAt ?? 0)
    .sort((a, b) => a - b);
  let longest = 0;
  for (let index = 1; index < times.length; index += 1) {
    longest = Math.max(longest, (times[index] as number) - (times[index - 1] as number));
  }
  return longest;
}

/**
 * The error lines the nodes logged, counted by message and cause (ports and other long numbers as N):
 * what lies behind an answer other than `ok`, e.g. a Redis reply that reached a client as `INTERNAL`.
 */
function nodeErrorCounts(nodes: readonly NodeHandle[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of nodes.flatMap((node) => node.output().split("\n"))) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; stack?: string } };
    if ((entry.level ?? 0) < ERROR_LEVEL) continue;
    // A fatal error ends the node: where it was thrown says more than its message.
    const where = (entry.level ?? 0) >= FATAL_LEVEL ? ` (${entry.err?.stack?.split("\n").slice(1, 4).join(" ")})` : "";
    const key = `${entry.msg ?? ""}${entry.err?.message ? `: ${entry.err.message}` : ""}${where}`.replace(
      /\d{4,}/g,
      "N",
    );
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Each stretch of a node's `/readyz` answers other than 200: when it began and how long it lasted. */
function notReadySpans(statuses: readonly { at: number; status: number }[]): { from: number; ms: number }[] {
  const spans: { from: number; ms: number }[] = [];
  let from: number | undefined;
  for (const { at, status } of statuses) {
    if (status !== 200 && from === undefined) from = at;
    if (status === 200 && from !== undefined) {
      spans.push({ from, ms: at - from });
      from = undefined;
    }
  }
  if (from !== undefined) spans.push({ from, ms: (statuses.at(-1)?.at ?? from) - from });
  return spans;
}

/** Flow went on after `since`: every queue had a send accepted and a delivery made after it. */
function expectFlowAfter(run: Run, since: number): void {
  const { history } = run;
  for (const queue of run.queues) {
    const accepted = history
      .sendRecords()
      .some(([id, send]) => id.startsWith(`${queue}-`) && send.outcome === "ok" && (send.answeredAt ?? 0) > since);
    const delivered = history.allDeliveries().some((delivery) => delivery.queue === queue && delivery.at > since);
    expect({ queue, accepted, delivered }).toEqual({ queue, accepted: true, delivered: true });
  }
}

/** The end of every scenario that must lose nothing: the checker, the cluster's stats and Redis itself. */
function expectNothingLost(result: Awaited<ReturnType<typeof finishRun>>): void {
  expectSafe(result.figures);
  expect(result.drained.stats).toEqual(EMPTY);
  for (const counts of result.left) expect(counts).toEqual(EMPTY);
}

/** Ms from `since` until every node answers `/readyz` 200, or null if one still does not after a while. */
async function readyAgainAfter(
  nodes: readonly NodeHandle[],
  since: number,
  timeoutMs = READY_AGAIN_WITHIN_MS,
): Promise<number | null> {
  try {
    await waitFor(
      async () => {
        const answers = await Promise.all(nodes.map((node) => fetch(`${node.url}/readyz`)));
        return answers.every((answer) => answer.status === 200);
      },
      { timeoutMs, what: "every node ready" },
    );
    return Date.now() - since;
  } catch {
    return null;
  }
}

function clusterOf(deployment: RedisDeployment): RedisCluster {
  if (!deployment.cluster) throw new Error(`a ${deployment.kind} deployment is not a cluster`);
  return deployment.cluster;
}

async function startClusterRun(waitReplicas: number): Promise<Run & { cluster: RedisCluster }> {
  const deployment = await startDeployment("cluster");
  const cluster = clusterOf(deployment);
  const queues = await queuesOnEveryMaster(cluster, QUEUE_COUNT);
  return { ...(await startRun(deployment, { waitReplicas, queues })), cluster };
}

/**
 * Kills the master of one queue after another (the first in the quick form) and restarts it once its
 * replica took over; checks and reports the run as `cluster-master-sigkill-wait<N>`.
 */
async function masterSigkill(waitReplicas: number, options: { mustLoseNothing: boolean }): Promise<void> {
  const run = await startClusterRun(waitReplicas);
  const { cluster } = run;
  const kills: { queue: string; failoverMs: number; replicaBackMs: number }[] = [];
  let recoveredAt = 0;
  for (let round = 0; round < sized(1, 3); round += 1) {
    if (round > 0) await pause(STEADY_MS);
    const queue = run.queues[round % run.queues.length] as string;
    const victim = await cluster.masterFor(queueTag(queue));
    const killedAt = Date.now();
    await victim.kill();
    await cluster.waitHealthy();
    const failoverMs = Date.now() - killedAt;
    // The operator's part: the old master comes back, as a replica of its successor (WAIT 1 needs one).
    await victim.restart();
    await cluster.waitHealthy();
    recoveredAt = Date.now();
    kills.push({ queue, failoverMs, replicaBackMs: recoveredAt - killedAt });
  }
  const result = await finishRun(run, `cluster-master-sigkill-wait${waitReplicas}`, {
    lossAllowed: !options.mustLoseNothing,
    fault: { waitReplicas, kills },
  });
  expect(result.figures.unexpected).toBe(0);
  expect(result.figures.accepted).toBeGreaterThan(0);
  expectFlowAfter(run, recoveredAt);
  if (options.mustLoseNothing) expectNothingLost(result);
  // Every node saw the outage (it needs every slot's master) and is ready again.
  for (const statuses of result.statuses) {
    expect(notReadySpans(statuses).length).toBeGreaterThan(0);
    expect(statuses.at(-1)?.status).toBe(200);
  }
}

describe("chaos: a Redis Cluster", () => {
  it(
    "a master SIGKILLed under load with --redis-wait-replicas 1: its replica takes over, nothing accepted is lost",
    () => masterSigkill(1, { mustLoseNothing: true }),
    SCENARIO_TIMEOUT_MS,
  );

  it.skipIf(!FULL)(
    "a master SIGKILLed under load with --redis-wait-replicas 0: the loss (asynchronous replication) is reported",
    () => masterSigkill(0, { mustLoseNothing: false }),
    SCENARIO_TIMEOUT_MS,
  );

  it.skipIf(!FULL).each([{ waitReplicas: 1 }, { waitReplicas: 0 }])(
    "a graceful CLUSTER FAILOVER of each master in turn under load: nothing lost, the nodes ready again (--redis-wait-replicas $waitReplicas)",
    async ({ waitReplicas }) => {
      const run = await startClusterRun(waitReplicas);
      const { cluster } = run;
      const failovers: { queue: string; from: number; to: number; ms: number; readyAgainMs: number | null }[] = [];
      let doneAt = 0;
      for (let round = 0; round < sized(1, 3); round += 1) {
        if (round > 0) await pause(STEADY_MS);
        // Each round fails over another queue's master: in the full form every master, so every slot moves.
        const queue = run.queues[round % run.queues.length] as string;
        const master = await cluster.masterFor(queueTag(queue));
        const replica = await cluster.replicaOf(master);
        const startedAt = Date.now();
        await cluster.failover(replica);
        doneAt = Date.now();
        const readyAgainMs = await readyAgainAfter(run.nodes, startedAt);
        failovers.push({ queue, from: master.port, to: replica.port, ms: doneAt - startedAt, readyAgainMs });
      }
      const result = await finishRun(run, `cluster-graceful-failover-wait${waitReplicas}`, {
        fault: { waitReplicas, failovers },
      });
      expectNothingLost(result);
      expectFlowAfter(run, doneAt);
      // A node whose readiness probe's slot moved must be ready again, or a balancer that follows
      // /readyz takes it out for good.
      const stuck = failovers.filter((failover) => failover.readyAgainMs === null).map((failover) => failover.from);
      expect(stuck, `masters whose failover left a node not ready for ${READY_AGAIN_WITHIN_MS} ms`).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it.skipIf(!FULL)(
    "the slot of a busy queue migrated to another master under load: nothing lost, flow goes on",
    async () => {
      const run = await startClusterRun(1);
      const { cluster } = run;
      const busy = run.queues[0] as string;
      const slot = await cluster.slotOf(queueTag(busy));
      const migrations: { from: number; to: number; ms: number; readyAgainMs: number | null }[] = [];
      let doneAt = 0;
      for (let round = 0; round < sized(1, 3); round += 1) {
        if (round > 0) await pause(STEADY_MS);
        const from = await cluster.masterFor(queueTag(busy));
        const to = (await cluster.mastersNow()).find((master) => master !== from);
        if (!to) throw new Error("no other master to move the slot to");
        const startedAt = Date.now();
        await cluster.migrateSlot(slot, to);
        doneAt = Date.now();
        expect((await cluster.masterFor(queueTag(busy))).port).toBe(to.port);
        const readyAgainMs = await readyAgainAfter(run.nodes, startedAt);
        migrations.push({ from: from.port, to: to.port, ms: doneAt - startedAt, readyAgainMs });
      }
      const result = await finishRun(run, "cluster-slot-migration", { fault: { waitReplicas: 1, slot, migrations } });
      expectNothingLost(result);
      expectFlowAfter(run, doneAt);
      const stuck = migrations.filter((migration) => migration.readyAgainMs === null).map((migration) => migration.to);
      expect(stuck, `migrations (by target) that left a node not ready for ${READY_AGAIN_WITHIN_MS} ms`).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});

describe("chaos: Redis with Sentinel", () => {
  it(
    "the master SIGKILLed under load with --redis-wait-replicas 1 and a replica left: nothing lost, the nodes follow, /readyz shows the outage",
    async () => {
      // A replica more than failovers: the promoted master still has one, so WAIT 1 can succeed again
      // (a killed master stays down; the sentinels point the replicas left at the promoted one).
      const failovers = sized(1, 2);
      const replicas = failovers + 1;
      const deployment = await startDeployment("sentinel", "test", { sentinelReplicas: replicas });
      const sentinel = deployment.sentinel;
      if (!sentinel) throw new Error("no Sentinel set");
      const run = await startRun(deployment, { waitReplicas: 1, queues: ["s-a", "s-b", "s-c"] });
      const pids = run.nodes.map((node) => node.pid());
      const rounds: { failoverMs: number; readyAgainMs: number | null }[] = [];
      let readyAt = 0;
      for (let round = 0; round < failovers; round += 1) {
        if (round > 0) await pause(STEADY_MS);
        const killedAt = Date.now();
        const old = await sentinel.killMaster();
        await sentinel.waitForFailover(old.port);
        const failoverMs = Date.now() - killedAt;
        rounds.push({ failoverMs, readyAgainMs: await readyAgainAfter(run.nodes, killedAt) });
        readyAt = Date.now();
      }
      const result = await finishRun(run, "sentinel-master-sigkill-wait1", {
        fault: { waitReplicas: 1, replicas, failovers: rounds },
      });
      expectNothingLost(result);
      expectFlowAfter(run, readyAt);
      // The nodes followed by themselves: the same processes throughout, not ready while it lasted, then
      // ready again.
      expect(
        rounds.filter((failover) => failover.readyAgainMs === null),
        "failovers the nodes never recovered from",
      ).toEqual([]);
      expect(run.nodes.map((node) => node.pid())).toEqual(pids);
      for (const statuses of result.statuses) expect(notReadySpans(statuses).length).toBeGreaterThan(0);
      // Ready again: a probe can still miss once on a loaded machine just after the switch, so wait for it.
      for (const node of run.nodes) {
        await waitFor(async () => (await fetch(`${node.url}/readyz`)).status === 200, {
          timeoutMs: 10_000,
          what: `${node.url} ready after the failover`,
        });
      }
    },
    SCENARIO_TIMEOUT_MS,
  );
});
