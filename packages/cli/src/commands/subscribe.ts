/**
 * `mailroom subscribe <room>`: joins a room and prints each broadcast it receives, from any node, as one
 * JSON line on stdout (`{"room","event","id","ts","from"?,"data"}`, binary data as `$binary`). It says on
 * stderr once it has joined (so what is published after that line is received), re-joins by itself after
 * a reconnect, and stops after `--max` events, after `--timeout-ms` without one, or at Ctrl-C.
 */
import type { BroadcastMeta } from "@mailroom/client";
import { Command, Option } from "commander";
import { addConnectionOptions, type ConnectionFlags, openClient } from "../connection.js";
import { IncompleteError, runAction } from "../failure.js";
import { collectValue, integerOption } from "../option-values.js";
import { jsonData, notice, printJsonLine, warn } from "../output.js";
import { stopCondition } from "../stop-condition.js";

interface SubscribeFlags extends ConnectionFlags {
  event?: string[];
  max?: number;
  timeoutMs?: number;
  quiet?: boolean;
}

const EXAMPLES = `
Each event is printed as one JSON line:
  {"room":"chat/general","event":"message","id":"...","ts":1700000000000,"data":{"text":"hello"}}
("from" too when the node has auth on; binary data as {"$binary":"<base64>"}).

Examples:
  $ mailroom subscribe chat/general
  $ mailroom subscribe chat/general --event message --max 1
  $ mailroom subscribe "user:17" --timeout-ms 30000 | jq -c .data`;

export function subscribeCommand(): Command {
  const command = new Command("subscribe")
    .description("join a room and print each event published to it, as JSON lines, until Ctrl-C")
    .argument("<room>", "the room's name")
    .addOption(new Option("--event <name>", "print only events of this name (repeat for more)").argParser(collectValue))
    .addOption(new Option("--max <n>", "exit 0 after this many events").argParser(integerOption({ min: 1 })))
    .addOption(
      new Option("--timeout-ms <ms>", "exit after this long without an event (4 if --max was not reached)").argParser(
        integerOption({ min: 1 }),
      ),
    )
    .addOption(new Option("--quiet", "no status lines on stderr"));
  return addConnectionOptions(command).addHelpText("after", EXAMPLES).action(runAction("subscribe", subscribe));
}

async function subscribe(roomName: string, flags: SubscribeFlags): Promise<void> {
  const wanted = flags.event === undefined ? undefined : new Set(flags.event);
  const stop = stopCondition({ max: flags.max, timeoutMs: flags.timeoutMs });
  const client = await openClient(flags).catch((error: unknown) => {
    stop.dispose();
    throw error;
  });
  try {
    const room = client.room(roomName);
    room.onAny((event: string, data: unknown, meta: BroadcastMeta) => {
      if (stop.stopping || (wanted && !wanted.has(event))) return;
      printJsonLine({
        room: meta.room,
        event,
        id: meta.id,
        ts: meta.ts,
        ...(meta.from === undefined ? {} : { from: meta.from }),
        data: jsonData(data),
      });
      stop.counted();
    });
    client.on("rejoinError", (error) =>
      warn("subscribe", `could not re-join ${roomName}: ${error.code}: ${error.message}`),
    );
    client.socket.on("disconnect", (reason) => {
      if (!stop.stopping) warn("subscribe", `connection lost (${reason}); reconnecting`);
    });
    await room.join();
    notice(flags.quiet, `subscribed to ${roomName}; Ctrl-C to stop`);
    stop.start();
    const reason = await stop.stopped;
    if (reason === "idle" && flags.max !== undefined) {
      throw new IncompleteError(`--timeout-ms passed after ${stop.count} of --max ${flags.max} events`);
    }
  } finally {
    stop.dispose();
    client.close();
  }
}
