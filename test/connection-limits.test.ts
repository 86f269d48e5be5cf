/**
 * The limits that keep one tenant from harming another (docs/protocol.md §15, "Between tenants"), against
 * real node processes started with small limits: namespaces, consumers and rooms per Socket.IO connection
 * (one engine.io connection carrying a socket per namespace), HTTP receives waiting at once on a node, a
 * long-poll whose token expires, and the warning and counter that tell operators of each refusal.
 */
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import { Manager, type Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command } from "./helpers/sockets.js";
import { waitFor, within } from "./helpers/wait.js";

const SECRET = "a-test-secret-of-enough-length-for-hs256";
const secretKey = new TextEncoder().encode(SECRET);
/** The adapter's default key: the channels of namespace N are `socket.io#N#*` and `socket.io-request#N#`. */
const ADAPTER_KEY = "socket.io";
/** An empty namespace is taken out this long after its last socket left, plus a sweep (namespace-reaper.ts). */
const IDLE_NAMESPACE_GONE_MS = 15_000;

function token(rights: Record<string, string[]>, expiresInSeconds = 600): Promise<string> {
  return new SignJWT({ mailroom: rights })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(secretKey);
}

/** One Socket.IO connection (one engine.io connection) that opens sockets in several namespaces. */
interface Connection {
  /** Opens a namespace on this connection; resolves once connected. */
  open(namespace: string): Promise<Socket>;
  /** Opens a namespace the node must refuse; resolves with the `connect_error`. */
  refused(namespace: string): Promise<Error & { data?: unknown }>;
}

function connection(url: string, auth?: { token: string }): Connection {
  const manager = new Manager(url, { transports: ["websocket"], reconnection: false });
  onCleanup(() => {
    manager.engine?.close();
  });
  const socketOf = (namespace: string) => {
    const socket = manager.socket(namespace, auth ? { auth } : {});
    onCleanup(() => {
      socket.disconnect();
    });
    return socket;
  };
  return {
    open(namespace) {
      const socket = socketOf(namespace);
      return within(
        new Promise((resolve, reject) => {
          socket.once("connect", () => resolve(socket));
          socket.once("connect_error", reject);
        }),
        10_000,
        `a socket to connect to ${namespace}`,
      );
    },
    refused(namespace) {
      const socket = socketOf(namespace);
      return within(
        new Promise((resolve, reject) => {
          socket.once("connect", () => reject(new Error(`${namespace} connected, though past the limit`)));
          socket.once("connect_error", resolve);
        }),
        10_000,
        `a refusal of ${namespace}`,
      );
    },
  };
}

interface HttpReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
  body: any;
}

async function post(node: NodeHandle, path: string, json: unknown, bearer?: string): Promise<HttpReply> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${node.url}${path}`, { method: "POST", headers, body: JSON.stringify(json) });
  return { status: response.status, body: await response.json() };
}

async function stats(node: NodeHandle, queue: string, bearer?: string): Promise<Record<string, number>> {
  const headers: Record<string, string> = bearer === undefined ? {} : { authorization: `Bearer ${bearer}` };
  const response = await fetch(`${node.url}/v1/namespaces/_/queues/${queue}`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number>;
}

const limitExceeded = { ok: false, error: { code: "LIMIT_EXCEEDED", message: expect.any(String) } };

/** Redis's count of pattern subscriptions, and of subscribers to one channel. */
async function patternCount(redis: Redis): Promise<number> {
  return Number(await redis.pubsub("NUMPAT"));
}

async function subscriberCount(redis: Redis, channel: string): Promise<number> {
  const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
  return Number(count);
}

/** The warnings the node logged for `limit` in `namespace` (a line still being written is left out). */
function limitWarnings(node: NodeHandle, limit: string, namespace: string): Array<Record<string, unknown>> {
  return node
    .output()
    .split("\n")
    .flatMap((line) => {
      try {
        const entry: unknown = JSON.parse(line);
        return typeof entry === "object" && entry !== null ? [entry as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    })
    .filter((entry) => entry.level === 40 && entry.limit === limit && entry.namespace === namespace);
}

async function limitCounter(node: NodeHandle, limit: string, namespace: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (entry) =>
        entry.startsWith("mailroom_limit_exceeded_total{") &&
        entry.includes(`limit="${limit}"`) &&
        entry.includes(`namespace="${namespace}"`),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("namespaces per connection", () => {
  it("refuses the namespace past the limit with limit_exceeded, keeps the others working and leaves no subscription behind", async () => {
    const redis = await startRedis();
    const node = await startNode({
      redisUrl: redis.url,
      prefix: freshPrefix(),
      args: ["--max-namespaces-per-connection", "3"],
    });
    const probe = new Redis(redis.url);
    onCleanup(() => {
      probe.disconnect();
    });
    const before = await patternCount(probe);
    const client = connection(node.url);
    // `/` counts as one of the three.
    const sockets = [await client.open("/"), await client.open("/tenant-a"), await client.open("/tenant-b")];
    await waitFor(async () => (await patternCount(probe)) === before + 2, { what: "two namespaces' patterns" });

    const refusal = await client.refused("/tenant-c");
    expect(refusal.message).toBe("limit_exceeded");
    expect(refusal.data).toEqual({ code: "LIMIT_EXCEEDED", message: expect.any(String) });

    for (const socket of sockets) {
      expect(socket.connected).toBe(true);
      expect(await command(socket, "queue:stats", { queue: "jobs" })).toMatchObject({ ok: true, ready: 0 });
    }
    // The namespace made for the refused handshake is gone, with its adapter's subscriptions.
    await waitFor(
      async () =>
        (await patternCount(probe)) === before + 2 &&
        (await subscriberCount(probe, `${ADAPTER_KEY}-request#/tenant-c#`)) === 0,
      { what: "the refused namespace's subscriptions to go" },
    );

    // A namespace left gives its place back, and goes from the node once it has been idle a while.
    sockets[2]?.disconnect();
    const replacement = await client.open("/tenant-c");
    expect(await command(replacement, "queue:stats", { queue: "jobs" })).toMatchObject({ ok: true });
    await waitFor(
      async () =>
        (await patternCount(probe)) === before + 2 &&
        (await subscriberCount(probe, `${ADAPTER_KEY}-request#/tenant-b#`)) === 0,
      { timeoutMs: IDLE_NAMESPACE_GONE_MS, what: "the idle namespace's subscriptions to go" },
    );
    expect(await subscriberCount(probe, `${ADAPTER_KEY}-request#/tenant-c#`)).toBe(1);
  });
});

describe("consumers per connection", () => {
  it("answers LIMIT_EXCEEDED past the limit across the connection's namespaces, registering nothing, and takes consumers back at cancel and disconnect", async () => {
    const node = await startNode({ args: ["--max-consumers-per-connection", "3"] });
    const client = connection(node.url);
    const root = await client.open("/");
    const shop = await client.open("/shop");
    const first = await command(root, "queue:consume", { queue: "jobs" });
    expect(first).toMatchObject({ ok: true });
    expect(await command(root, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });
    expect(await command(shop, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });

    expect(await command(shop, "queue:consume", { queue: "jobs" })).toEqual(limitExceeded);
    expect(await command(root, "queue:consume", { queue: "other" })).toEqual(limitExceeded);
    expect(await command(shop, "queue:stats", { queue: "jobs" })).toMatchObject({ ok: true, consumers: 1 });
    expect(await command(root, "queue:stats", { queue: "other" })).toMatchObject({ ok: true, consumers: 0 });

    // Another connection has limits of its own.
    const other = await connection(node.url).open("/shop");
    for (let index = 0; index < 3; index += 1) {
      expect(await command(other, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });
    }

    expect(await command(root, "queue:cancel", { consumer: first.consumer })).toEqual({ ok: true });
    expect(await command(shop, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });
    expect(await command(shop, "queue:consume", { queue: "jobs" })).toEqual(limitExceeded);

    // The `/shop` socket's two consumers go with it; the connection may consume two more.
    shop.disconnect();
    expect(await command(root, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });
    expect(await command(root, "queue:consume", { queue: "jobs" })).toMatchObject({ ok: true });
    expect(await command(root, "queue:consume", { queue: "jobs" })).toEqual(limitExceeded);
    expect(root.connected).toBe(true);
  });
});

describe("rooms per connection", () => {
  it("answers LIMIT_EXCEEDED past the limit across the connection's namespaces, lets a joined room be joined again, and takes a left room back", async () => {
    const node = await startNode({ args: ["--max-rooms-per-connection", "3"] });
    const client = connection(node.url);
    const root = await client.open("/");
    const chat = await client.open("/chat");
    expect(await command(root, "room:join", { room: "one" })).toMatchObject({ ok: true });
    expect(await command(root, "room:join", { room: "two" })).toMatchObject({ ok: true });
    expect(await command(chat, "room:join", { room: "one" })).toMatchObject({ ok: true });

    expect(await command(chat, "room:join", { room: "three" })).toEqual(limitExceeded);
    expect(await command(chat, "room:members", { room: "three" })).toMatchObject({ ok: true, count: 0 });
    expect(await command(root, "room:join", { room: "one" })).toMatchObject({ ok: true });

    // Another connection has limits of its own.
    const other = await connection(node.url).open("/chat");
    for (const room of ["one", "two", "three"]) {
      expect(await command(other, "room:join", { room })).toMatchObject({ ok: true });
    }

    expect(await command(root, "room:leave", { room: "two" })).toEqual({ ok: true });
    expect(await command(chat, "room:join", { room: "three" })).toMatchObject({ ok: true });
    expect(await command(chat, "room:members", { room: "three" })).toMatchObject({ ok: true, count: 2 });
    expect(await command(root, "room:join", { room: "four" })).toEqual(limitExceeded);
    expect(root.connected && chat.connected).toBe(true);
  });
});

describe("long-polls per node", () => {
  it("answers a receive that would wait past --max-long-polls with 429 LIMIT_EXCEEDED at once, while the others wait and get messages", async () => {
    const node = await startNode({ args: ["--max-long-polls", "2"] });
    const receivePath = "/v1/namespaces/_/queues/polled/receive";
    const started = performance.now();
    const receives = [0, 1, 2].map((index) =>
      post(node, receivePath, { waitMs: 15_000 }).then((reply) => ({ index, reply })),
    );
    const refused = await Promise.race(receives);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(refused.reply).toEqual({
      status: 429,
      body: { error: { code: "LIMIT_EXCEEDED", message: expect.any(String) } },
    });
    // A receive that does not wait is not refused.
    expect(await post(node, receivePath, { waitMs: 0 })).toEqual({ status: 200, body: { messages: [] } });

    for (const data of ["a", "b"]) {
      expect((await post(node, "/v1/namespaces/_/queues/polled/messages", { data })).status).toBe(201);
    }
    const waited = await Promise.all(receives.filter((_, index) => index !== refused.index));
    const delivered = waited.map(({ reply }) => {
      expect(reply.status).toBe(200);
      expect(reply.body.messages).toHaveLength(1);
      return reply.body.messages[0].data;
    });
    expect(delivered.sort()).toEqual(["a", "b"]);
  });

  it("ends a long-poll whose token expires while it waits with 401, leasing nothing sent after the expiry", async () => {
    const node = await startNode({ args: ["--jwt-secret", SECRET] });
    const lasting = await token({ "*": ["admin"] });
    const expiresInSeconds = 2;
    const brief = await token({ "*": ["consume"] }, expiresInSeconds);
    const expiry = (Math.floor(Date.now() / 1000) + expiresInSeconds) * 1000;
    const waiting = post(node, "/v1/namespaces/_/queues/expiring/receive", { waitMs: 15_000 }, brief);

    await waitFor(() => Date.now() > expiry + 100, { timeoutMs: 5000, what: "the token to expire" });
    const sent = await post(node, "/v1/namespaces/_/queues/expiring/messages", { data: "late" }, lasting);
    expect(sent.status).toBe(201);

    expect(await waiting).toEqual({
      status: 401,
      body: { error: { code: "UNAUTHORIZED", message: expect.any(String) } },
    });
    expect(await stats(node, "expiring", lasting)).toMatchObject({ ready: 1, inflight: 0 });
  });
});

describe("limit reports", () => {
  it("logs one warning per limit and namespace in a window, naming the limit, namespace and sub, and counts every refusal", async () => {
    const node = await startNode({ args: ["--jwt-secret", SECRET, "--max-rooms-per-connection", "1"] });
    const auth = { token: await token({ "*": ["join"] }) };
    const chat = await connection(node.url, auth).open("/chat");
    expect(await command(chat, "room:join", { room: "lobby" })).toMatchObject({ ok: true });
    const burst = async () => {
      for (let index = 0; index < 5; index += 1) {
        expect(await command(chat, "room:join", { room: `extra-${index}` })).toEqual(limitExceeded);
      }
    };

    await burst();
    const [warning] = await waitFor(() => {
      const found = limitWarnings(node, "rooms_per_connection", "/chat");
      return found.length > 0 && found;
    });
    expect(warning).toMatchObject({ limit: "rooms_per_connection", namespace: "/chat", sub: "alice", max: 1 });
    expect(String(warning?.msg)).toContain("--max-rooms-per-connection");
    expect(await limitCounter(node, "rooms_per_connection", "/chat")).toBe(5);

    await burst();
    expect(await limitCounter(node, "rooms_per_connection", "/chat")).toBe(10);
    // A refusal in another namespace logs at once; lines are written in order, so once it shows, a
    // line for the second burst would show too.
    const news = await connection(node.url, auth).open("/news");
    expect(await command(news, "room:join", { room: "lobby" })).toMatchObject({ ok: true });
    expect(await command(news, "room:join", { room: "extra" })).toEqual(limitExceeded);
    await waitFor(() => limitWarnings(node, "rooms_per_connection", "/news").length === 1);
    expect(limitWarnings(node, "rooms_per_connection", "/chat")).toHaveLength(1);
  });

  it("counts and logs the commands refused RATE_LIMITED for the command rate", async () => {
    const node = await startNode({ args: ["--commands-per-second", "5"] });
    const socket = await connection(node.url).open("/busy");
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => command(socket, "queue:stats", { queue: "jobs" })),
    );
    const limited = replies.filter((reply) => reply.ok === false && reply.error.code === "RATE_LIMITED").length;
    expect(limited).toBeGreaterThan(0);
    expect(await limitCounter(node, "commands_per_second", "/busy")).toBe(limited);
    const [warning] = await waitFor(() => {
      const found = limitWarnings(node, "commands_per_second", "/busy");
      return found.length > 0 && found;
    });
    expect(warning).not.toHaveProperty("sub");
    expect(String(warning?.msg)).toContain("--commands-per-second");
  });
});
