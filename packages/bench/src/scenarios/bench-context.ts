/**
 * What every scenario of a run shares: the sizes, the bench's own Redis, two Mailroom nodes on it (node A
 * and node B, one key prefix), the RabbitMQ URL when a broker answers, a run id that keeps queue names
 * apart, and where results and progress go.
 */
import type { RedisServer } from "../infra/redis-server.js";
import type { ServerProcess } from "../infra/server-process.js";
import type { ScenarioResult } from "../result.js";
import type { Sizes } from "../sizes.js";

export interface BenchContext {
  sizes: Sizes;
  redis: RedisServer;
  nodeA: ServerProcess;
  nodeB: ServerProcess;
  /** The Mailroom nodes' key prefix; a scenario's extra nodes take their own. */
  prefix: string;
  /** Set when RabbitMQ answered at the start of the run. */
  amqpUrl: string | undefined;
  /** Why RabbitMQ is skipped, when it is. */
  amqpMissing: string | undefined;
  runId: string;
  /** The queue systems to run (`--systems`); every one when undefined. */
  systems: ReadonlySet<string> | undefined;
  report(result: ScenarioResult): void;
  progress(text: string): void;
}

/** Whether the run includes this queue system (`--systems`). */
export function runsSystem(context: BenchContext, system: string): boolean {
  return context.systems === undefined || context.systems.has(system);
}

export interface Scenario {
  name: string;
  /** One line for --help and the table. */
  about: string;
  run(context: BenchContext): Promise<void>;
}
