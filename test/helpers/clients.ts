/** `@mailroom/client` SDK clients for tests: connected, and closed after the test. */
import { type BroadcastMeta, connect, type MailroomClient, type Room } from "@mailroom/client";
import { onCleanup } from "./cleanup.js";
import { within } from "./wait.js";

export async function readyClient(
  url: string | readonly string[],
  options: Parameters<typeof connect>[1] = {},
): Promise<MailroomClient> {
  const client = connect(url, { transports: ["websocket"], ...options });
  onCleanup(() => client.close());
  await client.ready();
  return client;
}

/** Resolves with the next broadcast under `event` that a handler on `room` receives. */
export function nextBroadcast(room: Room, event: string, timeoutMs = 10_000): Promise<[unknown, BroadcastMeta]> {
  return within(
    new Promise((resolve) => {
      const stop = room.on(event, (data, meta) => {
        stop();
        resolve([data, meta]);
      });
    }),
    timeoutMs,
    `a broadcast ${event} to ${room.name}`,
  );
}
