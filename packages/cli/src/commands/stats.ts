/**
 * `mailroom stats [queue]`: the stats of one queue (through the SDK, `queue:stats`), or of every queue of
 * the namespace that holds messages, has consumers or was sent to within 24 hours (over HTTP, `GET /v1/namespaces/{ns}/queues`: the Socket.IO
 * contract has no list). A table for people on stdout, or JSON with `--json`: the stats object with its
 * `name` for one queue, `{ queues, truncated }` for all. Counts are cluster-wide.
 */
import { Command, Option } from "commander";
import { addConnectionOptions, type ConnectionFlags, openClient } from "../connection.js";
import { runAction } from "../failure.js";
import { type ListedQueue, listQueues, type QueueList } from "../http-api.js";
import { notice, printJsonLine } from "../output.js";
import { statsTable } from "../stats-table.js";

interface StatsFlags extends ConnectionFlags {
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ mailroom stats jobs
  $ mailroom stats                       # every queue of the namespace in use (messages, consumers, sends)
  $ mailroom stats --namespace /orders --json | jq '.queues[] | select(.deadLettered > 0)'
  $ watch -n 1 mailroom stats`;

export function statsCommand(): Command {
  const command = new Command("stats")
    .description("show the ready, in-flight, delayed and dead-lettered messages and consumers of queues")
    .argument("[queue]", "one queue (default: every queue of the namespace in use, as GET .../queues lists them)")
    .addOption(new Option("--json", "print JSON instead of a table"));
  return addConnectionOptions(command).addHelpText("after", EXAMPLES).action(runAction("stats", stats));
}

async function stats(queueName: string | undefined, flags: StatsFlags): Promise<void> {
  // Connecting first checks the URL, the namespace and the token the way every command does, within
  // --connect-timeout-ms, before the HTTP request.
  const client = await openClient(flags);
  try {
    if (queueName === undefined) {
      printQueueList(await listQueues(flags), flags);
      return;
    }
    const queue: ListedQueue = { name: queueName, ...(await client.queue(queueName).stats()) };
    if (flags.json) printJsonLine(queue);
    else process.stdout.write(`${statsTable([queue])}\n`);
  } finally {
    client.close();
  }
}

function printQueueList({ queues, truncated }: QueueList, flags: StatsFlags): void {
  if (flags.json) {
    printJsonLine({ queues, truncated });
    return;
  }
  process.stdout.write(`${statsTable(queues)}\n`);
  if (queues.length === 0) notice(false, `no queue is in use in namespace ${flags.namespace}`);
  if (truncated) notice(false, `only the first ${queues.length} queues are listed, by name`);
}
