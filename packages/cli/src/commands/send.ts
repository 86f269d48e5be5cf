/**
 * `mailroom send <queue> [data]`: sends one message (`queue:send`), or `--count N` alike in batches
 * (`queue:sendBatch`) with a progress bar. Prints `{"id","duplicate"}` for one message, a summary line for
 * several. How the data is read: message-data.ts.
 */
import type { BatchMessage } from "@mailroom/client";
import { Command, Option } from "commander";
import { addConnectionOptions, type ConnectionFlags, openClient } from "../connection.js";
import { runAction, UsageError } from "../failure.js";
import { addDataFormatOptions, type DataFormatFlags, dataFormatOf, readData } from "../message-data.js";
import { collectHeader, integerOption } from "../option-values.js";
import { printJsonLine } from "../output.js";
import { startProgress, wantsProgress } from "../progress.js";
import { sendRepeatedly } from "../repeated-send.js";

interface SendFlags extends ConnectionFlags, DataFormatFlags {
  header?: Record<string, string>;
  id?: string;
  delayMs?: number;
  ttlMs?: number;
  maxAttempts?: number;
  group?: string;
  priority?: number;
  count: number;
  progress?: boolean;
}

const EXAMPLES = `
Data: valid JSON is sent as that JSON value, anything else as a JSON string; "-" reads stdin;
no data sends null. --json, --text and --binary say how to read it instead.

Examples:
  $ mailroom send jobs '{"n":1}'
  $ mailroom send jobs hello --header trace-id=t-1 --header source=shell
  $ mailroom send jobs '{"n":1}' --id order-1042 --delay-ms 5000
  $ mailroom send orders '{"paid":true}' --group order-1042 --priority 5
  $ echo '{"n":2}' | mailroom send jobs -
  $ mailroom send images - --binary < photo.jpg
  $ mailroom send jobs '{"load":true}' --count 100000
  $ MAILROOM_URL=http://broker:3000 MAILROOM_TOKEN=$JWT mailroom send --namespace /orders jobs 42`;

export function sendCommand(): Command {
  const command = new Command("send")
    .description("send a message (or --count N alike) to a queue")
    .argument("<queue>", "the queue's name")
    .argument("[data]", 'the data: JSON, text, or "-" for stdin (default: null)');
  addDataFormatOptions(command)
    .addOption(new Option("--header <name=value>", "a message header (repeat for more)").argParser(collectHeader))
    .addOption(new Option("--id <id>", "the message's id: a later send with this id is a duplicate"))
    .addOption(new Option("--delay-ms <ms>", "hold the message back this long").argParser(integerOption()))
    .addOption(
      new Option("--ttl-ms <ms>", "discard the message if undelivered after this long").argParser(integerOption()),
    )
    .addOption(
      new Option("--max-attempts <count>", "deliveries before it goes to <queue>.dlq").argParser(integerOption()),
    )
    .addOption(new Option("--group <group>", "the message's group: in send order, one at a time"))
    .addOption(
      new Option("--priority <0-9>", "higher first, never ahead of its group").argParser(integerOption({ min: 0 })),
    )
    .addOption(
      new Option("--count <n>", "send the message this many times, in batches")
        .default(1)
        .argParser(integerOption({ min: 1 })),
    )
    .addOption(new Option("--progress", "show a progress bar for --count even when stderr is not a terminal"))
    .addOption(new Option("--no-progress", "never show a progress bar"));
  return addConnectionOptions(command).addHelpText("after", EXAMPLES).action(runAction("send", send));
}

async function send(queueName: string, dataArgument: string | undefined, flags: SendFlags): Promise<void> {
  if (flags.id !== undefined && flags.count > 1) {
    throw new UsageError("--id names one message: with --count above 1 every copy but the first would be a duplicate");
  }
  const message: BatchMessage = { data: await readData(dataArgument, dataFormatOf(flags)) };
  if (flags.id !== undefined) message.id = flags.id;
  if (flags.header !== undefined) message.headers = flags.header;
  if (flags.delayMs !== undefined) message.delayMs = flags.delayMs;
  if (flags.ttlMs !== undefined) message.ttlMs = flags.ttlMs;
  if (flags.maxAttempts !== undefined) message.maxAttempts = flags.maxAttempts;
  if (flags.group !== undefined) message.group = flags.group;
  if (flags.priority !== undefined) message.priority = flags.priority;

  const client = await openClient(flags);
  try {
    const queue = client.queue(queueName);
    if (flags.count === 1) {
      const { data, ...options } = message;
      printJsonLine(await queue.send(data, options));
      return;
    }
    const progress = startProgress(`sending to ${queueName}`, flags.count, wantsProgress(flags.progress));
    const startedAt = performance.now();
    let outcome: Awaited<ReturnType<typeof sendRepeatedly>>;
    try {
      outcome = await sendRepeatedly(queue, message, flags.count, (stored) => progress.advance(stored));
    } finally {
      progress.stop();
    }
    const elapsedMs = Math.round(performance.now() - startedAt);
    const perSecond = Math.round(outcome.sent / Math.max(elapsedMs / 1000, 0.001));
    printJsonLine({ queue: queueName, ...outcome, elapsedMs, perSecond });
  } finally {
    client.close();
  }
}
