/**
 * The readable report after the JSON lines: every figure with its ratio to Mailroom, the product
 * targets of PRODUCT.md checked against this run, each Redis Cluster master's share when cluster-masters
 * ran, and the profile's hot spots when it ran.
 */
import Table from "cli-table3";
import type { HotSpot, ProfileSummary } from "../measure/cpu-profile.js";
import type { ScriptCost } from "../measure/redis-scripts.js";
import type { RedisUsage } from "../measure/redis-usage.js";
import type { ScenarioResult } from "../result.js";
import { CLUSTER_MASTERS_SCENARIO, type ClusterMastersDetails } from "../scenarios/cluster-masters.js";
import { groupedRun, orderKept, QUEUE_GROUPS_SCENARIO, UNGROUPED } from "../scenarios/queue-groups.js";
import { headlineOver, kibPerSocket, mailroomOver, ratioToMailroom } from "./ratios.js";

const plain = { style: { head: [], border: [] } };

function figure(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : String(value);
}

export function resultsTable(results: ScenarioResult[]): string {
  const table = new Table({
    ...plain,
    head: [
      "scenario",
      "system",
      "msgs/s",
      "p50 ms",
      "p99 ms",
      "Redis µs/msg",
      "CPU µs/msg",
      "KiB/socket",
      "Mailroom ÷ this",
    ],
  });
  for (const result of results) {
    if (result.name === "queue-profile") continue;
    table.push([
      result.name,
      result.system,
      result.notes.startsWith("skipped") ? (result.notes.split(" (")[0] ?? "skipped") : figure(result.msgsPerSec),
      figure(result.p50Ms),
      figure(result.p99Ms),
      figure(result.redisCpuUsPerMsg),
      figure(result.cpuUsPerMsg),
      figure(kibPerSocket(result)),
      ratioToMailroom(result, results),
    ]);
  }
  return table.toString();
}

interface Target {
  target: string;
  measured: (results: ScenarioResult[]) => { text: string; met: boolean } | undefined;
}

const find = (results: ScenarioResult[], name: string, system: string) =>
  results.find((result) => result.name === name && result.system === system);

const TARGETS: Target[] = [
  {
    target: "queue throughput ≥ 2× BullMQ",
    measured: (results) => ratio(mailroomOver("queue-throughput", "bullmq", results), 2),
  },
  {
    target: "stretch: queue throughput ahead of RabbitMQ",
    measured: (results) => ratio(mailroomOver("queue-throughput", "rabbitmq", results), 1),
  },
  {
    target: "stock client: queue throughput ≥ RabbitMQ",
    measured: (results) => {
      const outcome = ratio(headlineOver("queue-throughput", "mailroom-stock", "rabbitmq", results), 1);
      const floor = headlineOver("queue-throughput", STACK_FLOOR, "rabbitmq", results);
      return outcome && floor !== null ? { ...outcome, text: `${outcome.text} (${floorText(floor)})` } : outcome;
    },
  },
  {
    target: "Redis CPU ≤ 10 µs per message (at saturation)",
    measured: (results) => {
      const value = find(results, "queue-throughput", "mailroom")?.redisCpuUsPerMsg;
      return value == null ? undefined : { text: `${value} µs`, met: value <= 10 };
    },
  },
  { target: "p99 ≤ 5 ms at a steady 2,000 msg/s across nodes", measured: steadyP99("mailroom") },
  { target: "p99 ≤ 5 ms at 2,000 msg/s, stock client", measured: steadyP99("mailroom-stock") },
  { target: "CPU per message ≤ RabbitMQ's at 2,000 msg/s", measured: steadyCpuAgainstRabbitmq("mailroom") },
  {
    target: "CPU per message ≤ RabbitMQ's at 2,000 msg/s, stock client",
    measured: steadyCpuAgainstRabbitmq("mailroom-stock"),
  },
  {
    target: "room fan-out ≥ 90% of raw Socket.IO + Redis adapter",
    measured: (results) => {
      const value = mailroomOver("room-fanout", "socket.io", results);
      return value === null ? undefined : { text: `${Math.round(value * 100)}%`, met: value >= 0.9 };
    },
  },
  {
    target: "Redis Cluster: each master within 1.15× of the mean (commands, CPU)",
    measured: (results) => {
      const spread = clusterRuns(results).filter(
        ({ details }) => details.redisMode === "cluster" && details.masters > 1,
      );
      if (spread.length === 0) return undefined;
      const worst = (pick: (details: ClusterMastersDetails) => number) =>
        Math.max(...spread.map(({ details }) => pick(details)));
      const commands = worst((details) => details.balance.commands);
      const cpu = worst((details) => details.balance.cpu);
      const masters = spread.map(({ details }) => details.masters).join(", ");
      return {
        text: `worst over ${masters} masters: commands ${commands.toFixed(2)}×, CPU ${cpu.toFixed(2)}×`,
        met: Math.max(commands, cpu) <= MASTER_BALANCE_TARGET,
      };
    },
  },
  {
    target: "groups: Redis µs/msg within 1.5× of ungrouped (1,000 groups, prefetch 100)",
    measured: (results) => {
      const run = groupedRun(results);
      const ratio = run?.details.vsUngrouped?.redisCpuUsPerMsg;
      if (!run || ratio == null) return undefined;
      const ungrouped = find(results, QUEUE_GROUPS_SCENARIO, UNGROUPED)?.redisCpuUsPerMsg;
      return {
        text:
          `${ratio.toFixed(2)}× (${figure(run.result.redisCpuUsPerMsg)} vs ${figure(ungrouped)} µs; ` +
          `${run.details.groups.toLocaleString("en-US")} groups)`,
        met: ratio <= GROUPS_REDIS_COST_TARGET,
      };
    },
  },
  {
    target: "groups: each group's messages delivered in send order, one out at a time",
    measured: (results) => {
      const run = groupedRun(results);
      if (!run) return undefined;
      const { groupOrder } = run.details;
      return {
        text:
          `${groupOrder.orderViolations} order violations, ${groupOrder.overlaps} overlaps in ` +
          `${groupOrder.firstDeliveries.toLocaleString("en-US")} first deliveries`,
        met: orderKept(run.result),
      };
    },
  },
  {
    target: "10,000 idle sockets held on one node",
    measured: (results) => {
      const value = find(results, "idle-sockets", "mailroom")?.details?.sockets;
      return typeof value !== "number" ? undefined : { text: `${value} held`, met: value >= 10_000 };
    },
  },
];

/**
 * The floor of Mailroom's stack (systems/socketio-relay-queue.ts): where it ran, the rows measured against
 * RabbitMQ say what the stack alone reaches, with no queue at all.
 */
const STACK_FLOOR = "socketio-relay";

function floorText(floorOverRabbitmq: number): string {
  return `the stack's floor ${floorOverRabbitmq.toFixed(2)}×`;
}

/** PRODUCT.md: p99 at the steady 2,000 msg/s (queue-latency), in ms. */
const STEADY_P99_TARGET_MS = 5;

/** The queue-latency p99 of a Mailroom system against the target. */
function steadyP99(system: string): Target["measured"] {
  return (results) => {
    const value = find(results, "queue-latency", system)?.p99Ms;
    return value == null ? undefined : { text: `${value} ms`, met: value <= STEADY_P99_TARGET_MS };
  };
}

/** The queue-latency CPU per message (every process) of a Mailroom system ÷ RabbitMQ's in the same run. */
function steadyCpuAgainstRabbitmq(system: string): Target["measured"] {
  return (results) => {
    const ours = find(results, "queue-latency", system)?.cpuUsPerMsg;
    const theirs = find(results, "queue-latency", "rabbitmq")?.cpuUsPerMsg;
    if (ours == null || theirs == null || theirs === 0) return undefined;
    const value = ours / theirs;
    const floor = find(results, "queue-latency", STACK_FLOOR)?.cpuUsPerMsg;
    const floorPart = floor == null ? "" : `; ${floorText(floor / theirs)}, ${figure(floor)} µs`;
    return {
      text: `${figure(ours)} µs vs RabbitMQ ${figure(theirs)} µs (${value.toFixed(2)}×${floorPart})`,
      met: value <= 1,
    };
  };
}

/** Issue 17: grouped messages cost Redis at most this much more CPU per message than ungrouped ones. */
const GROUPS_REDIS_COST_TARGET = 1.5;

/** PRODUCT.md: on a Redis Cluster, each master carries at most this much more than the mean. */
const MASTER_BALANCE_TARGET = 1.15;

/** The cluster-masters results that ran, with their per-master details. */
function clusterRuns(results: ScenarioResult[]): Array<{ result: ScenarioResult; details: ClusterMastersDetails }> {
  return results
    .filter((result) => result.name === CLUSTER_MASTERS_SCENARIO && result.details?.perMaster)
    .map((result) => ({ result, details: result.details as unknown as ClusterMastersDetails }));
}

/**
 * Each master's share of each cluster-masters run: its slots, the queues it holds, its commands and CPU,
 * and per run the rate (also ÷ the 1-master rate) and max ÷ mean over the masters. Undefined when the
 * scenario did not run.
 */
export function clusterMastersReport(results: ScenarioResult[]): string | undefined {
  const runs = clusterRuns(results);
  if (runs.length === 0) return undefined;
  const oneMaster = runs.find(({ details }) => details.redisMode === "cluster" && details.masters === 1)?.result
    .msgsPerSec;
  const table = new Table({
    ...plain,
    head: [
      "masters",
      "msgs/s",
      "÷ 1 master",
      "max÷mean: commands, CPU, queues",
      "master",
      "slots",
      "queues",
      "commands",
      "Redis µs/msg",
      "cores",
    ],
  });
  for (const { result, details } of runs) {
    details.perMaster.forEach((share, index) => {
      const first = index === 0;
      table.push([
        first ? (details.redisMode === "standalone" ? "standalone" : details.masters) : "",
        first ? figure(result.msgsPerSec) : "",
        first && oneMaster && result.msgsPerSec ? `${(result.msgsPerSec / oneMaster).toFixed(2)}×` : "",
        first ? balanceText(details) : "",
        share.master,
        share.slots,
        share.queues,
        share.commands.toLocaleString("en-US"),
        share.cpuUsPerMsg,
        share.cores,
      ]);
    });
  }
  return [
    "Redis Cluster: each master's share of the run (cluster-masters; Redis µs/msg per message of the whole run)",
    table.toString(),
  ].join("\n");
}

/** "1.10, 1.00, 1.00": max ÷ mean over the masters of commands, CPU and queues held. */
function balanceText({ balance }: ClusterMastersDetails): string {
  return [balance.commands, balance.cpu, balance.queues].map((value) => value.toFixed(2)).join(", ");
}

function ratio(value: number | null, atLeast: number) {
  return value === null ? undefined : { text: `${value.toFixed(2)}×`, met: value >= atLeast };
}

export function targetsTable(results: ScenarioResult[]): string {
  const table = new Table({ ...plain, head: ["target (PRODUCT.md)", "this run", "met"] });
  for (const { target, measured } of TARGETS) {
    const outcome = measured(results);
    table.push([target, outcome?.text ?? "not run", outcome ? (outcome.met ? "yes" : "NO") : ""]);
  }
  return table.toString();
}

export function profileReport(result: ScenarioResult): string {
  const profiles = (result.details?.profiles ?? {}) as Record<string, ProfileSummary>;
  const redis = result.details?.redis as RedisUsage | undefined;
  const run = result.details?.run === "steady" ? "steady-rate (queue-latency)" : "queue-throughput";
  const client = result.system === "mailroom-stock" ? " with the stock client" : "";
  const lines = [`Profile of Mailroom's ${run} run${client} (${figure(result.msgsPerSec)} msgs/s under --cpu-prof)`];
  for (const [node, summary] of Object.entries(profiles)) {
    lines.push(
      `${node}: busy ${summary.busyMs} ms of ${summary.windowMs} ms (${summary.busyCores} cores)`,
      hotSpotTable("package", summary.packages.slice(0, 8)),
      hotSpotTable("function (self time)", summary.functions),
    );
  }
  const scripts = result.details?.redisScripts as ScriptCost[] | undefined;
  if (redis) {
    lines.push(
      `Redis: ${redis.cpuUsPerMsg} µs CPU per message (INFO cpu); ${redis.commandsPerMsg} commands per message, ` +
        "counting those inside scripts (INFO commandstats)",
    );
  }
  if (scripts) {
    const table = new Table({
      ...plain,
      head: ["Redis script (slow log)", "calls", "msgs/call", "µs/call", "µs/msg"],
    });
    for (const cost of scripts.slice(0, 12)) {
      table.push([cost.name, cost.calls, cost.msgsPerCall, cost.usecPerCall, cost.usecPerMsg]);
    }
    lines.push(table.toString());
  }
  return lines.join("\n");
}

function hotSpotTable(what: string, spots: HotSpot[]): string {
  const table = new Table({ ...plain, head: [what, "self ms", "% of busy"] });
  for (const spot of spots) table.push([spot.name, spot.selfMs, `${spot.selfPercent}%`]);
  return table.toString();
}
