/**
 * A consumer in a process of its own, for the scenarios that kill consumers: it consumes one queue with
 * the `@mailroom/client` SDK (reconnecting, re-registering after each reconnect) and tells its parent,
 * over the IPC channel, about each delivery (`delivered`), each handler that finished (`handled`, sent
 * and flushed before the handler returns, so before the SDK sends the ack) and each ack that failed
 * (`ackFailed`). With `hold`, handlers never finish: the process dies holding its deliveries.
 * Its settings come as one JSON argument: { url, queue, prefetch, visibilityMs, handleMs, hold }.
 */
import { connect } from "@mailroom/client";

const settings = JSON.parse(process.argv[2] ?? "{}");

/** Sends a message to the parent and resolves once it is written to the channel. */
function tell(message) {
  return new Promise((resolve) => process.send(message, () => resolve()));
}

const client = connect(settings.url, {
  transports: ["websocket"],
  reconnectionDelay: 100,
  reconnectionDelayMax: 500,
});
client.on("consumeError", (error, failure) => {
  if (failure.operation !== "ack" || !failure.message) return;
  void tell({ type: "ackFailed", receipt: failure.message.receipt, stale: error.code === "NOT_FOUND" });
});
client.socket.on("connect", () => void tell({ type: "connected", socket: client.socket.id }));

await client.ready();
await client.queue(settings.queue).consume(
  async (message) => {
    await tell({
      type: "delivered",
      id: message.id,
      receipt: message.receipt,
      attempt: message.attempt,
      at: Date.now(),
    });
    if (settings.hold) return new Promise(() => {});
    if (settings.handleMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.handleMs));
    await tell({ type: "handled", receipt: message.receipt });
  },
  { prefetch: settings.prefetch, visibilityMs: settings.visibilityMs },
);
await tell({ type: "ready" });
