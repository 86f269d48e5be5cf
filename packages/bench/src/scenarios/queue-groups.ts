/**
 * What message groups cost (issue 17, docs/protocol.md §11): Mailroom through the SDK, the producer on
 * node A (sendBatch of 100, 4 batches awaiting acceptance, as in queue-throughput), the consumers on both
 * nodes (prefetch 100 each, in one consumer process), 200-byte messages dealt in turn to 1,000 groups
 * (`messageGroups`); and, right before each, the same run without groups as the baseline, in
 * `groupRounds` rounds. Reports the round of the median grouped ÷ ungrouped Redis µs per message (every
 * round's ratio in its notes): both runs' msgs/s and Redis CPU µs per message, grouped ÷ ungrouped for
 * each, the commands that took most of Redis's time, and the consumer's check of the groups' promises
 * (measure/group-order.ts): each group's
 * first deliveries in send order, and no group's next message arriving before its previous one's ack
 * left the consumer. Does not fail on a broken order: the targets table says NO.
 * Then the same two at the latency run's steady rate (2,000 msg/s, open loop), once each: what a grouped
 * message costs where consumers keep up, as at everyday loads (no target; the notes give the ratio).
 */
import { randomBytes } from "node:crypto";
import type { GroupOrderSummary } from "../measure/group-order.js";
import type { RedisUsage } from "../measure/redis-usage.js";
import type { ScenarioResult } from "../result.js";
import { type BenchContext, runsSystem, type Scenario } from "./bench-context.js";
import { describeCpu, type QueueRunResult, runFigures, runQueue } from "./queue-run.js";

export const QUEUE_GROUPS_SCENARIO = "queue-groups";
/** The system column of the scenario's two rows. */
export const UNGROUPED = "ungrouped";
export const GROUPED = "grouped";
/** The system column of the steady-rate rows. */
const UNGROUPED_STEADY = "ungrouped, steady";
const GROUPED_STEADY = "grouped, steady";

export interface QueueGroupsDetails {
  /** 0 in the ungrouped run. */
  groups: number;
  messages: number;
  received: number;
  groupOrder: GroupOrderSummary;
  redis: RedisUsage | undefined;
  cpuCores: Record<string, number>;
  /** The grouped run's figures ÷ the ungrouped run's of the same bench run (grouped row only). */
  vsUngrouped?: { redisCpuUsPerMsg: number | null; msgsPerSec: number | null };
}

export const queueGroups: Scenario = {
  name: QUEUE_GROUPS_SCENARIO,
  about:
    "1,000 message groups vs no groups, at saturation and at 2,000 msg/s: msgs/s and Redis µs/msg, consumers on both nodes; order checked",
  async run(context: BenchContext) {
    if (!runsSystem(context, "mailroom")) return;
    const { messageGroups, groupRounds } = context.sizes;
    const pairs: RoundPair[] = [];
    for (let round = 1; round <= groupRounds; round += 1) {
      if (groupRounds > 1) context.progress(`${QUEUE_GROUPS_SCENARIO}: round ${round} of ${groupRounds}`);
      pairs.push({
        ungrouped: await groupsRun(context, 0, "saturation"),
        grouped: await groupsRun(context, messageGroups, "saturation"),
      });
    }
    const { ungrouped, grouped } = medianPair(pairs);
    context.report(ungrouped);
    context.report(grouped);
    const steadyUngrouped = await groupsRun(context, 0, "steady");
    const steadyGrouped = await groupsRun(context, messageGroups, "steady");
    compareWithUngrouped(steadyGrouped, steadyUngrouped);
    context.report(steadyUngrouped);
    context.report(steadyGrouped);
  },
};

/** One round at saturation: the ungrouped run and the grouped one right after it. */
interface RoundPair {
  ungrouped: ScenarioResult;
  grouped: ScenarioResult;
}

/**
 * The round whose grouped ÷ ungrouped Redis µs per message is the median of all rounds' (the lower middle of
 * an even count), with every round's ratio in the grouped row's notes; but a round whose grouped run broke
 * a group's order when there is one, so that the targets table says so.
 */
function medianPair(pairs: RoundPair[]): RoundPair {
  for (const pair of pairs) compareWithUngrouped(pair.grouped, pair.ungrouped);
  const ratio = (pair: RoundPair) =>
    groupedDetails(pair.grouped).vsUngrouped?.redisCpuUsPerMsg ?? Number.POSITIVE_INFINITY;
  const sorted = [...pairs].sort((a, b) => ratio(a) - ratio(b));
  const broken = pairs.find((pair) => !orderKept(pair.grouped));
  const chosen = broken ?? sorted[Math.floor((sorted.length - 1) / 2)];
  if (!chosen) throw new Error("queue-groups ran no round");
  if (pairs.length > 1) {
    const ratios = pairs
      .map(
        (pair) =>
          `${pair.ungrouped.redisCpuUsPerMsg} → ${pair.grouped.redisCpuUsPerMsg} µs (${ratio(pair).toFixed(2)}×)`,
      )
      .join(", ");
    const why = broken ? "a round that broke a group's order" : "the round of the median ratio";
    chosen.grouped.notes = `Redis µs/msg ungrouped → grouped by round: ${ratios}; this is ${why}; ${chosen.grouped.notes}`;
  }
  return chosen;
}

function groupedDetails(result: ScenarioResult): QueueGroupsDetails {
  return result.details as unknown as QueueGroupsDetails;
}

/** Whether a grouped run delivered every message first in its group's order, one of a group out at a time. */
export function orderKept(result: ScenarioResult): boolean {
  const { groupOrder, messages } = groupedDetails(result);
  const broken = groupOrder.orderViolations + groupOrder.overlaps + groupOrder.wrongGroup;
  return broken === 0 && groupOrder.firstDeliveries === messages;
}

/** The two loads each of grouped and ungrouped runs at: as fast as it goes, and the latency run's steady rate. */
type GroupsLoad = "saturation" | "steady";

/** One run with `groups` (0: none) at `load`. */
async function groupsRun(context: BenchContext, groups: number, load: GroupsLoad): Promise<ScenarioResult> {
  const { throughputMessages, latencyRate, latencySeconds, latencyWarmupSeconds } = context.sizes;
  const steady = load === "steady";
  const messages = steady ? Math.round(latencyRate * latencySeconds) : throughputMessages;
  const label = groups > 0 ? `${groups} groups` : "no groups";
  const how = steady ? `open loop ${latencyRate} msg/s for ${latencySeconds} s` : `${messages} msgs`;
  context.progress(`${QUEUE_GROUPS_SCENARIO}: ${label}, ${how}, consumers on both nodes`);
  const system = steady ? (groups > 0 ? GROUPED_STEADY : UNGROUPED_STEADY) : groups > 0 ? GROUPED : UNGROUPED;
  const run = await runQueue(context, {
    system: "mailroom",
    queues: [`bench-groups-${load}-${groups}-${context.runId}-${randomBytes(2).toString("hex")}`],
    mode: steady ? "steady" : "burst",
    messages,
    ratePerSecond: steady ? latencyRate : 0,
    warmup: steady ? Math.round(latencyRate * latencyWarmupSeconds) : 0,
    groups,
    consumeOn: "both nodes",
  });
  const details: QueueGroupsDetails = {
    groups,
    messages,
    received: run.consumer.received,
    groupOrder: run.consumer.groupOrder,
    redis: run.redis,
    cpuCores: run.cpu.cores,
  };
  return {
    name: QUEUE_GROUPS_SCENARIO,
    system,
    ...runFigures(run, messages),
    notes: [
      steady ? `${label}, ${how}` : `${label}, ${messages} msgs in ${(run.elapsedMs / 1000).toFixed(1)} s`,
      ...(groups > 0 ? [describeOrder(run.consumer.groupOrder)] : []),
      describeRedis(run),
      `CPU cores: ${describeCpu(run.cpu.cores)}`,
    ].join("; "),
    details: { ...details },
  };
}

/** Puts grouped ÷ ungrouped (Redis µs/msg, msgs/s) into the grouped result's details and notes. */
function compareWithUngrouped(grouped: ScenarioResult, ungrouped: ScenarioResult): void {
  const over = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || b === 0 ? null : Math.round((a / b) * 100) / 100;
  const vsUngrouped = {
    redisCpuUsPerMsg: over(grouped.redisCpuUsPerMsg, ungrouped.redisCpuUsPerMsg),
    msgsPerSec: over(grouped.msgsPerSec, ungrouped.msgsPerSec),
  };
  grouped.details = { ...grouped.details, vsUngrouped };
  grouped.notes =
    `vs ungrouped: Redis µs/msg ${vsUngrouped.redisCpuUsPerMsg ?? "–"}×, msgs/s ${vsUngrouped.msgsPerSec ?? "–"}×; ` +
    grouped.notes;
}

/** "order: 0 violations, 0 overlaps in 50000 first deliveries of 1000 groups (0 redeliveries, 0 wrong group)". */
function describeOrder(order: GroupOrderSummary): string {
  return (
    `order: ${order.orderViolations} violations, ${order.overlaps} overlaps in ${order.firstDeliveries} first ` +
    `deliveries of ${order.groups} groups (${order.redeliveries} redeliveries, ${order.wrongGroup} wrong group)`
  );
}

/**
 * "24 Redis cmds/msg, busiest: evalsha 33.2 µs/msg (0.03 calls/msg), hexists 2.2 µs/msg (2 calls/msg), ...":
 * commandstats count the commands a script calls on their own too, and their time is in the script's.
 */
function describeRedis(run: QueueRunResult): string {
  if (!run.redis) return "no Redis";
  const busiest = run.redis.topCommands
    .map(({ command, usecPerMsg, callsPerMsg }) => `${command} ${usecPerMsg} µs/msg (${callsPerMsg} calls/msg)`)
    .join(", ");
  return `${run.redis.commandsPerMsg} Redis cmds/msg, busiest: ${busiest}`;
}

/** The grouped result of a bench run and its details, when queue-groups ran. */
export function groupedRun(
  results: ScenarioResult[],
): { result: ScenarioResult; details: QueueGroupsDetails } | undefined {
  const result = results.find((each) => each.name === QUEUE_GROUPS_SCENARIO && each.system === GROUPED);
  if (!result?.details?.groupOrder) return undefined;
  return { result, details: groupedDetails(result) };
}
