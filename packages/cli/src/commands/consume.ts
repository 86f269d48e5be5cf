/**
 * `mailroom consume <queue>`: consumes a queue, prints each delivery as one JSON line on stdout, and acks
 * it (or, with `--nack`, requeues it; with `--reject`, moves it to `<queue>.dlq`). It stops after `--max`
 * messages, after `--timeout-ms` without one, or at Ctrl-C; every settle is confirmed by the node before
 * the process exits, so `--max 1` has really removed the message when the command returns 0.
 *
 * `--max` is exact: the node never delivers more than `--max` messages to this consumer (the prefetch is at
 * most `--max`, and the last acks wait until the consumer is cancelled), so no message is taken only to be
 * handed back with a higher `attempt`. The SDK's consumption does not settle here (`autoAck: false`): the
 * command settles by receipt, after printing.
 */
import type { ReceivedMessage } from "@mailroom/client";
import { Command, Option } from "commander";
import { addConnectionOptions, type ConnectionFlags, openClient } from "../connection.js";
import { IncompleteError, runAction } from "../failure.js";
import { integerOption } from "../option-values.js";
import { jsonData, notice, printJsonLine, warn } from "../output.js";
import { type Settlement, Settler } from "../settler.js";
import { stopCondition } from "../stop-condition.js";

/** The contract's default prefetch: enough to keep a consumer busy, few enough to share a queue. */
const DEFAULT_PREFETCH = 10;

interface ConsumeFlags extends ConnectionFlags {
  prefetch: number;
  max?: number;
  timeoutMs?: number;
  nack?: boolean;
  reject?: boolean;
  visibilityMs?: number;
  quiet?: boolean;
}

const EXAMPLES = `
Each message is printed as one JSON line:
  {"queue":"jobs","id":"...","attempt":1,"enqueuedAt":1700000000000,"headers":{},"data":{"n":1}}
(binary data as {"$binary":"<base64>"}; a dead letter also has "reason").

Examples:
  $ mailroom consume jobs --max 1
  $ mailroom consume jobs --timeout-ms 5000 > messages.ndjson
  $ mailroom consume jobs --max 1 --nack          # look at a message, leave it in the queue
  $ mailroom consume jobs.dlq --max 10 --reject   # (a .dlq's rejects are discarded)
  $ mailroom consume jobs | jq -c .data`;

export function consumeCommand(): Command {
  const command = new Command("consume")
    .description("print each message of a queue as a JSON line, and ack it")
    .argument("<queue>", "the queue's name")
    .addOption(
      new Option("--prefetch <n>", "unacked deliveries at once (1-1000)")
        .default(DEFAULT_PREFETCH)
        .argParser(integerOption({ min: 1 })),
    )
    .addOption(new Option("--max <n>", "exit 0 after this many messages").argParser(integerOption({ min: 1 })))
    .addOption(
      new Option("--timeout-ms <ms>", "exit after this long without a message (4 if --max was not reached)").argParser(
        integerOption({ min: 1 }),
      ),
    )
    .addOption(new Option("--nack", "requeue each message instead of acking it").conflicts("reject"))
    .addOption(new Option("--reject", "move each message to <queue>.dlq instead of acking it"))
    .addOption(
      new Option("--visibility-ms <ms>", "each delivery's lease before it is redelivered").argParser(integerOption()),
    )
    .addOption(new Option("--quiet", "no status lines on stderr"));
  return addConnectionOptions(command).addHelpText("after", EXAMPLES).action(runAction("consume", consume));
}

async function consume(queueName: string, flags: ConsumeFlags): Promise<void> {
  const max = flags.max ?? Number.POSITIVE_INFINITY;
  const prefetch = Math.min(flags.prefetch, max);
  const settlement: Settlement = flags.nack ? "nack" : flags.reject ? "reject" : "ack";
  const stop = stopCondition({ max: flags.max, timeoutMs: flags.timeoutMs });
  const client = await openClient(flags).catch((error: unknown) => {
    stop.dispose();
    throw error;
  });
  try {
    const queue = client.queue(queueName);
    const settler = new Settler(queue, settlement, (error) => warn("consume", `${error.code}: ${error.message}`));
    /** Printed deliveries whose settle waits until the consumer is cancelled (see `--max` above). */
    const held: ReceivedMessage[] = [];
    const onMessage = (message: ReceivedMessage): void => {
      if (stop.stopping) return; // not printed: its lease ends when the command disconnects
      printJsonLine(messageLine(message));
      stop.counted();
      if (settler.issued + prefetch < max) settler.settle(message);
      else held.push(message);
    };
    client.on("consumeError", (error, failure) =>
      warn("consume", `${failure.operation}: ${error.code}: ${error.message}`),
    );
    client.socket.on("disconnect", (reason) => {
      if (!stop.stopping) warn("consume", `connection lost (${reason}); reconnecting`);
    });
    // The command settles at once after printing: no lease to keep alive, and the node's default lease
    // applies unless --visibility-ms says otherwise.
    const options = { prefetch, autoAck: false, autoExtend: false, visibilityMs: flags.visibilityMs };
    const consumption = await queue.consume(onMessage, options);
    notice(flags.quiet, `consuming ${queueName} (prefetch ${prefetch}); Ctrl-C to stop`);
    stop.start();

    const reason = await stop.stopped;
    await consumption.cancel().catch((error: unknown) => warn("consume", `cancel failed: ${String(error)}`));
    for (const message of held) settler.settle(message);
    await settler.drain();
    if (reason === "idle" && flags.max !== undefined) {
      throw new IncompleteError(`--timeout-ms passed after ${stop.count} of --max ${flags.max} messages`);
    }
  } finally {
    stop.dispose();
    client.close();
  }
}

/** One delivery as `consume` prints it: everything but the receipt, binary data as `$binary`. */
function messageLine(message: ReceivedMessage): Record<string, unknown> {
  return {
    queue: message.queue,
    id: message.id,
    attempt: message.attempt,
    enqueuedAt: message.enqueuedAt,
    headers: message.headers,
    ...(message.reason === undefined ? {} : { reason: message.reason }),
    data: jsonData(message.data),
  };
}
