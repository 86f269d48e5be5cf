/**
 * Queue throughput on a Redis Cluster of 1, 2 and 3 masters (no replicas), and how evenly the masters
 * share the load. For each number of masters: a fresh cluster (infra/redis-cluster.ts: equal contiguous
 * slot ranges), two fresh nodes on it (`--redis-mode cluster`), then queue-throughput's workload (producer
 * on node A with sendBatch of 100, 4 batches awaiting acceptance; consumer on node B with prefetch 100
 * per queue; SDK acks) over 64 queues, the producer's batches going to the queues in turn.
 *
 * Per master it measures the commands it ran (INFO commandstats, those inside scripts counted) and its
 * CPU (INFO cpu), and reports each one's max ÷ mean over the masters: 1.00 is a perfect spread. A queue
 * lives on the master of its hash tag's slot, so the load follows how the 64 queue names hash: the
 * queues each master holds are counted (from its keys) and reported beside it, with the balance of the
 * load per queue held (how evenly the load follows the keys, whatever the names' spread). The queue
 * names are the same in every run, so every run places them alike. A first run on the bench's
 * standalone Redis and nodes is the baseline: what cluster mode itself costs.
 */
import { RedisCluster } from "../infra/redis-cluster.js";
import type { RedisServer } from "../infra/redis-server.js";
import { ServerProcess } from "../infra/server-process.js";
import type { RedisUsage } from "../measure/redis-usage.js";
import type { ScenarioResult } from "../result.js";
import type { BenchContext, Scenario } from "./bench-context.js";
import { describeCpu, runFigures, runQueue } from "./queue-run.js";
import { bestOfRounds } from "./rounds.js";

export const CLUSTER_MASTERS_SCENARIO = "cluster-masters";
/** What every queue name of the scenario starts with; the queue's number follows. */
const QUEUE_NAME_PREFIX = "bench-masters-q";
/** The system name of the baseline run on the bench's standalone Redis. */
const STANDALONE = "standalone";
/** Finds a queue of the scenario in a key name. */
const QUEUE_IN_KEY = new RegExp(`${QUEUE_NAME_PREFIX}\\d+`);

/** One master's share of a run. */
export interface MasterShare {
  /** 1-based, in slot order. */
  master: number;
  slots: string;
  /** Queues of the run whose keys this master holds. */
  queues: number;
  /** Commands it ran during the run (those called inside scripts included; INFO and CONFIG left out). */
  commands: number;
  commandsPerMsg: number;
  /** Its user+sys CPU during the run: seconds, µs per message of the whole run, and cores. */
  cpuSeconds: number;
  cpuUsPerMsg: number;
  cores: number;
  /** The commands that took most of its time. */
  topCommands: RedisUsage["topCommands"];
}

/** Max ÷ mean over the masters of each figure: 1.00 when every master carries the same. */
export interface MasterBalance {
  commands: number;
  cpu: number;
  queues: number;
  /**
   * Commands and CPU per queue the master holds: how evenly the load follows the queues, whatever the
   * names' spread. Null when a master holds none.
   */
  commandsPerQueue: number | null;
  cpuPerQueue: number | null;
}

export interface ClusterMastersDetails {
  /** `standalone`: the bench's own Redis and nodes, the baseline of what cluster mode costs. */
  redisMode: "standalone" | "cluster";
  masters: number;
  queues: number;
  messages: number;
  received: number;
  perMaster: MasterShare[];
  balance: MasterBalance;
  cpuCores: Record<string, number>;
}

export const clusterMasters: Scenario = {
  name: CLUSTER_MASTERS_SCENARIO,
  about: "queue throughput over 64 queues on a Redis Cluster of 1, 2, 3 masters; each master's share",
  async run(context: BenchContext) {
    const { clusterMasters: masterCounts, clusterQueues, clusterMessages } = context.sizes;
    const queues = Array.from(
      { length: clusterQueues },
      (_, index) => `${QUEUE_NAME_PREFIX}${String(index).padStart(2, "0")}`,
    );
    await bestOfRounds(context, [
      { system: STANDALONE, run: () => onStandalone(context, queues, clusterMessages) },
      ...masterCounts.map((masters) => ({
        system: mastersLabel(masters),
        run: () => onCluster(context, masters, queues, clusterMessages),
      })),
    ]);
  },
};

/** "1 master", "3 masters": the system column of the scenario's rows. */
function mastersLabel(masters: number): string {
  return `${masters} master${masters === 1 ? "" : "s"}`;
}

/** The same workload on the bench's standalone Redis and nodes: what cluster mode itself costs. */
function onStandalone(context: BenchContext, queues: string[], messages: number): Promise<ScenarioResult> {
  context.progress(`${CLUSTER_MASTERS_SCENARIO}: ${STANDALONE}, ${queues.length} queues, ${messages} messages`);
  return measured(context, {
    system: STANDALONE,
    redisMode: "standalone",
    nodeA: context.nodeA,
    nodeB: context.nodeB,
    servers: [context.redis],
    slots: ["(no cluster)"],
    queues,
    messages,
  });
}

async function onCluster(
  context: BenchContext,
  masters: number,
  queues: string[],
  messages: number,
): Promise<ScenarioResult> {
  context.progress(
    `${CLUSTER_MASTERS_SCENARIO}: ${mastersLabel(masters)}, ${queues.length} queues, ${messages} messages`,
  );
  const cluster = await RedisCluster.start(masters);
  try {
    const started = await Promise.allSettled(
      ["A", "B"].map((label) =>
        ServerProcess.mailroomNode({
          label: `cluster node ${label}`,
          redisUrl: cluster.seedUrls,
          redisMode: "cluster",
          prefix: `${context.prefix}-cluster`,
        }),
      ),
    );
    const nodes = started.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    try {
      const [nodeA, nodeB] = nodes;
      if (!nodeA || !nodeB) {
        const failure = started.find((outcome) => outcome.status === "rejected");
        throw failure?.reason ?? new Error("two Mailroom nodes are needed");
      }
      return await measured(context, {
        system: mastersLabel(masters),
        redisMode: "cluster",
        nodeA,
        nodeB,
        servers: cluster.masters,
        slots: cluster.slotRanges.map((range) => `${range.first}-${range.last}`),
        queues,
        messages,
      });
    } finally {
      await Promise.all(nodes.map((node) => node.kill()));
    }
  } finally {
    await cluster.stop();
  }
}

interface Setup {
  system: string;
  redisMode: ClusterMastersDetails["redisMode"];
  nodeA: ServerProcess;
  nodeB: ServerProcess;
  /** The Redis servers the nodes use: the masters in slot order, or the one standalone server. */
  servers: readonly RedisServer[];
  /** Each server's slots, as text. */
  slots: string[];
  queues: string[];
  messages: number;
}

/** Runs the workload on ready nodes and reports the rate with each server's share. */
async function measured(context: BenchContext, setup: Setup): Promise<ScenarioResult> {
  const { queues, messages } = setup;
  const labels = setup.servers.map((_, index) => (setup.redisMode === "cluster" ? `master ${index + 1}` : "redis"));
  const run = await runQueue(
    { ...context, nodeA: setup.nodeA, nodeB: setup.nodeB },
    {
      system: "mailroom",
      queues,
      mode: "burst",
      messages,
      ratePerSecond: 0,
      warmup: 0,
      redisServers: setup.servers.map((server, index) => ({ label: labels[index] ?? "", server })),
    },
  );
  const placed = await Promise.all(setup.servers.map((server) => queuesHeld(server.keys("*"))));
  const perMaster: MasterShare[] = (run.redisEach ?? []).map((usage, index) => ({
    master: index + 1,
    slots: setup.slots[index] ?? "?",
    queues: placed[index] ?? 0,
    commands: usage.commands,
    commandsPerMsg: usage.commandsPerMsg,
    cpuSeconds: usage.cpuSeconds,
    cpuUsPerMsg: usage.cpuUsPerMsg,
    cores: run.cpu.cores[labels[index] ?? ""] ?? 0,
    topCommands: usage.topCommands,
  }));
  const everyMasterHoldsQueues = perMaster.every((share) => share.queues > 0);
  const perQueue = (pick: (share: MasterShare) => number) =>
    everyMasterHoldsQueues ? maxOverMean(perMaster.map((share) => pick(share) / share.queues)) : null;
  const balance: MasterBalance = {
    commands: maxOverMean(perMaster.map((share) => share.commands)),
    cpu: maxOverMean(perMaster.map((share) => share.cpuSeconds)),
    queues: maxOverMean(perMaster.map((share) => share.queues)),
    commandsPerQueue: perQueue((share) => share.commands),
    cpuPerQueue: perQueue((share) => share.cpuSeconds),
  };
  const details: ClusterMastersDetails = {
    redisMode: setup.redisMode,
    masters: setup.servers.length,
    queues: queues.length,
    messages,
    received: run.consumer.received,
    perMaster,
    balance,
    cpuCores: run.cpu.cores,
  };
  return {
    name: CLUSTER_MASTERS_SCENARIO,
    system: setup.system,
    ...runFigures(run, messages),
    notes: [
      `${messages} msgs over ${queues.length} queues in ${(run.elapsedMs / 1000).toFixed(1)} s`,
      `latency max ${run.consumer.latency.maxMs} ms`,
      `${run.redis?.commandsPerMsg} Redis cmds/msg`,
      `Redis µs/msg per master ${perMaster.map((share) => share.cpuUsPerMsg).join(" / ")}`,
      `queues per master ${perMaster.map((share) => share.queues).join(" / ")}`,
      `max ÷ mean over the masters: commands ${balance.commands.toFixed(2)}, CPU ${balance.cpu.toFixed(2)}, ` +
        `queues ${balance.queues.toFixed(2)}; per queue held: commands ${balance.commandsPerQueue?.toFixed(2)}, ` +
        `CPU ${balance.cpuPerQueue?.toFixed(2)}`,
      `CPU cores: ${describeCpu(run.cpu.cores)}`,
    ].join("; "),
    details: { ...details },
  };
}

/** How many of the scenario's queues have keys among `keys`. */
async function queuesHeld(keys: Promise<string[]>): Promise<number> {
  const queues = new Set<string>();
  for (const key of await keys) {
    const queue = QUEUE_IN_KEY.exec(key)?.[0];
    if (queue) queues.add(queue);
  }
  return queues.size;
}

/** max ÷ mean, to hundredths; 1 for one value or none. */
function maxOverMean(values: number[]): number {
  const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);
  if (mean <= 0) return 1;
  return Math.round((Math.max(...values) / mean) * 100) / 100;
}
