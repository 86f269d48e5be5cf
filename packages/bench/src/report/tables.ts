/**
 * The readable report after the JSON lines: every figure with its ratio to Mailroom, the product
 * targets of PRODUCT.md checked against this run, and the profile's hot spots when it ran.
 */
import Table from "cli-table3";
import type { HotSpot, ProfileSummary } from "../measure/cpu-profile.js";
import type { ScriptCost } from "../measure/redis-scripts.js";
import type { RedisUsage } from "../measure/redis-usage.js";
import type { ScenarioResult } from "../result.js";
import { kibPerSocket, mailroomOver, ratioToMailroom } from "./ratios.js";

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
    target: "Redis CPU ≤ 10 µs per message (at saturation)",
    measured: (results) => {
      const value = find(results, "queue-throughput", "mailroom")?.redisCpuUsPerMsg;
      return value == null ? undefined : { text: `${value} µs`, met: value <= 10 };
    },
  },
  {
    target: "p99 ≤ 5 ms at a steady 2,000 msg/s across nodes",
    measured: (results) => {
      const value = find(results, "queue-latency", "mailroom")?.p99Ms;
      return value == null ? undefined : { text: `${value} ms`, met: value <= 5 };
    },
  },
  {
    target: "room fan-out ≥ 90% of raw Socket.IO + Redis adapter",
    measured: (results) => {
      const value = mailroomOver("room-fanout", "socket.io", results);
      return value === null ? undefined : { text: `${Math.round(value * 100)}%`, met: value >= 0.9 };
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
  const lines = [`Profile of Mailroom's queue-throughput run (${figure(result.msgsPerSec)} msgs/s under --cpu-prof)`];
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
