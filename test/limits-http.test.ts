/**
 * Limits that keep a node safe over HTTP (docs/protocol.md §10): the per-client request rate
 * (`--http-requests-per-minute`, 429 `RATE_LIMITED` past it, operational routes exempt), slow clients
 * closed by the request timeout (`--http-request-timeout-ms`) while normal traffic keeps flowing and
 * Socket.IO connections stay up, and JSON bodies that try prototype poisoning refused with 400.
 * Loopback only; every loop is bounded.
 */
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { command, connectSocket } from "./helpers/sockets.js";

interface HttpReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
  body: any;
  headers: Headers;
}

async function http(node: NodeHandle, method: string, path: string, raw?: string): Promise<HttpReply> {
  const init: RequestInit = { method };
  if (raw !== undefined) {
    init.body = raw;
    init.headers = { "content-type": "application/json" };
  }
  const response = await fetch(`${node.url}${path}`, init);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    body: type.includes("json") && text !== "" ? JSON.parse(text) : text,
    headers: response.headers,
  };
}

const queuePath = (queue: string) => `/v1/namespaces/_/queues/${queue}`;
const sendJson = (node: NodeHandle, queue: string, message: unknown) =>
  http(node, "POST", `${queuePath(queue)}/messages`, JSON.stringify(message));

describe("the HTTP request rate", () => {
  it("answers 429 RATE_LIMITED past --http-requests-per-minute, while health, readiness and docs stay open", async () => {
    const node = await startNode({ args: ["--http-requests-per-minute", "30"] });
    const statuses: number[] = [];
    for (let index = 0; index < 15; index++) {
      statuses.push((await sendJson(node, "rated", { data: index })).status);
      statuses.push((await http(node, "GET", queuePath("rated"))).status);
    }
    expect(statuses.filter((status) => status >= 300)).toEqual([]);

    // The count is per client, across routes: the 31st request of any kind is refused, before its body is read.
    for (const refused of [
      await sendJson(node, "rated", { data: "over" }),
      await http(node, "GET", queuePath("rated")),
      await http(node, "POST", `${queuePath("rated")}/receive`, "{"),
    ]) {
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }

    for (const path of ["/healthz", "/readyz", "/openapi.json", "/docs"]) {
      expect((await http(node, "GET", path)).status, path).toBe(200);
    }
  });

  it("does not limit HTTP requests with --http-requests-per-minute 0", async () => {
    const node = await startNode({ args: ["--http-requests-per-minute", "0"] });
    const replies = await Promise.all(Array.from({ length: 60 }, () => http(node, "GET", queuePath("free"))));
    expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200));
    expect(replies[0]?.headers.has("x-ratelimit-limit")).toBe(false);
  });

  it("counts each client behind a trusted proxy (--trust-proxy) by its X-Forwarded-For address", async () => {
    const get = (node: NodeHandle, client: string) =>
      fetch(`${node.url}${queuePath("proxied")}`, { headers: { "x-forwarded-for": client } }).then((r) => r.status);
    const trusting = await startNode({ args: ["--http-requests-per-minute", "2", "--trust-proxy", "127.0.0.1"] });
    expect([await get(trusting, "10.0.0.1"), await get(trusting, "10.0.0.1"), await get(trusting, "10.0.0.1")]).toEqual(
      [200, 200, 429],
    );
    expect(await get(trusting, "10.0.0.2")).toBe(200);
    // Without it the header is not believed: every client of the proxy shares the proxy's count.
    const plain = await startNode({ args: ["--http-requests-per-minute", "2"] });
    expect([await get(plain, "10.0.0.1"), await get(plain, "10.0.0.2"), await get(plain, "10.0.0.3")]).toEqual([
      200, 200, 429,
    ]);
    await expect(startNode({ args: ["--trust-proxy", "everyone"] })).rejects.toThrow(
      /--trust-proxy \(MAILROOM_TRUST_PROXY\)/,
    );
  });

  it("refuses a setting out of range at start", async () => {
    await expect(startNode({ args: ["--http-requests-per-minute", "-1"] })).rejects.toThrow(
      /--http-requests-per-minute \(MAILROOM_HTTP_REQUESTS_PER_MINUTE\) must be/,
    );
    await expect(startNode({ args: ["--http-request-timeout-ms", "10"] })).rejects.toThrow(
      /--http-request-timeout-ms \(MAILROOM_HTTP_REQUEST_TIMEOUT_MS\) must be/,
    );
  });
});

/** The request timeout of the slow-client test node: short, so the test stays short. */
const TEST_REQUEST_TIMEOUT_MS = 2000;
/** Node checks for expired requests every second; the rest is slack for a busy machine. */
const CLOSE_DEADLINE_MS = TEST_REQUEST_TIMEOUT_MS + 2500;
/** A slow client still open after this gives up (the test then fails on it). */
const SLOW_CLIENT_GIVE_UP_MS = 10_000;
/** How long a slow client waits between the bytes it drips: a few bytes per second. */
const DRIP_INTERVAL_MS = 300;

interface SlowClient {
  /** Resolves when the connection closes, with how long after its start, and who closed it. */
  readonly closed: Promise<{ afterMs: number; byServer: boolean; received: string }>;
}

/**
 * A raw TCP client that sends `opening` at once, then drips `drip` one byte per `DRIP_INTERVAL_MS`
 * (nothing when `drip` is empty), never finishing its request.
 */
function slowClient(port: number, opening: string, drip: string): SlowClient {
  const startedAt = Date.now();
  const socket: Socket = connect({ host: "127.0.0.1", port });
  let received = "";
  let byServer = false;
  let dripped = 0;
  const dripper = setInterval(() => {
    if (dripped < drip.length && socket.writable) socket.write(drip[dripped++] as string);
  }, DRIP_INTERVAL_MS);
  const giveUp = setTimeout(() => socket.destroy(), SLOW_CLIENT_GIVE_UP_MS);
  socket.on("connect", () => socket.write(opening));
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("end", () => {
    byServer = true;
  });
  socket.on("error", () => {
    byServer = true;
  });
  const closed = new Promise<{ afterMs: number; byServer: boolean; received: string }>((resolve) => {
    socket.on("close", () => {
      clearInterval(dripper);
      clearTimeout(giveUp);
      resolve({ afterMs: Date.now() - startedAt, byServer, received });
    });
  });
  onCleanup(() => {
    socket.destroy();
  });
  return { closed };
}

describe("slow clients", () => {
  it("closes connections that send their request slowly, while normal HTTP, long-polls and Socket.IO keep working", async () => {
    const node = await startNode({ args: ["--http-request-timeout-ms", String(TEST_REQUEST_TIMEOUT_MS)] });
    const websocket = await connectSocket(node.url, "/", { transports: ["websocket"] });
    const polling = await connectSocket(node.url, "/", { transports: ["polling"] });
    // A receive may wait longer than the request timeout: that bounds sending the request, not the answer.
    const longPollStartedAt = Date.now();
    const longPoll = http(node, "POST", `${queuePath("later")}/receive`, JSON.stringify({ waitMs: 10_000 }));

    const requestLine = `POST ${queuePath("steady")}/messages HTTP/1.1\r\n`;
    const slow = [
      // The request line, then a header line that never ends.
      ...Array.from({ length: 8 }, () => slowClient(node.port, "POST /v1/names", "paces/_/queues/steady/messages")),
      ...Array.from({ length: 8 }, () =>
        slowClient(node.port, `${requestLine}Host: 127.0.0.1\r\n`, "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      ),
      // Complete headers, then a body that trickles in.
      ...Array.from({ length: 4 }, () =>
        slowClient(
          node.port,
          `${requestLine}Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n`,
          '{"data":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}',
        ),
      ),
      // A partial request, then silence.
      slowClient(node.port, requestLine, ""),
    ];
    const allClosed = Promise.all(slow.map((client) => client.closed));

    // Normal traffic, one exchange after another, until every slow client is gone (bounded).
    const latencies: number[] = [];
    let settled = false;
    void allClosed.then(() => {
      settled = true;
    });
    const timed = async (request: Promise<HttpReply>) => {
      const startedAt = Date.now();
      const reply = await request;
      latencies.push(Date.now() - startedAt);
      return reply;
    };
    for (let round = 0; round < 200 && !settled; round++) {
      expect((await timed(sendJson(node, "steady", { data: round }))).status).toBe(201);
      const received = await timed(http(node, "POST", `${queuePath("steady")}/receive`, JSON.stringify({ max: 10 })));
      expect(received.status).toBe(200);
      const receipts = received.body.messages.map((message: { receipt: string }) => message.receipt);
      expect((await timed(http(node, "POST", `${queuePath("steady")}/ack`, JSON.stringify({ receipts })))).status).toBe(
        200,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const closures = await allClosed;
    for (const closure of closures) {
      expect(closure.byServer).toBe(true);
      expect(closure.afterMs).toBeGreaterThanOrEqual(TEST_REQUEST_TIMEOUT_MS - 100);
      expect(closure.afterMs).toBeLessThan(CLOSE_DEADLINE_MS);
      expect(closure.received).toMatch(/^HTTP\/1\.1 408 /);
    }
    expect(latencies.length).toBeGreaterThan(30);
    expect(Math.max(...latencies)).toBeLessThan(500);

    const longPollSend = await sendJson(node, "later", { data: "late" });
    expect(longPollSend.status).toBe(201);
    const longPollReply = await longPoll;
    expect(longPollReply).toMatchObject({ status: 200, body: { messages: [{ data: "late" }] } });
    expect(Date.now() - longPollStartedAt).toBeGreaterThan(TEST_REQUEST_TIMEOUT_MS);

    // Socket.IO connections outlived the request timeout, idle, on both transports.
    for (const socket of [websocket, polling]) {
      expect(socket.connected).toBe(true);
      expect(await command(socket, "queue:stats", { queue: "steady" })).toMatchObject({ ok: true, ready: 0 });
    }
  });
});

describe("prototype poisoning", () => {
  it("answers a JSON body with __proto__ or constructor.prototype with 400 BAD_REQUEST, storing nothing", async () => {
    const node = await startNode();
    const bodies = [
      '{"data":1,"__proto__":{"polluted":true}}',
      '{"data":{"nested":{"__proto__":{"polluted":true}}}}',
      '{"data":1,"constructor":{"prototype":{"polluted":true}}}',
    ];
    for (const body of bodies) {
      const reply = await http(node, "POST", `${queuePath("poison")}/messages`, body);
      expect(reply.status, body).toBe(400);
      expect(reply.body, body).toEqual({ error: { code: "BAD_REQUEST", message: expect.any(String) } });
    }
    const batch = await http(
      node,
      "POST",
      `${queuePath("poison")}/messages/batch`,
      '{"messages":[{"data":1,"__proto__":{"polluted":true}}]}',
    );
    expect(batch).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect((await http(node, "GET", queuePath("poison"))).body).toMatchObject({ ready: 0, delayed: 0 });
    // The node is unharmed: an ordinary send still works.
    expect((await sendJson(node, "poison", { data: 1 })).status).toBe(201);
  });
});
