/**
 * Mailroom from a real browser (issue 19, docs/protocol.md §16): headless Chromium, pages served from an origin
 * of their own (test/helpers/browser.ts), real node processes.
 * - The HTTP API with `--cors-origins`: a page on a listed origin sends and receives (preflighted requests,
 *   with a token and a binary send's headers when auth is on); a page on any other origin, or on any origin
 *   when the setting is unset, gets a CORS failure and its send never reaches the queue.
 * - Socket.IO: a page on another origin connects when the setting is unset and is refused when the list
 *   leaves its origin out, over polling and WebSocket.
 * - The SDK's browser build, imported by a `<script type="module">` from the node that serves it: on two nodes
 *   on one Redis it joins a room and receives what is published through the other node, consumes a queue and
 *   acks, and after its node stops it fails over to the other URL and receives both again.
 * Skipped, saying so, when Chromium is not at /usr/bin/chromium (.ci/run installs it).
 */
import type * as MailroomSdk from "@mailroom/client";
import { SignJWT } from "jose";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BrowserPage,
  CHROMIUM,
  chromiumInstalled,
  launchChromium,
  openPage,
  type StaticSite,
  startStaticSite,
} from "./helpers/browser.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const CHROMIUM_FOUND = chromiumInstalled();
if (!CHROMIUM_FOUND) {
  console.warn(`browser.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
}

const SECRET = "a-test-secret-of-enough-length-for-hs256";

/** What the SDK page reports to the test, through the function the test exposes to it. */
type PageEvent = { kind: "broadcast"; data: unknown } | { kind: "message"; data: unknown; attempt: number };

declare global {
  interface Window {
    /** The SDK's exports, as the page's module script imported them from the node. */
    Mailroom: typeof MailroomSdk;
    client: MailroomSdk.MailroomClient;
    report(event: PageEvent): Promise<void>;
  }
}

/** What a page's `fetch` came to: its status and body, or the error it rejected with. */
type FetchOutcome = { status: number; body: unknown } | { failed: string };

const queuePath = (queue: string) => `/v1/namespaces/_/queues/${queue}`;

/** A page whose module script imports the SDK from the node at `nodeUrl`, as a web application would. */
function sdkPage(nodeUrl: string): string {
  return `<!doctype html>
<title>Mailroom SDK</title>
<script type="module">
  import * as Mailroom from "${nodeUrl}/mailroom-client.js";
  window.Mailroom = Mailroom;
</script>`;
}

/** Opens `path` of `site` and waits for its module script to have imported the SDK. */
async function openSdkPage(browser: Browser, site: StaticSite, path: string): Promise<BrowserPage> {
  const opened = await openPage(browser);
  await opened.page.goto(`${site.origin}${path}`);
  await opened.page
    .waitForFunction(() => "Mailroom" in window, undefined, { timeout: 10_000 })
    .catch((error) => {
      throw new Error(`the page did not import the SDK:\n${opened.console()}`, { cause: error });
    });
  return opened;
}

/** Runs `fetch(url, init)` in the page; a JSON `body` is sent as such, a `bytes` one as binary. */
function fetchFromPage(
  { page }: BrowserPage,
  url: string,
  init: { method: string; headers?: Record<string, string>; json?: unknown; bytes?: number[] },
): Promise<FetchOutcome> {
  return page.evaluate(
    async ({ url, init }) => {
      const headers = { ...init.headers };
      let body: BodyInit | undefined;
      if (init.json !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(init.json);
      } else if (init.bytes !== undefined) {
        headers["content-type"] = "application/octet-stream";
        body = new Uint8Array(init.bytes);
      }
      try {
        const response = await fetch(url, { method: init.method, headers, body });
        return { status: response.status, body: await response.json() };
      } catch (error) {
        return { failed: String(error) };
      }
    },
    { url, init },
  );
}

async function queueStats(node: NodeHandle, queue: string, headers: Record<string, string> = {}) {
  return (await (await fetch(`${node.url}${queuePath(queue)}`, { headers })).json()) as {
    ready: number;
    inflight: number;
    consumers: number;
  };
}

describe.skipIf(!CHROMIUM_FOUND)("Mailroom from Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe("the HTTP API and --cors-origins", () => {
    it("lets a page on a listed origin send JSON and receive it (preflighted requests)", async () => {
      const site = await startStaticSite();
      const node = await startNode({ args: ["--cors-origins", `${site.origin},http://127.0.0.1:1`] });
      const opened = await openPage(browser);
      await opened.page.goto(site.origin);

      const sent = await fetchFromPage(opened, `${node.url}${queuePath("jobs")}/messages`, {
        method: "POST",
        json: { data: { n: 1 }, id: "from-the-page" },
      });
      expect(sent).toEqual({ status: 201, body: { id: "from-the-page", duplicate: false } });
      const received = await fetchFromPage(opened, `${node.url}${queuePath("jobs")}/receive`, {
        method: "POST",
        json: { max: 10 },
      });
      expect(received).toMatchObject({ status: 200, body: { messages: [{ id: "from-the-page", data: { n: 1 } }] } });
    });

    it("with auth on, lets a listed page send binary with its token and Mailroom-* headers, and read a 401", async () => {
      const site = await startStaticSite();
      const node = await startNode({ args: ["--cors-origins", site.origin, "--jwt-secret", SECRET] });
      const token = await new SignJWT({ mailroom: { "*": ["send", "consume"] } })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("page")
        .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
        .sign(new TextEncoder().encode(SECRET));
      const opened = await openPage(browser);
      await opened.page.goto(site.origin);
      const messages = `${node.url}${queuePath("uploads")}/messages`;

      const sent = await fetchFromPage(opened, messages, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "mailroom-id": "photo-1", "mailroom-header-kind": "image" },
        bytes: [0, 1, 2, 255],
      });
      expect(sent).toEqual({ status: 201, body: { id: "photo-1", duplicate: false } });
      const received = await fetchFromPage(opened, `${node.url}${queuePath("uploads")}/receive`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        json: {},
      });
      expect(received).toMatchObject({
        status: 200,
        body: { messages: [{ id: "photo-1", data: { $binary: "AAEC/w==" }, headers: { kind: "image" } }] },
      });
      // A refusal carries the CORS headers too: the page reads the contract's error, not a CORS failure.
      const refused = await fetchFromPage(opened, messages, { method: "POST", json: { data: 1 } });
      expect(refused).toMatchObject({ status: 401, body: { error: { code: "UNAUTHORIZED" } } });
    });

    it("refuses a page on another origin: unset, or not in the list; its send never reaches the queue", async () => {
      const site = await startStaticSite();
      const unset = await startNode();
      const otherOrigin = await startNode({ args: ["--cors-origins", "https://app.example.com"] });
      const opened = await openPage(browser);
      await opened.page.goto(site.origin);

      for (const node of [unset, otherOrigin]) {
        const send = await fetchFromPage(opened, `${node.url}${queuePath("jobs")}/messages`, {
          method: "POST",
          json: { data: 1 },
        });
        expect(send, node.url).toEqual({ failed: "TypeError: Failed to fetch" });
        // A request that needs no preflight reaches the node, but the page may not read the answer.
        const read = await fetchFromPage(opened, `${node.url}/v1/cluster`, { method: "GET" });
        expect(read, node.url).toEqual({ failed: "TypeError: Failed to fetch" });
        expect(await queueStats(node, "jobs"), node.url).toMatchObject({ ready: 0, inflight: 0 });
      }
      expect(opened.console()).toContain(`from origin '${site.origin}' has been blocked by CORS policy`);
    });
  });

  it("connects a page on another origin with Socket.IO when unset, and refuses it when the list leaves it out", async () => {
    const site = await startStaticSite();
    const unset = await startNode();
    const listsAnother = await startNode({ args: ["--cors-origins", "https://app.example.com"] });
    // The SDK itself loads from any node, whatever its list: it is public code.
    site.serve("/sdk.html", sdkPage(listsAnother.url));
    const { page } = await openSdkPage(browser, site, "/sdk.html");

    const outcomes = await page.evaluate(
      async ({ unset, listsAnother }) => {
        const attempt = async (url: string, transports: string[]) => {
          const client = window.Mailroom.connect(url, { reconnection: false, transports });
          try {
            await client.ready();
            return "connected";
          } catch (error) {
            return error instanceof window.Mailroom.MailroomError ? error.code : String(error);
          } finally {
            client.close();
          }
        };
        return {
          unsetPolling: await attempt(unset, ["polling", "websocket"]),
          unsetWebSocket: await attempt(unset, ["websocket"]),
          listsAnotherPolling: await attempt(listsAnother, ["polling", "websocket"]),
          listsAnotherWebSocket: await attempt(listsAnother, ["websocket"]),
        };
      },
      { unset: unset.url, listsAnother: listsAnother.url },
    );
    expect(outcomes).toEqual({
      unsetPolling: "connected",
      unsetWebSocket: "connected",
      listsAnotherPolling: "UNAVAILABLE",
      listsAnotherWebSocket: "UNAVAILABLE",
    });
  });

  it("runs the SDK's browser build from the node on two nodes: a room, a queue, and a failover to the other node", async () => {
    const site = await startStaticSite();
    const redis = await startRedis();
    const [first, second] = (await startCluster(2, {
      redisUrl: redis.url,
      prefix: freshPrefix(),
      args: ["--cors-origins", site.origin],
    })) as [NodeHandle, NodeHandle];
    site.serve("/app.html", sdkPage(first.url));
    const opened = await openSdkPage(browser, site, "/app.html");
    const events: PageEvent[] = [];
    await opened.page.exposeFunction("report", (event: PageEvent) => {
      events.push(event);
    });

    await opened.page.evaluate(
      async (urls) => {
        // Failover within a second: the next URL is tried at the first reconnection attempt.
        const client = window.Mailroom.connect(urls, { reconnectionDelay: 100, reconnectionDelayMax: 500 });
        window.client = client;
        await client.ready();
        const lobby = client.room("lobby");
        lobby.on("greeting", (data) => window.report({ kind: "broadcast", data }));
        await lobby.join();
        // The handler's resolved promise acks the message.
        await client.queue("jobs").consume(async (message) => {
          await window.report({ kind: "message", data: message.data, attempt: message.attempt });
        });
      },
      [first.url, second.url],
    );

    const publish = (node: NodeHandle, data: unknown) =>
      fetch(`${node.url}/v1/namespaces/_/rooms/lobby/publish`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ event: "greeting", data }),
      });
    const send = (node: NodeHandle, data: unknown) =>
      fetch(`${node.url}${queuePath("jobs")}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data }),
      });
    const eventsSoFar = (count: number, what: string) =>
      waitFor(() => events.length >= count, { timeoutMs: 10_000, what: `${what}; page:\n${opened.console()}` });

    // Joined and consuming through the first node; published and sent through the second.
    expect((await publish(second, { n: 1 })).status).toBe(202);
    await eventsSoFar(1, "the page to receive the publish made through the other node");
    expect((await send(second, { job: 1 })).status).toBe(201);
    await eventsSoFar(2, "the page to consume the message sent through the other node");
    await waitFor(
      async () => {
        const stats = await queueStats(second, "jobs");
        return stats.ready === 0 && stats.inflight === 0;
      },
      { what: "the page's ack to settle the message" },
    );

    // Its node stops: the SDK moves to the other URL, joins the room and consumes again there.
    expect(await first.stop()).toBe(0);
    await waitFor(
      async () => {
        const members = (await (await fetch(`${second.url}/v1/namespaces/_/rooms/lobby`)).json()) as { count: number };
        return members.count === 1 && (await queueStats(second, "jobs")).consumers === 1;
      },
      { timeoutMs: 10_000, what: `the page to re-join and consume through the other node; page:\n${opened.console()}` },
    );
    expect(await opened.page.evaluate(() => window.client.socket.connected)).toBe(true);
    expect((await publish(second, { n: 2 })).status).toBe(202);
    expect((await send(second, { job: 2 })).status).toBe(201);
    await eventsSoFar(4, "the page to receive again after the failover");

    expect(events).toEqual([
      { kind: "broadcast", data: { n: 1 } },
      { kind: "message", data: { job: 1 }, attempt: 1 },
      expect.anything(),
      expect.anything(),
    ]);
    expect(events.slice(2)).toEqual(
      expect.arrayContaining([
        { kind: "broadcast", data: { n: 2 } },
        { kind: "message", data: { job: 2 }, attempt: 1 },
      ]),
    );
  });
});
