/**
 * `mailroom publish <room> <event> [data]`: publishes one broadcast to a room (`room:publish`), on every
 * node, and prints `{"id"}`. The data is read as `send` reads it (message-data.ts); none is `null`.
 */
import { Command } from "commander";
import { addConnectionOptions, type ConnectionFlags, openClient } from "../connection.js";
import { runAction } from "../failure.js";
import { addDataFormatOptions, type DataFormatFlags, dataFormatOf, readData } from "../message-data.js";
import { printJsonLine } from "../output.js";

interface PublishFlags extends ConnectionFlags, DataFormatFlags {}

const EXAMPLES = `
Data: valid JSON is sent as that JSON value, anything else as a JSON string; "-" reads stdin;
no data sends null. --json, --text and --binary say how to read it instead.

Examples:
  $ mailroom publish chat/general message '{"text":"hello"}'
  $ mailroom publish "user:17" ping
  $ date | mailroom publish clock tick - --text
  $ mailroom publish --namespace /prices ACME price.update 12.5`;

export function publishCommand(): Command {
  const command = new Command("publish")
    .description("publish an event to every member of a room, on every node")
    .argument("<room>", "the room's name")
    .argument("<event>", "the event's name (not one starting with queue:, room: or mailroom:)")
    .argument("[data]", 'the data: JSON, text, or "-" for stdin (default: null)');
  addDataFormatOptions(command);
  return addConnectionOptions(command).addHelpText("after", EXAMPLES).action(runAction("publish", publish));
}

async function publish(room: string, event: string, dataArgument: string | undefined, flags: PublishFlags) {
  const data = await readData(dataArgument, dataFormatOf(flags));
  const client = await openClient(flags);
  try {
    printJsonLine(await client.room(room).publish(event, data));
  } finally {
    client.close();
  }
}
