/**
 * What the dashboard reads (docs/protocol.md §12), with real node processes, real HTTP and stock
 * socket.io-client sockets: `GET /v1/namespaces` and `GET /v1/dashboard` see the whole cluster (both nodes,
 * their sockets per namespace, queues with running totals, rooms with members); a peek shows ready, delayed
 * and in-flight messages and leases nothing; and the `monitor` right reads everything and changes nothing,
 * over HTTP and Socket.IO.
 */
import { describe, expect, it } from "vitest";
import { http, TEST_JWT_SECRET, token } from "./helpers/monitor-access.js";
import { startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

describe("the cluster as the dashboard reads it", () => {
  it("lists both nodes, their sockets per namespace, queues with totals and rooms with members", async () => {
    const redis = await startRedis();
    const [a, b] = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
    const onA = await connectSocket(a!.url, "/orders");
    await connectSocket(b!.url, "/orders");
    await connectSocket(b!.url);
    await command(onA, "room:join", { room: "desk" });
    for (const n of [1, 2, 3])
      await http(a!, "POST", "/v1/namespaces/orders/queues/jobs/messages", undefined, { data: n });
    const received = await http(b!, "POST", "/v1/namespaces/orders/queues/jobs/receive", undefined, { max: 1 });
    await http(b!, "POST", "/v1/namespaces/orders/queues/jobs/ack", undefined, {
      receipts: [received.body.messages[0].receipt],
    });

    // The nodes report their sockets at their heartbeat (250 ms in tests).
    const namespaces = await waitFor(
      async () => {
        const reply = await http(a!, "GET", "/v1/namespaces");
        const orders = reply.body.namespaces.find((namespace: { name: string }) => namespace.name === "/orders");
        return orders?.sockets === 2 ? reply.body : undefined;
      },
      { what: "both nodes' sockets in /v1/namespaces" },
    );
    expect(namespaces).toEqual({
      namespaces: [
        { name: "/", queues: 0, sockets: 1 },
        { name: "/orders", queues: 1, sockets: 2 },
      ],
    });

    const { status, body } = await http(b!, "GET", "/v1/dashboard");
    expect(status).toBe(200);
    expect(body.nodes.map((node: { self: boolean }) => node.self).sort()).toEqual([false, true]);
    for (const node of body.nodes) expect(node).toMatchObject({ draining: false, eventLoopLagMs: expect.any(Number) });
    expect(body.store).toMatchObject({ engine: "redis", ready: true, dataLossDetected: 0 });
    expect(body.store.usedMemoryBytes).toBeGreaterThan(0);
    expect(body.eventLoopLagMs).toBeGreaterThanOrEqual(0);
    expect(body.queues).toEqual([
      {
        namespace: "/orders",
        name: "jobs",
        ready: 2,
        inflight: 0,
        delayed: 0,
        deadLettered: 0,
        consumers: 0,
        groups: 0,
        sent: 3,
        acked: 1,
        oldestReadyAgeMs: expect.any(Number),
      },
    ]);
    expect(body.rooms).toEqual([{ namespace: "/orders", name: "desk", members: 1 }]);
    expect(body.truncated).toEqual({ queues: false, rooms: false });
  });

  it("peeks at ready, delayed and in-flight messages, leasing nothing", async () => {
    const node = await startNode();
    const base = "/v1/namespaces/_/queues/jobs";
    for (const n of [1, 2, 3]) await http(node, "POST", `${base}/messages`, undefined, { data: n, group: `g${n}` });
    await http(node, "POST", `${base}/messages`, undefined, { data: "later", delayMs: 60_000 });
    await http(node, "POST", `${base}/receive`, undefined, { max: 1 });

    const ready = await http(node, "GET", `${base}/messages?state=ready&limit=5`);
    expect(ready.body.messages.map((message: { data: unknown }) => message.data)).toEqual([2, 3]);
    expect(ready.body.messages[0]).toEqual({
      id: expect.any(String),
      data: 2,
      headers: {},
      attempt: 0,
      enqueuedAt: expect.any(Number),
      group: "g2",
      priority: 0,
    });
    const inflight = await http(node, "GET", `${base}/messages?state=inflight`);
    expect(inflight.body.messages).toMatchObject([{ data: 1, attempt: 1, group: "g1" }]);
    const delayed = await http(node, "GET", `${base}/messages?state=delayed`);
    expect(delayed.body.messages).toMatchObject([{ data: "later", attempt: 0 }]);
    expect((await http(node, "GET", `${base}/messages?state=dead`)).status).toBe(400);
    expect((await http(node, "GET", `${base}/messages?limit=101`)).status).toBe(400);
    // Nothing was leased or moved by the peeks.
    expect((await http(node, "GET", base)).body).toMatchObject({ ready: 2, inflight: 1, delayed: 1 });
  });

  it("lets a monitor token read every route and change nothing, over HTTP and Socket.IO", async () => {
    const node = await startNode({ args: ["--jwt-secret", TEST_JWT_SECRET] });
    const admin = await token({ "*": ["admin"] });
    const monitor = await token({ "*": ["monitor"] });
    const narrow = await token({ "/orders": ["monitor"] });
    const base = "/v1/namespaces/orders/queues/jobs";
    await http(node, "POST", `${base}/messages`, admin, { data: 1 });
    await http(node, "POST", `${base}/receive`, admin, { max: 1 });

    for (const path of [
      "/v1/dashboard",
      "/v1/namespaces",
      "/v1/cluster",
      "/v1/namespaces/orders/queues",
      base,
      `${base}/messages?state=inflight`,
      "/v1/namespaces/orders/rooms/desk",
      "/v1/namespaces/orders/rooms/desk/history",
    ]) {
      expect((await http(node, "GET", path, monitor)).status, path).toBe(200);
    }
    const forbidden = { status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } } };
    for (const [method, path, json] of [
      ["POST", `${base}/messages`, { data: 2 }],
      ["POST", `${base}/receive`, {}],
      ["DELETE", `${base}/messages`, undefined],
      ["POST", `${base}/redrive`, undefined],
      ["POST", "/v1/namespaces/orders/rooms/desk/publish", { event: "e", data: 1 }],
    ] as const) {
      expect(await http(node, method, path, monitor, json), `${method} ${path}`).toMatchObject(forbidden);
    }
    // Monitor on one namespace reads it, not the whole cluster.
    expect((await http(node, "GET", base, narrow)).status).toBe(200);
    expect(await http(node, "GET", "/v1/dashboard", narrow)).toMatchObject(forbidden);
    expect(await http(node, "GET", "/v1/namespaces", narrow)).toMatchObject(forbidden);
    expect((await http(node, "GET", base, admin)).body).toMatchObject({ ready: 0, inflight: 1 });

    const socket = await connectSocket(node.url, "/orders", { auth: { token: monitor } });
    expect(await command(socket, "queue:stats", { queue: "jobs" })).toMatchObject({ ok: true, inflight: 1 });
    expect(await command(socket, "room:members", { room: "desk" })).toMatchObject({ ok: true, count: 0 });
    for (const [event, args] of [
      ["queue:send", { queue: "jobs", data: 1 }],
      ["queue:consume", { queue: "jobs" }],
      ["queue:purge", { queue: "jobs" }],
      ["room:join", { room: "desk" }],
      ["room:publish", { room: "desk", event: "e", data: 1 }],
    ] as const) {
      expect(await command(socket, event, args), event).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    }
  });
});
