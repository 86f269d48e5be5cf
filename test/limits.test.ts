/**
 * Limits that keep a node safe (docs/protocol.md §5, §8): a message over the maximum is answered
 * `PAYLOAD_TOO_LARGE` while the connection stays up (Socket.IO accepts packets of the maximum plus
 * 64 KiB), and a connection sending commands too fast is answered `RATE_LIMITED`, then served again.
 */
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { collect, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

describe("limits", () => {
  it("answers an oversize message with PAYLOAD_TOO_LARGE at the default maximum and keeps the connection", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    const disconnects = collect(socket, "disconnect");
    const justOver = Buffer.alloc(1_048_576 + 1, 7);
    const reply = await command(socket, "queue:send", { queue: "big", data: justOver });
    expect(reply).toEqual({ ok: false, error: { code: "PAYLOAD_TOO_LARGE", message: expect.any(String) } });
    const atMaximum = Buffer.alloc(1_048_576, 7);
    expect(await command(socket, "queue:send", { queue: "big", data: atMaximum })).toMatchObject({ ok: true });
    expect(disconnects).toEqual([]);
    expect(socket.connected).toBe(true);
  });

  it("answers RATE_LIMITED past the per-connection command rate, and serves again once it refills", async () => {
    const node = await startNode({ args: ["--commands-per-second", "20"] });
    const socket = await connectSocket(node.url);
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, index) => command(socket, "queue:send", { queue: "fast", data: index })),
    );
    const limited = replies.filter((reply) => reply.ok === false);
    expect(limited.length).toBeGreaterThan(0);
    for (const reply of limited) expect(reply.error.code).toBe("RATE_LIMITED");
    const stored = replies.length - limited.length;
    // The stats command waits for the bucket to refill like any other.
    const stats = await waitFor(async () => {
      const reply = await command(socket, "queue:stats", { queue: "fast" });
      return reply.ok ? reply : undefined;
    });
    expect(stats.ready).toBe(stored);
    await waitFor(async () => (await command(socket, "queue:send", { queue: "fast", data: "again" })).ok === true);
    expect(socket.connected).toBe(true);
  });
});
