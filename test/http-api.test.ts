/**
 * The HTTP API of docs/protocol.md §6 against real node processes over real HTTP: every route, binary bodies
 * and `$binary` JSON both ways, long-polling receives across nodes, Socket.IO and HTTP on the same queues
 * and rooms, the contract's error shapes and statuses, and the OpenAPI document.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { consume, type Delivery, deliveries } from "./conformance/queue-semantics.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

interface HttpReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
  body: any;
  headers: Headers;
}

/** One HTTP request; a `json` body is sent as application/json, `raw` as is with the given headers. */
async function http(
  node: NodeHandle,
  method: string,
  path: string,
  options: { json?: unknown; raw?: Uint8Array | string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: Uint8Array | string | undefined = options.raw;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const init: RequestInit = { method, headers, body: body as BodyInit | undefined };
  if (options.signal) init.signal = options.signal;
  const response = await fetch(`${node.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text), headers: response.headers };
}

const queuePath = (queue: string, ns = "_") => `/v1/namespaces/${ns}/queues/${encodeURIComponent(queue)}`;
const roomPath = (room: string, ns = "_") => `/v1/namespaces/${ns}/rooms/${encodeURIComponent(room)}`;

function send(node: NodeHandle, queue: string, message: Record<string, unknown>, ns = "_") {
  return http(node, "POST", `${queuePath(queue, ns)}/messages`, { json: message });
}

function receive(node: NodeHandle, queue: string, options: Record<string, unknown> = {}, signal?: AbortSignal) {
  return http(node, "POST", `${queuePath(queue)}/receive`, { json: options, ...(signal ? { signal } : {}) });
}

function stats(node: NodeHandle, queue: string) {
  return http(node, "GET", queuePath(queue));
}

const bytes = (length: number) => Buffer.from(Array.from({ length }, (_, index) => (index * 31 + 7) % 256));

describe("the HTTP API on one memory node", () => {
  it("sends a JSON message (201 { id, duplicate }) and receives it with data, headers, attempt and enqueuedAt", async () => {
    const node = await startNode();
    const before = Date.now();
    const sent = await send(node, "jobs", { data: { n: 1 }, id: "job-1", headers: { kind: "test" } });
    expect(sent).toMatchObject({ status: 201, body: { id: "job-1", duplicate: false } });
    expect((await send(node, "jobs", { data: { n: 2 }, id: "job-1" })).body).toEqual({ id: "job-1", duplicate: true });

    const received = await receive(node, "jobs", { max: 10 });
    expect(received.status).toBe(200);
    expect(received.body.messages).toHaveLength(1);
    const [message] = received.body.messages;
    expect(message).toMatchObject({ id: "job-1", data: { n: 1 }, headers: { kind: "test" }, attempt: 1 });
    expect(message.receipt).toEqual(expect.any(String));
    expect(message.enqueuedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(message).not.toHaveProperty("reason");
  });

  it("gives a message with no id a server-made one, and keeps null as data", async () => {
    const node = await startNode();
    const sent = await send(node, "nulls", { data: null });
    expect(sent.status).toBe(201);
    expect(sent.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const [message] = (await receive(node, "nulls")).body.messages;
    expect(message).toMatchObject({ id: sent.body.id, data: null, headers: {} });
  });

  it("sends a batch all at once (201 { results } in order) and receives up to max of it", async () => {
    const node = await startNode();
    const sent = await http(node, "POST", `${queuePath("batch")}/messages/batch`, {
      json: { messages: [{ data: 0, id: "b-0" }, { data: 1 }, { data: 2, id: "b-0" }] },
    });
    expect(sent.status).toBe(201);
    expect(sent.body.results).toEqual([
      { id: "b-0", duplicate: false },
      { id: expect.any(String), duplicate: false },
      { id: "b-0", duplicate: true },
    ]);
    const first = await receive(node, "batch", { max: 1 });
    expect(first.body.messages.map((message: Delivery) => message.data)).toEqual([0]);
    const rest = await receive(node, "batch", { max: 100 });
    expect(rest.body.messages.map((message: Delivery) => message.data)).toEqual([1]);
  });

  it("refuses a whole batch when one message is invalid", async () => {
    const node = await startNode();
    const refused = await http(node, "POST", `${queuePath("all-or-none")}/messages/batch`, {
      json: { messages: [{ data: 1 }, { data: 2, id: "bad id" }] },
    });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: "INVALID_NAME" } } });
    expect((await stats(node, "all-or-none")).body).toMatchObject({ ready: 0 });
  });

  it("stores an application/octet-stream body as binary, with its options and headers from Mailroom-* headers", async () => {
    const node = await startNode();
    const payload = bytes(70_000);
    const sent = await http(node, "POST", `${queuePath("raw")}/messages`, {
      raw: payload,
      headers: {
        "content-type": "application/octet-stream",
        "Mailroom-Id": "raw-1",
        "Mailroom-Max-Attempts": "1",
        "Mailroom-Ttl-Ms": "60000",
        "Mailroom-Header-Content-Kind": "image/png",
      },
    });
    expect(sent).toMatchObject({ status: 201, body: { id: "raw-1", duplicate: false } });

    const [message] = (await receive(node, "raw")).body.messages;
    expect(message.headers).toEqual({ "content-kind": "image/png" });
    expect(Object.keys(message.data)).toEqual(["$binary"]);
    expect(Buffer.compare(Buffer.from(message.data.$binary, "base64"), payload)).toBe(0);
    // maxAttempts 1: a nack with requeue dead-letters it at once.
    const nacked = await http(node, "POST", `${queuePath("raw")}/nack`, { json: { receipt: message.receipt } });
    expect(nacked.body).toEqual({ deadLettered: true });
  });

  it("delays a binary message by Mailroom-Delay-Ms", async () => {
    const node = await startNode();
    await http(node, "POST", `${queuePath("raw-delayed")}/messages`, {
      raw: bytes(3),
      headers: { "content-type": "application/octet-stream", "Mailroom-Delay-Ms": "60000" },
    });
    expect((await stats(node, "raw-delayed")).body).toMatchObject({ ready: 0, delayed: 1 });
  });

  it("decodes { $binary } JSON data into binary: a Socket.IO consumer receives a Buffer", async () => {
    const node = await startNode();
    const payload = bytes(1000);
    await send(node, "to-socket", { data: { $binary: payload.toString("base64") } });
    await send(node, "to-socket", { data: { $binary: "AAEC", other: 1 } });
    const socket = await connectSocket(node.url);
    const got = deliveries(socket);
    await consume(socket, { queue: "to-socket" });
    await waitFor(() => got.length === 2);
    expect(Buffer.isBuffer(got[0]!.data)).toBe(true);
    expect(Buffer.compare(got[0]!.data as Buffer, payload)).toBe(0);
    expect(got[1]!.data).toEqual({ $binary: "AAEC", other: 1 });
  });

  it("returns binary sent over Socket.IO as { $binary }, and JSON sent over Socket.IO as it was", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    const payload = bytes(5000);
    expect((await command(socket, "queue:send", { queue: "from-socket", data: payload })).ok).toBe(true);
    expect((await command(socket, "queue:send", { queue: "from-socket", data: [1, "two"] })).ok).toBe(true);
    const [binary, json] = (await receive(node, "from-socket", { max: 2 })).body.messages;
    expect(Buffer.compare(Buffer.from(binary.data.$binary, "base64"), payload)).toBe(0);
    expect(json.data).toEqual([1, "two"]);
  });

  it("acks by receipts (200 { acked, stale }), listing receipts of no current lease as stale", async () => {
    const node = await startNode();
    await send(node, "acks", { data: 1 });
    await send(node, "acks", { data: 2 });
    const messages = (await receive(node, "acks", { max: 2 })).body.messages as Delivery[];
    const receipts = messages.map((message) => message.receipt);
    const acked = await http(node, "POST", `${queuePath("acks")}/ack`, {
      json: { receipts: [...receipts, "0123abcd:nothing"] },
    });
    expect(acked).toMatchObject({ status: 200, body: { acked: 2, stale: ["0123abcd:nothing"] } });
    const again = await http(node, "POST", `${queuePath("acks")}/ack`, { json: { receipts } });
    expect(again.body).toEqual({ acked: 0, stale: receipts });
    expect((await stats(node, "acks")).body).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("nacks: requeue makes it ready again (attempt 2), requeue false dead-letters it with reason rejected", async () => {
    const node = await startNode();
    await send(node, "retry", { data: "x" });
    const first = (await receive(node, "retry")).body.messages[0];
    const requeued = await http(node, "POST", `${queuePath("retry")}/nack`, { json: { receipt: first.receipt } });
    expect(requeued).toMatchObject({ status: 200, body: { deadLettered: false } });
    const second = (await receive(node, "retry")).body.messages[0];
    expect(second).toMatchObject({ id: first.id, attempt: 2 });

    const rejected = await http(node, "POST", `${queuePath("retry")}/nack`, {
      json: { receipt: second.receipt, requeue: false },
    });
    expect(rejected.body).toEqual({ deadLettered: true });
    expect((await stats(node, "retry")).body).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
    const [dead] = (await receive(node, "retry.dlq")).body.messages;
    expect(dead).toMatchObject({ id: first.id, data: "x", attempt: 1, reason: "rejected" });
  });

  it("answers 404 NOT_FOUND to a nack of an unknown receipt", async () => {
    const node = await startNode();
    const reply = await http(node, "POST", `${queuePath("none")}/nack`, { json: { receipt: "abcdef01:gone" } });
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
  });

  it("answers the stats of one queue, with the consumers of Socket.IO", async () => {
    const node = await startNode();
    await send(node, "watched", { data: 1 });
    await send(node, "watched", { data: 2, delayMs: 60_000 });
    const socket = await connectSocket(node.url);
    await consume(socket, { queue: "watched", prefetch: 1 });
    await waitFor(async () => (await stats(node, "watched")).body.inflight === 1);
    expect((await stats(node, "watched")).body).toEqual({
      name: "watched",
      ready: 0,
      inflight: 1,
      delayed: 1,
      deadLettered: 0,
      consumers: 1,
      groups: 0,
    });
  });

  it("lists the namespace's queues that hold messages or were sent to within 24 hours, with their stats", async () => {
    const node = await startNode();
    await send(node, "b-queue", { data: 1 });
    await send(node, "a-queue", { data: 1, delayMs: 60_000 });
    await send(node, "elsewhere", { data: 1 }, "other");
    await send(node, "emptied", { data: 1 });
    await http(node, "DELETE", `${queuePath("emptied")}/messages`);
    const listed = await http(node, "GET", "/v1/namespaces/_/queues");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      queues: [
        { name: "a-queue", ready: 0, inflight: 0, delayed: 1, deadLettered: 0, consumers: 0, groups: 0 },
        { name: "b-queue", ready: 1, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 },
        { name: "emptied", ready: 0, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 },
      ],
      truncated: false,
    });
    const other = await http(node, "GET", "/v1/namespaces/other/queues");
    expect(other.body.queues.map((queue: { name: string }) => queue.name)).toEqual(["elsewhere"]);
  });

  it("purges ready and delayed messages (DELETE .../messages → { purged }), leaving in-flight ones", async () => {
    const node = await startNode();
    for (const data of [1, 2, 3]) await send(node, "purged", { data });
    await send(node, "purged", { data: 4, delayMs: 60_000 });
    await receive(node, "purged");
    const purged = await http(node, "DELETE", `${queuePath("purged")}/messages`);
    expect(purged).toMatchObject({ status: 200, body: { purged: 3 } });
    expect((await stats(node, "purged")).body).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
  });

  it("redrives the dead letters back to the queue (POST .../redrive → { moved })", async () => {
    const node = await startNode();
    await send(node, "redriven", { data: "a" });
    const [message] = (await receive(node, "redriven")).body.messages;
    await http(node, "POST", `${queuePath("redriven")}/nack`, { json: { receipt: message.receipt, requeue: false } });
    const redriven = await http(node, "POST", `${queuePath("redriven")}/redrive`);
    expect(redriven).toMatchObject({ status: 200, body: { moved: 1 } });
    const [again] = (await receive(node, "redriven")).body.messages;
    expect(again).toMatchObject({ id: message.id, data: "a", attempt: 1 });
  });

  it("answers a receive with waitMs after waitMs with no messages when none comes", async () => {
    const node = await startNode();
    const startedAt = Date.now();
    const reply = await receive(node, "quiet", { waitMs: 600 });
    expect(reply).toMatchObject({ status: 200, body: { messages: [] } });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(550);
  });

  it("answers waiting receives at once when the node drains, and exits 0", async () => {
    const node = await startNode();
    const poll = receive(node, "draining", { waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = Date.now();
    const [reply, code] = await Promise.all([poll, node.stop()]);
    expect(reply).toMatchObject({ status: 200, body: { messages: [] } });
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  });

  it("leases for visibilityMs: the message is ready again after its lease ends", async () => {
    const node = await startNode();
    await send(node, "short-lease", { data: 1 });
    await receive(node, "short-lease", { visibilityMs: 1000 });
    expect((await stats(node, "short-lease")).body).toMatchObject({ inflight: 1 });
    const again = await receive(node, "short-lease", { waitMs: 5000 });
    expect(again.body.messages[0]).toMatchObject({ data: 1, attempt: 2 });
  });

  it("accepts the longest queue and room names in the path, and refuses longer ones with INVALID_NAME", async () => {
    const node = await startNode();
    const longQueue = `q${"x".repeat(123)}`;
    expect((await send(node, longQueue, { data: 1 })).status).toBe(201);
    expect((await stats(node, longQueue)).body).toMatchObject({ name: longQueue, ready: 1 });
    const longRoom = "é".repeat(128);
    expect((await http(node, "GET", roomPath(longRoom))).body).toEqual({ count: 0, members: [] });

    const tooLongQueue = await send(node, `q${"x".repeat(124)}`, { data: 1 });
    expect(tooLongQueue).toMatchObject({ status: 400, body: { error: { code: "INVALID_NAME" } } });
    const farTooLong = await send(node, `q${"x".repeat(5000)}`, { data: 1 });
    expect(farTooLong).toMatchObject({ status: 400, body: { error: { code: "INVALID_NAME" } } });
    const tooLongRoom = await http(node, "GET", roomPath(`${longRoom}é`));
    expect(tooLongRoom).toMatchObject({ status: 400, body: { error: { code: "INVALID_NAME" } } });
  });

  it("publishes to a room (202 { id }): members receive (data, meta { room, id, ts }), binary as binary", async () => {
    const node = await startNode();
    const member = await connectSocket(node.url, "/chat");
    expect((await command(member, "room:join", { room: "general/eu" })).ok).toBe(true);
    const next = nextEvent(member, "said");
    const before = Date.now();
    const published = await http(node, "POST", `${roomPath("general/eu", "chat")}/publish`, {
      json: { event: "said", data: { text: "hello" } },
    });
    expect(published).toMatchObject({ status: 202, body: { id: expect.any(String) } });
    const [data, meta] = (await next) as [unknown, { room: string; id: string; ts: number }];
    expect(data).toEqual({ text: "hello" });
    expect(meta).toEqual({
      room: "general/eu",
      id: published.body.id,
      ts: expect.any(Number),
      offset: expect.any(Number),
      epoch: expect.any(String),
    });
    expect(meta.ts).toBeGreaterThanOrEqual(before - 1000);

    const binary = nextEvent(member, "bytes");
    await http(node, "POST", `${roomPath("general/eu", "chat")}/publish`, {
      json: { event: "bytes", data: { $binary: bytes(100).toString("base64") } },
    });
    const [received] = (await binary) as [Buffer];
    expect(Buffer.isBuffer(received)).toBe(true);
    expect(Buffer.compare(received, bytes(100))).toBe(0);
  });

  it("lists a room's members (GET .../rooms/{room} → { count, members })", async () => {
    const node = await startNode();
    const member = await connectSocket(node.url, "/chat");
    await command(member, "room:join", { room: "lobby" });
    const reply = await http(node, "GET", roomPath("lobby", "chat"));
    expect(reply).toMatchObject({ status: 200, body: { count: 1, members: [{ socket: member.id }] } });
    expect((await http(node, "GET", roomPath("lobby"))).body).toEqual({ count: 0, members: [] });
  });

  it("lists the node in GET /v1/cluster", async () => {
    const node = await startNode();
    const reply = await http(node, "GET", "/v1/cluster");
    expect(reply.status).toBe(200);
    expect(reply.body.engine).toBe("memory");
    expect(reply.body.nodes).toEqual([
      {
        id: expect.any(String),
        url: node.url,
        startedAt: expect.any(Number),
        connections: expect.any(Number),
        lastSeenAt: expect.any(Number),
      },
    ]);
  });
});

describe("HTTP errors", () => {
  it("answers wrong shapes with 400 BAD_REQUEST in the contract's shape, never clamping", async () => {
    const node = await startNode();
    const cases: Array<[string, string, unknown]> = [
      ["messages", "POST", { id: "no-data" }],
      ["messages", "POST", { data: 1, delayMs: -1 }],
      ["messages", "POST", { data: 1, ttlMs: "1000" }],
      ["messages", "POST", { data: 1, surprise: true }],
      ["messages", "POST", { data: { $binary: "not base64!" } }],
      ["messages/batch", "POST", { messages: [] }],
      ["receive", "POST", { max: 101 }],
      ["receive", "POST", { waitMs: 20_001 }],
      ["receive", "POST", { visibilityMs: 999 }],
      ["ack", "POST", { receipts: "r" }],
      ["nack", "POST", { receipt: "r", requeue: "no" }],
    ];
    for (const [route, method, json] of cases) {
      const reply = await http(node, method, `${queuePath("shapes")}/${route}`, { json });
      expect(reply.status, JSON.stringify(json)).toBe(400);
      expect(reply.body, JSON.stringify(json)).toEqual({ error: { code: "BAD_REQUEST", message: expect.any(String) } });
    }
    const notJson = await http(node, "POST", `${queuePath("shapes")}/messages`, {
      raw: "{",
      headers: { "content-type": "application/json" },
    });
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    const poisoned = await http(node, "POST", `${queuePath("shapes")}/messages`, {
      raw: '{"data":{"__proto__":{"admin":true}}}',
      headers: { "content-type": "application/json" },
    });
    expect(poisoned).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect(poisoned.body.error.message).toMatch(/__proto__/);
    const badHeader = await http(node, "POST", `${queuePath("shapes")}/messages`, {
      raw: "x",
      headers: { "content-type": "application/octet-stream", "Mailroom-Delay-Ms": "soon" },
    });
    expect(badHeader).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    const unknownHeader = await http(node, "POST", `${queuePath("shapes")}/messages`, {
      raw: "x",
      headers: { "content-type": "application/octet-stream", "Mailroom-Delay": "5" },
    });
    expect(unknownHeader).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    const binaryElsewhere = await http(node, "POST", `${queuePath("shapes")}/messages/batch`, {
      raw: "x",
      headers: { "content-type": "application/octet-stream" },
    });
    expect(binaryElsewhere).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect((await stats(node, "shapes")).body).toMatchObject({ ready: 0, delayed: 0 });
  });

  it("answers bad names with 400 INVALID_NAME (namespace, queue, message id, room, event) or RESERVED_EVENT", async () => {
    const node = await startNode();
    const invalid = [
      await send(node, "jobs", { data: 1 }, "-orders"),
      await send(node, "bad queue", { data: 1 }),
      await send(node, ".hidden", { data: 1 }),
      await send(node, "jobs", { data: 1, id: "a/b" }),
      await http(node, "GET", roomPath("ctl\u0007")),
      await http(node, "POST", `${roomPath("room")}/publish`, { json: { event: "bad\nevent", data: 1 } }),
    ];
    for (const reply of invalid) {
      expect(reply).toMatchObject({
        status: 400,
        body: { error: { code: "INVALID_NAME", message: expect.any(String) } },
      });
    }
    const reserved = await http(node, "POST", `${roomPath("room")}/publish`, {
      json: { event: "queue:message", data: 1 },
    });
    expect(reserved).toMatchObject({ status: 400, body: { error: { code: "RESERVED_EVENT" } } });
  });

  it("answers an unknown route with 404 NOT_FOUND and a malformed URL with 400 BAD_REQUEST", async () => {
    const node = await startNode();
    for (const [method, path] of [
      ["GET", "/v1/nothing"],
      ["GET", `${queuePath("jobs")}/receive`],
      ["PUT", queuePath("jobs")],
    ] as const) {
      const reply = await http(node, method, path);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    }
    const malformed = await http(node, "GET", "/v1/namespaces/_/rooms/%zz");
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
  });

  it("answers 413 PAYLOAD_TOO_LARGE over the maximum: data, binary bodies, batches, publishes and huge bodies", async () => {
    const node = await startNode({ args: ["--max-message-bytes", "1024"] });
    const big = "x".repeat(1100);
    const replies = [
      await send(node, "big", { data: big }),
      await send(node, "big", { data: { $binary: bytes(1025).toString("base64") } }),
      await http(node, "POST", `${queuePath("big")}/messages`, {
        raw: bytes(1025),
        headers: { "content-type": "application/octet-stream" },
      }),
      await http(node, "POST", `${queuePath("big")}/messages/batch`, {
        json: { messages: [{ data: "x".repeat(600) }, { data: "x".repeat(600) }] },
      }),
      await http(node, "POST", `${roomPath("room")}/publish`, { json: { event: "e", data: big } }),
      await send(node, "big", { data: "x".repeat(1_000_000) }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(413);
      expect(reply.body).toEqual({ error: { code: "PAYLOAD_TOO_LARGE", message: expect.any(String) } });
    }
    // Exactly the maximum passes, as binary or as JSON text.
    expect((await send(node, "big", { data: { $binary: bytes(1024).toString("base64") } })).status).toBe(201);
    expect((await send(node, "big", { data: "x".repeat(1022) })).status).toBe(201);
    expect((await stats(node, "big")).body).toMatchObject({ ready: 2 });
  });
});

describe("the OpenAPI document and its UI", () => {
  it("serves a valid OpenAPI document at /openapi.json that lists every route", async () => {
    const node = await startNode();
    const reply = await http(node, "GET", "/openapi.json");
    expect(reply.status).toBe(200);
    const document = reply.body;
    await SwaggerParser.validate(structuredClone(document));
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "POST /v1/namespaces/{ns}/queues/{queue}/messages",
        "POST /v1/namespaces/{ns}/queues/{queue}/messages/batch",
        "POST /v1/namespaces/{ns}/queues/{queue}/receive",
        "POST /v1/namespaces/{ns}/queues/{queue}/ack",
        "POST /v1/namespaces/{ns}/queues/{queue}/nack",
        "GET /v1/namespaces/{ns}/queues",
        "GET /v1/namespaces/{ns}/queues/{queue}",
        "DELETE /v1/namespaces/{ns}/queues/{queue}/messages",
        "POST /v1/namespaces/{ns}/queues/{queue}/redrive",
        "POST /v1/namespaces/{ns}/rooms/{room}/publish",
        "GET /v1/namespaces/{ns}/rooms/{room}",
        "GET /v1/namespaces/{ns}/rooms/{room}/history",
        "GET /v1/namespaces/{ns}/queues/{queue}/messages",
        "GET /v1/namespaces",
        "GET /v1/dashboard",
        "GET /v1/dashboard/history",
        "GET /v1/cluster",
        "GET /healthz",
        "GET /readyz",
      ].sort(),
    );
    const send = document.paths["/v1/namespaces/{ns}/queues/{queue}/messages"].post;
    expect(Object.keys(send.requestBody.content).sort()).toEqual(["application/json", "application/octet-stream"]);
  });

  it("serves the documentation UI at /docs", async () => {
    const node = await startNode();
    const response = await fetch(`${node.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
  });
});

describe("the HTTP API on a Redis cluster", () => {
  it("answers a long-poll receive on node B, started before the send on node A, within a second of it", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [NodeHandle, NodeHandle];
    const startedAt = Date.now();
    const poll = receive(b, "across", { waitMs: 10_000 });
    // Let the poll reach node B and subscribe to the queue's wake-ups.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentAt = Date.now();
    expect((await send(a, "across", { data: "wake up" })).status).toBe(201);
    const reply = await poll;
    const answeredAt = Date.now();
    expect(reply.body.messages).toHaveLength(1);
    expect(reply.body.messages[0]).toMatchObject({ data: "wake up", attempt: 1 });
    expect(answeredAt - sentAt).toBeLessThan(1000);
    expect(answeredAt - startedAt).toBeLessThan(10_000);
  });

  it("shares queues and messages between Socket.IO and HTTP, both ways, across nodes", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [NodeHandle, NodeHandle];
    const producer = await connectSocket(a.url);
    const payload = bytes(2048);
    await command(producer, "queue:send", { queue: "mixed", data: payload, headers: { via: "socket" } });
    const [fromSocket] = (await receive(b, "mixed")).body.messages;
    expect(fromSocket.headers).toEqual({ via: "socket" });
    expect(Buffer.compare(Buffer.from(fromSocket.data.$binary, "base64"), payload)).toBe(0);
    const acked = await http(a, "POST", `${queuePath("mixed")}/ack`, { json: { receipts: [fromSocket.receipt] } });
    expect(acked.body).toEqual({ acked: 1, stale: [] });

    const consumer = await connectSocket(a.url);
    const got = deliveries(consumer);
    await consume(consumer, { queue: "mixed", prefetch: 1 });
    await send(b, "mixed", { data: { n: 1 }, headers: { via: "http" } });
    await send(b, "mixed", { data: { n: 2 } });
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ data: { n: 1 }, headers: { via: "http" }, attempt: 1 });
    // Acked over HTTP on the consumer's node, its delivery frees the prefetch slot at once: the next one comes.
    await http(a, "POST", `${queuePath("mixed")}/ack`, { json: { receipts: [got[0]!.receipt] } });
    await waitFor(() => got.length === 2, { timeoutMs: 5000 });
    expect(got[1]!.data).toEqual({ n: 2 });
    const consumers = await stats(b, "mixed");
    expect(consumers.body).toMatchObject({ consumers: 1, inflight: 1, ready: 0 });
  });

  it("leaves no lease behind when a client aborts its long-poll", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const abort = new AbortController();
    const poll = receive(node, "abandoned", { waitMs: 10_000 }, abort.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    abort.abort();
    await expect(poll).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(node, "abandoned", { data: "for someone else" });
    // Longer than the waiting receive's fallback re-check: a wait still running would have leased it by now.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await stats(node, "abandoned")).body).toMatchObject({ ready: 1, inflight: 0 });
  });

  it("lists the queues of a namespace from Redis, dead-letter queues that hold messages too", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    await send(node, "tenant:42", { data: 1 }, "shop");
    await send(node, "email.send", { data: 1 }, "shop");
    const [message] = (await http(node, "POST", `${queuePath("email.send", "shop")}/receive`, { json: {} })).body
      .messages;
    await http(node, "POST", `${queuePath("email.send", "shop")}/nack`, {
      json: { receipt: message.receipt, requeue: false },
    });
    await send(node, "not-here", { data: 1 });
    const listed = await http(node, "GET", "/v1/namespaces/shop/queues");
    expect(listed.body).toEqual({
      queues: [
        { name: "email.send", ready: 0, inflight: 0, delayed: 0, deadLettered: 1, consumers: 0, groups: 0 },
        { name: "email.send.dlq", ready: 1, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 },
        { name: "tenant:42", ready: 1, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 },
      ],
      truncated: false,
    });
  });

  it("publishes over HTTP on a node where the namespace has no socket, to members on every node", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [NodeHandle, NodeHandle];
    const remote = await connectSocket(b.url, "/orders");
    await command(remote, "room:join", { room: "watchers" });
    const first = nextEvent(remote, "update");
    const reply = await http(a, "POST", `${roomPath("watchers", "orders")}/publish`, {
      json: { event: "update", data: 1 },
    });
    expect(reply.status).toBe(202);
    expect(await first).toEqual([
      1,
      {
        room: "watchers",
        id: reply.body.id,
        ts: expect.any(Number),
        offset: expect.any(Number),
        epoch: expect.any(String),
      },
    ]);

    // Now with a member on node A as well: the namespace exists there, and both receive.
    const local = await connectSocket(a.url, "/orders");
    await command(local, "room:join", { room: "watchers" });
    const both = [nextEvent(remote, "update"), nextEvent(local, "update")];
    await http(a, "POST", `${roomPath("watchers", "orders")}/publish`, { json: { event: "update", data: 2 } });
    expect((await Promise.all(both)).map(([data]) => data)).toEqual([2, 2]);
    const members = await http(b, "GET", roomPath("watchers", "orders"));
    expect(members.body.count).toBe(2);
  });

  it("never reaches a socket's private room through an HTTP publish", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [NodeHandle, NodeHandle];
    const target = await connectSocket(b.url, "/orders");
    await command(target, "room:join", { room: "control" });
    const leaked = collect(target, "secret");
    const control = nextEvent(target, "after");
    await http(a, "POST", `${roomPath(target.id as string, "orders")}/publish`, {
      json: { event: "secret", data: "for your eyes only" },
    });
    await http(a, "POST", `${roomPath("control", "orders")}/publish`, { json: { event: "after", data: 1 } });
    await control;
    expect(leaked).toEqual([]);
  });

  it("lists both nodes in GET /v1/cluster", async () => {
    const redis = await startRedis();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() })) as [NodeHandle, NodeHandle];
    const reply = await http(a, "GET", "/v1/cluster");
    expect(reply.body.engine).toBe("redis");
    expect(reply.body.nodes.map((node: { url: string }) => node.url).sort()).toEqual([a.url, b.url].sort());
  });
});
