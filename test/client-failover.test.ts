/**
 * An SDK client given several node URLs moves to the next node when its own stops (drain) or dies, and
 * carries on: its consumers consume again there and its rooms are joined again (issue 6, "clients of the
 * SDK reconnect to another node by themselves", here without a load balancer).
 */
import { describe, expect, it } from "vitest";
import { readyClient } from "./helpers/clients.js";
import { startTwoNodesOnRedis } from "./helpers/nodes.js";
import { waitFor } from "./helpers/wait.js";

describe("SDK failover across node URLs", () => {
  it.each(["stop", "kill"] as const)("consumes and receives broadcasts on the next node after a %s", async (how) => {
    const [first, second] = await startTwoNodesOnRedis();
    const client = await readyClient([first.url, second.url], { reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const received: string[] = [];
    await client.queue("work").consume(async (message) => {
      received.push(message.data as string);
    });
    const events: unknown[] = [];
    const lobby = client.room("lobby");
    lobby.on("note", (data) => events.push(data));
    await lobby.join();

    const producer = await readyClient(second.url);
    await producer.queue("work").send("before");
    await waitFor(() => received.includes("before"), { what: "the first message on the first node" });

    let reconnected = false;
    client.socket.on("connect", () => {
      reconnected = true;
    });
    if (how === "stop") expect(await first.stop()).toBe(0);
    else await first.kill();

    await waitFor(() => reconnected, { timeoutMs: 15_000, what: "the client to reconnect to the second node" });
    await producer.queue("work").send("after");
    await waitFor(() => received.includes("after"), { timeoutMs: 15_000, what: "a message after the move" });
    await waitFor(
      async () => {
        await producer.room("lobby").publish("note", "hello");
        return events.includes("hello");
      },
      { timeoutMs: 15_000, intervalMs: 300, what: "a broadcast to the re-joined room" },
    );
    expect(received.filter((data) => data === "before")).toHaveLength(1);
  });
});
