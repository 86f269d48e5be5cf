#!/usr/bin/env node
/**
 * `npm run bench`: Mailroom and its peers side by side, in one run, on one machine and one Redis.
 * Starts its own redis-server on a free port and two Mailroom nodes (the built CLI) on it, runs each
 * scenario, prints one JSON line per scenario and system on stdout as it finishes, then a readable table
 * with ratios and the PRODUCT.md targets. Progress goes to stderr.
 *
 *   npm run bench                      full run (under ten minutes)
 *   npm run bench -- --quick           about a minute
 *   npm run bench -- --only queue-throughput,queue-latency --json
 *   npm run bench -- --only queue-profile   CPU profile of both nodes + Redis commandstats
 *   npm run bench -- --only cluster-masters Redis Cluster of 1, 2, 3 masters: rate and each master's share
 *   npm run bench -- --only queue-groups    1,000 message groups beside no groups, at saturation and at a
 *                                           steady 2,000 msg/s; each group's order checked
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { openFilesLimit } from "./infra/open-files.js";
import { rabbitmqMissing } from "./infra/rabbitmq-probe.js";
import { RedisServer } from "./infra/redis-server.js";
import { ServerProcess } from "./infra/server-process.js";
import { clusterMastersReport, profileReport, resultsTable, targetsTable } from "./report/tables.js";
import type { ScenarioResult } from "./result.js";
import type { BenchContext, Scenario } from "./scenarios/bench-context.js";
import { clusterMasters } from "./scenarios/cluster-masters.js";
import { httpSend } from "./scenarios/http-send.js";
import { idleSockets } from "./scenarios/idle-sockets.js";
import { queueGroups } from "./scenarios/queue-groups.js";
import { queueLatency } from "./scenarios/queue-latency.js";
import { queueProfile } from "./scenarios/queue-profile.js";
import { queueThroughput } from "./scenarios/queue-throughput.js";
import { roomFanout } from "./scenarios/room-fanout.js";
import { type Mode, SIZES } from "./sizes.js";

const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
/** Descriptors a process needs beyond its sockets: files, pipes, Redis connections. */
const SPARE_DESCRIPTORS = 500;

interface Flags {
  quick: boolean;
  smoke: boolean;
  only?: string;
  systems?: string;
  json: boolean;
  profile: boolean;
  profileDir: string;
  amqpUrl: string;
}

/** Every scenario, in the order a full run takes them (`profileDir`: where queue-profile writes). */
function everyScenario(profileDir: string): Scenario[] {
  return [
    queueThroughput,
    queueLatency,
    queueGroups,
    roomFanout,
    idleSockets,
    httpSend,
    clusterMasters,
    queueProfile(profileDir),
  ];
}

function scenarios(flags: Flags): Scenario[] {
  const all = everyScenario(flags.profileDir);
  if (flags.only) {
    const wanted = flags.only.split(",").map((name) => name.trim());
    const unknown = wanted.filter((name) => !all.some((scenario) => scenario.name === name));
    if (unknown.length > 0) {
      throw new Error(`no scenario named ${unknown.join(", ")}; known: ${all.map((s) => s.name).join(", ")}`);
    }
    return all.filter((scenario) => wanted.includes(scenario.name));
  }
  return all.filter((scenario) => scenario.name !== "queue-profile" || flags.profile);
}

async function main(argv: string[]): Promise<void> {
  const program = new Command("mailroom bench")
    .description("Mailroom's queues, rooms, sockets and HTTP side by side with its peers, in one run")
    .option("--quick", "smaller sizes: about a minute", false)
    .option("--smoke", "tiny sizes: only shows every part works", false)
    .option("--only <scenarios>", "comma-separated scenarios to run (queue-profile runs only when named or --profile)")
    .option("--systems <names>", "comma-separated queue systems the queue scenarios run (default: all)")
    .option("--json", "print only the JSON lines", false)
    .option("--profile", "also profile Mailroom's queue-throughput run (node --cpu-prof, Redis commandstats)", false)
    .addOption(
      new Option("--profile-dir <dir>", "where the .cpuprofile files go").default(join(tmpdir(), "mailroom-bench")),
    )
    .addOption(
      new Option("--amqp-url <url>", "RabbitMQ to compare with; skipped when none answers")
        .env("BENCH_AMQP_URL")
        .default(DEFAULT_AMQP_URL),
    )
    .addHelpText(
      "after",
      `\nScenarios:\n${everyScenario("")
        .map((scenario) => `  ${scenario.name.padEnd(17)} ${scenario.about}`)
        .join("\n")}`,
    );
  program.parse(argv);
  const flags = program.opts<Flags>();
  const mode: Mode = flags.smoke ? "smoke" : flags.quick ? "quick" : "full";
  const sizes = SIZES[mode];
  const chosen = scenarios(flags);
  const startedAt = Date.now();
  const progress = (text: string) => {
    process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
  };

  const limit = openFilesLimit();
  if (limit !== undefined && limit < sizes.idleSockets + SPARE_DESCRIPTORS) {
    progress(`warning: open files limit ${limit} < ${sizes.idleSockets} sockets; raise it with ulimit -n 65536`);
  }

  const runId = randomBytes(3).toString("hex");
  const prefix = `bench-${runId}`;
  progress(`${mode} run ${runId}: ${chosen.map((scenario) => scenario.name).join(", ")}`);
  const redis = await RedisServer.start();
  const results: ScenarioResult[] = [];
  let failures = 0;
  try {
    const [nodeA, nodeB] = await Promise.all(
      ["A", "B"].map((label) => ServerProcess.mailroomNode({ label: `node ${label}`, redisUrl: redis.url, prefix })),
    );
    if (!nodeA || !nodeB) throw new Error("two Mailroom nodes are needed");
    const amqpMissing = await rabbitmqMissing(flags.amqpUrl);
    if (amqpMissing) progress(`RabbitMQ skipped: ${amqpMissing}`);
    const context: BenchContext = {
      sizes,
      redis,
      nodeA,
      nodeB,
      prefix,
      amqpUrl: amqpMissing ? undefined : flags.amqpUrl,
      amqpMissing,
      runId,
      systems: flags.systems ? new Set(flags.systems.split(",").map((name) => name.trim())) : undefined,
      progress,
      report(result) {
        results.push(result);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      },
    };
    for (const scenario of chosen) {
      try {
        await scenario.run(context);
      } catch (error) {
        failures += 1;
        const message = error instanceof Error ? error.message : String(error);
        progress(`${scenario.name} failed: ${message}`);
        context.report({
          name: scenario.name,
          system: "-",
          msgsPerSec: null,
          p50Ms: null,
          p99Ms: null,
          redisCpuUsPerMsg: null,
          notes: `failed: ${message.split("\n")[0]}`,
        });
      }
    }
    await Promise.all([nodeA.kill(), nodeB.kill()]);
  } finally {
    await redis.stop();
  }

  if (!flags.json) {
    process.stdout.write(`\n${resultsTable(results)}\n\n${targetsTable(results)}\n`);
    const masters = clusterMastersReport(results);
    if (masters) process.stdout.write(`\n${masters}\n`);
    for (const profile of results.filter((result) => result.name === "queue-profile" && result.details)) {
      process.stdout.write(`\n${profileReport(profile)}\n`);
    }
    process.stdout.write(
      `\n${mode} run, ${new Date().toISOString()}, ${((Date.now() - startedAt) / 1000).toFixed(0)} s. ` +
        "Only ratios within one run mean much on a shared machine.\n",
    );
  }
  progress(`done in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  if (failures > 0) process.exitCode = 1;
}

main(process.argv).then(
  () => process.exit(),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
