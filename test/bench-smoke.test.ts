/**
 * `npm run bench` works end to end, at smoke size: the built bench starts its own Redis and nodes, runs
 * the queue, room and HTTP scenarios against Mailroom and its peers, and prints one JSON line per
 * scenario and system with the fields PRODUCT.md names (Mailroom's queues both through the SDK and through
 * the stock socket.io-client); the Redis Cluster scenario builds its clusters and reports each master's
 * share; the groups scenario runs grouped beside ungrouped and finds each group's order kept. Checks shapes
 * and that messages flowed, never how fast: figures
 * belong to the bench, not to tests. RabbitMQ is skipped (with a note) when none answers.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ALL_DEPLOYMENTS } from "./helpers/redis-deployments.js";

const BENCH = fileURLToPath(new URL("../packages/bench/dist/main.js", import.meta.url));
const CLI = fileURLToPath(new URL("../packages/cli/bin/mailroom.js", import.meta.url));
const run = promisify(execFile);

interface BenchLine {
  name: string;
  system: string;
  msgsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  redisCpuUsPerMsg: number | null;
  notes: string;
  /** queue-throughput: messages sent, messages the consumer received, and each process's CPU (cores). */
  details?: { messages?: number; received?: number; cpuCores?: Record<string, number> };
}

/** What a queue-groups line carries in `details` (scenarios/queue-groups.ts). */
interface GroupsDetails {
  groups: number;
  messages: number;
  received: number;
  groupOrder: {
    groups: number;
    firstDeliveries: number;
    orderViolations: number;
    overlaps: number;
    wrongGroup: number;
  };
  vsUngrouped?: { redisCpuUsPerMsg: number | null; msgsPerSec: number | null };
}

/** What a cluster-masters line carries in `details` (scenarios/cluster-masters.ts). */
interface ClusterDetails {
  masters: number;
  queues: number;
  messages: number;
  received: number;
  perMaster: Array<{ queues: number; commands: number; cpuSeconds: number }>;
  balance: { commands: number; cpu: number };
}

function jsonLines(stdout: string): BenchLine[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as BenchLine);
}

const nullableNumber = (value: unknown) => value === null || (typeof value === "number" && Number.isFinite(value));

describe("npm run bench", () => {
  it("prints one JSON line per scenario and system, with msgsPerSec, p50Ms, p99Ms, redisCpuUsPerMsg and notes", async () => {
    const { stdout } = await run(
      process.execPath,
      [BENCH, "--smoke", "--json", "--only", "queue-throughput,room-fanout,http-send"],
      { timeout: 55_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const lines = jsonLines(stdout);
    for (const line of lines) {
      expect(typeof line.name).toBe("string");
      expect(typeof line.system).toBe("string");
      expect(typeof line.notes).toBe("string");
      for (const field of ["msgsPerSec", "p50Ms", "p99Ms", "redisCpuUsPerMsg"] as const) {
        expect(nullableNumber(line[field]), `${line.name}/${line.system} ${field}`).toBe(true);
      }
      expect(line.notes, `${line.name}/${line.system}`).not.toMatch(/^failed/);
    }
    const systems = (name: string) => lines.filter((line) => line.name === name).map((line) => line.system);
    expect(systems("queue-throughput")).toEqual([
      "mailroom",
      "mailroom-memory",
      "mailroom-stock",
      "socketio-relay",
      "bullmq",
      "redis-list",
      "redis-list-pipelined",
      "rabbitmq",
    ]);
    expect(systems("room-fanout")).toEqual(["mailroom", "socket.io"]);
    expect(systems("http-send")).toEqual(["mailroom", "fastify+lpush", "fastify-hello"]);
    // Every system that ran moved messages; only RabbitMQ may be skipped, and then it says why.
    for (const line of lines) {
      if (line.notes.startsWith("skipped")) {
        expect(line.system).toBe("rabbitmq");
        continue;
      }
      expect(line.msgsPerSec, `${line.name}/${line.system}`).toBeGreaterThan(0);
    }
    const mailroomQueue = lines.find((line) => line.name === "queue-throughput" && line.system === "mailroom");
    expect(mailroomQueue?.redisCpuUsPerMsg).toBeGreaterThan(0);
    expect(mailroomQueue?.p99Ms).toBeGreaterThanOrEqual(mailroomQueue?.p50Ms ?? 0);
    // Mailroom through the stock socket.io-client (no SDK) moved every message, through Redis.
    const stockQueue = lines.find((line) => line.name === "queue-throughput" && line.system === "mailroom-stock");
    expect(stockQueue?.msgsPerSec).toBeGreaterThan(0);
    expect(stockQueue?.redisCpuUsPerMsg).toBeGreaterThan(0);
    expect(stockQueue?.details?.received).toBe(stockQueue?.details?.messages);
    // The stack's floor ran on two raw Socket.IO servers of its own, whose CPU counts as the nodes' does.
    const floor = lines.find((line) => line.name === "queue-throughput" && line.system === "socketio-relay");
    expect(floor?.details?.received).toBe(floor?.details?.messages);
    expect(Object.keys(floor?.details?.cpuCores ?? {})).toEqual(expect.arrayContaining(["node A", "node B"]));
  });

  it.skipIf(!ALL_DEPLOYMENTS)(
    "cluster-masters builds a Redis Cluster of each size and reports every master's share of the queue load",
    async () => {
      const { stdout } = await run(process.execPath, [BENCH, "--smoke", "--json", "--only", "cluster-masters"], {
        timeout: 90_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const lines = jsonLines(stdout) as Array<BenchLine & { details?: ClusterDetails }>;
      // The smoke size runs 1 and 2 masters, after the baseline on the bench's standalone Redis.
      expect(lines.map((line) => line.system)).toEqual(["standalone", "1 master", "2 masters"]);
      for (const line of lines) {
        expect(line.notes, line.system).not.toMatch(/^failed/);
        expect(line.msgsPerSec, line.system).toBeGreaterThan(0);
        expect(line.details?.received, line.system).toBe(line.details?.messages);
        const shares = line.details?.perMaster ?? [];
        expect(shares).toHaveLength(line.details?.masters ?? -1);
        // Every queue lives on exactly one master, and every master ran commands and used CPU.
        expect(shares.reduce((sum, share) => sum + share.queues, 0)).toBe(line.details?.queues);
        for (const share of shares) {
          expect(share.commands).toBeGreaterThan(0);
          expect(share.cpuSeconds).toBeGreaterThan(0);
        }
        expect(line.details?.balance.commands).toBeGreaterThanOrEqual(1);
        expect(line.details?.balance.cpu).toBeGreaterThanOrEqual(1);
      }
    },
  );

  it("queue-groups runs grouped beside ungrouped, delivers every message and keeps each group's send order", async () => {
    const { stdout } = await run(process.execPath, [BENCH, "--smoke", "--json", "--only", "queue-groups"], {
      timeout: 50_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const lines = jsonLines(stdout) as Array<BenchLine & { details?: GroupsDetails }>;
    expect(lines.map((line) => line.system)).toEqual(["ungrouped", "grouped", "ungrouped, steady", "grouped, steady"]);
    for (const line of lines) {
      expect(line.notes, line.system).not.toMatch(/^failed/);
      expect(line.msgsPerSec, line.system).toBeGreaterThan(0);
      expect(line.redisCpuUsPerMsg, line.system).toBeGreaterThan(0);
      expect(line.details?.received, line.system).toBe(line.details?.messages);
    }
    const grouped = lines[1]?.details;
    // The smoke size deals 300 messages to 20 groups; every one is a first delivery, in its group's order.
    expect(grouped?.groups).toBe(20);
    expect(grouped?.groupOrder).toMatchObject({
      groups: 20,
      firstDeliveries: grouped?.messages,
      orderViolations: 0,
      overlaps: 0,
      wrongGroup: 0,
    });
    expect(grouped?.vsUngrouped?.redisCpuUsPerMsg).toBeGreaterThan(0);
    // At the steady rate too: every message, in each group's order.
    const steadyGrouped = lines[3]?.details;
    expect(steadyGrouped?.groupOrder).toMatchObject({
      firstDeliveries: steadyGrouped?.messages,
      orderViolations: 0,
      overlaps: 0,
      wrongGroup: 0,
    });
  });

  it("runs as `mailroom bench`, which refuses an unknown scenario naming the known ones, and exits 1", async () => {
    const failure = await run(process.execPath, [CLI, "bench", "--only", "no-such-scenario"]).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/no scenario named no-such-scenario; known: queue-throughput/);
  });
});
