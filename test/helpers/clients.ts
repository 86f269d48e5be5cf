/** `@mailroom/client` SDK clients for tests: connected, and closed after the test. */
import { connect, type MailroomClient } from "@mailroom/client";
import { onCleanup } from "./cleanup.js";

export async function readyClient(
  url: string | readonly string[],
  options: Parameters<typeof connect>[1] = {},
): Promise<MailroomClient> {
  const client = connect(url, { transports: ["websocket"], ...options });
  onCleanup(() => client.close());
  await client.ready();
  return client;
}
