/**
 * The dashboard (issue 18, docs/protocol.md §12) in a real browser: headless Chromium opens `/admin` on real
 * node processes, with the real `/v1/dashboard` and queue routes behind it.
 * - The page and its files come from the node with the 'self'-only Content-Security-Policy (a build that is
 *   missing is 503, saying how to make it), and the page makes no request to another origin and logs no
 *   console error (a CSP violation would be one).
 * - A queue's depth shows within seconds, and moves as messages are sent and acked.
 * - A page opened after the traffic shows its rates at once, from the node's rate history.
 * - The redrive button moves a queue's dead letters back (the stats route confirms); a purge asks for the
 *   queue's name first.
 * - With auth on, the page asks for a token, keeps it in sessionStorage only, and works with one that has the
 *   right; a token without it is told so.
 * The checks of the routes themselves (no browser) run whether Chromium is there or not; the browser's are
 * skipped, saying so, when Chromium is not at /usr/bin/chromium (.ci/run installs it).
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardRoutes } from "../packages/server/src/transports/http/dashboard-route.js";
import { CHROMIUM, chromiumInstalled, launchChromium, openPage } from "./helpers/browser.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { waitFor } from "./helpers/wait.js";

const CHROMIUM_FOUND = chromiumInstalled();
if (!CHROMIUM_FOUND) {
  console.warn(`dashboard.test.ts: browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

const SECRET = "a-test-secret-of-enough-length-for-hs256";
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
/** How long the page may take to show a change: one snapshot a second, and a slow machine. */
const SHOWN_WITHIN_MS = 8000;

function token(rights: Record<string, string[]>): Promise<string> {
  return new SignJWT({ mailroom: rights })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("dashboard-test")
    .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
    .sign(new TextEncoder().encode(SECRET));
}

/** An HTTP call to the node's API; throws on an error status. */
async function api<T>(node: NodeHandle, method: string, path: string, body?: unknown, bearer?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The longest queue name the contract allows (docs/protocol.md §2). */
const QUEUE_NAME_MAX = 124;

const queuePath = (queue: string) => `/v1/namespaces/_/queues/${queue}`;

async function send(node: NodeHandle, queue: string, count: number, bearer?: string): Promise<void> {
  const messages = Array.from({ length: count }, (_, index) => ({ data: { index } }));
  await api(node, "POST", `${queuePath(queue)}/messages/batch`, { messages }, bearer);
}

async function receive(node: NodeHandle, queue: string, max: number): Promise<string[]> {
  const { messages } = await api<{ messages: Array<{ receipt: string }> }>(
    node,
    "POST",
    `${queuePath(queue)}/receive`,
    { max },
  );
  return messages.map((message) => message.receipt);
}

async function stats(node: NodeHandle, queue: string) {
  return api<{ ready: number; deadLettered: number }>(node, "GET", queuePath(queue));
}

/** Dead-letters `count` messages of `queue` into `<queue>.dlq`: sent, received, and nacked without requeue. */
async function deadLetter(node: NodeHandle, queue: string, count: number): Promise<void> {
  await send(node, queue, count);
  const receipts = await receive(node, queue, count);
  expect(receipts).toHaveLength(count);
  for (const receipt of receipts) await api(node, "POST", `${queuePath(queue)}/nack`, { receipt, requeue: false });
}

interface Dashboard {
  page: Page;
  /** Every URL the page requested so far. */
  requests: string[];
  console(): string;
}

async function openDashboard(browser: Browser, node: NodeHandle, fragment = ""): Promise<Dashboard> {
  const { page, console } = await openPage(browser);
  const requests: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`${node.url}/admin${fragment}`);
  return { page, requests, console };
}

/** The text of a queue's ready cell in the overview's table, once the row is there. */
async function readyCell(page: Page, queue: string): Promise<string> {
  return (await page.locator(`tr[data-queue="${queue}"] td.depth`).textContent({ timeout: SHOWN_WITHIN_MS })) ?? "";
}

async function waitForReady(page: Page, queue: string, expected: string): Promise<void> {
  await waitFor(async () => (await readyCell(page, queue)) === expected, {
    timeoutMs: SHOWN_WITHIN_MS,
    what: `the dashboard to show ${expected} ready in ${queue}`,
  });
}

describe("GET /admin", () => {
  it("answers the page and every file it names with the 'self'-only CSP, the files cached as immutable", async () => {
    const node = await startNode();
    for (const path of ["/admin", "/admin/"]) {
      const page = await fetch(`${node.url}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toBe(CSP);
      expect(page.headers.get("cache-control")).toBe("no-cache");
      const html = await page.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=/);
      const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
      expect(files.length).toBeGreaterThanOrEqual(2);
      for (const file of files) {
        expect(file.startsWith("/admin/assets/"), file).toBe(true);
        const asset = await fetch(`${node.url}${file}`);
        expect(asset.status, file).toBe(200);
        expect(asset.headers.get("content-security-policy"), file).toBe(CSP);
        expect(asset.headers.get("cache-control"), file).toBe("public, max-age=31536000, immutable");
      }
    }
    const missing = await fetch(`${node.url}/admin/assets/no-such-file.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-security-policy")).toBe(CSP);
  });

  it("answers 503 with the 'self'-only CSP, saying to run the build, when the built files are missing", async () => {
    const app = Fastify({ logger: false });
    app.register(dashboardRoutes, { folder: join(tmpdir(), "mailroom-no-dashboard-here") });
    try {
      for (const url of ["/admin", "/admin/assets/index.js"]) {
        const response = await app.inject({ method: "GET", url });
        expect(response.statusCode, url).toBe(503);
        expect(response.headers["content-security-policy"], url).toBe(CSP);
        expect(response.json(), url).toEqual({
          error: { code: "UNAVAILABLE", message: expect.stringContaining("npm run build") },
        });
      }
    } finally {
      await app.close();
    }
  });

  it("needs no token with auth on: the page loads and asks for one, the data routes refuse without it", async () => {
    const node = await startNode({ args: ["--jwt-secret", SECRET] });
    expect((await fetch(`${node.url}/admin`)).status).toBe(200);
    expect((await fetch(`${node.url}/v1/dashboard`)).status).toBe(401);
  });
});

describe.skipIf(!CHROMIUM_FOUND)("the dashboard in Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows a queue holding 37 messages within seconds, with no request to another origin and no console error", async () => {
    const node = await startNode();
    await send(node, "orders", 37);
    const dashboard = await openDashboard(browser, node);

    await waitForReady(dashboard.page, "orders", "37");
    await expect(dashboard.page.locator('tr[data-queue="orders"] a').textContent()).resolves.toBe("orders");

    const origin = new URL(node.url).origin;
    expect(dashboard.requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(dashboard.requests.some((url) => url.endsWith("/v1/dashboard"))).toBe(true);
    expect(dashboard.console()).toBe("");
  });

  it("keeps every column of the queues table in view beside the longest queue name a tenant may choose", async () => {
    const node = await startNode();
    const longest = "q".repeat(QUEUE_NAME_MAX);
    await send(node, longest, 1);
    await send(node, "jobs", 1);
    const dashboard = await openDashboard(browser, node);
    await waitForReady(dashboard.page, longest, "1");
    const widths = await dashboard.page.locator(`tr[data-queue="${longest}"]`).evaluate((row) => {
      const table = row.closest("table") as HTMLTableElement;
      return { table: table.scrollWidth, panel: (table.parentElement as HTMLElement).clientWidth };
    });
    expect(widths.table).toBeLessThanOrEqual(widths.panel);
    // Cut in the cell, whole in its tooltip.
    await expect(
      dashboard.page.locator(`tr[data-queue="${longest}"] .cut-name`).first().getAttribute("title"),
    ).resolves.toBe(longest);
  });

  it("moves the depth as messages are sent and acked", async () => {
    const node = await startNode();
    await send(node, "jobs", 5);
    const { page, console } = await openDashboard(browser, node);
    await waitForReady(page, "jobs", "5");

    await send(node, "jobs", 10);
    await waitForReady(page, "jobs", "15");

    const receipts = await receive(node, "jobs", 15);
    await waitFor(async () => (await page.locator('tr[data-queue="jobs"] td').nth(3).textContent()) === "15", {
      timeoutMs: SHOWN_WITHIN_MS,
      what: "the dashboard to show 15 in flight",
    });
    await waitForReady(page, "jobs", "0");
    await api(node, "POST", `${queuePath("jobs")}/ack`, { receipts });
    await waitFor(async () => (await page.locator('tr[data-queue="jobs"] td').nth(3).textContent()) === "0", {
      timeoutMs: SHOWN_WITHIN_MS,
      what: "the dashboard to show nothing in flight after the acks",
    });
    expect(console()).toBe("");
  });

  it("shows the rates of traffic from before it opened at once, from the node's rate history", async () => {
    const node = await startNode({ env: { MAILROOM_DASHBOARD_SAMPLE_MS: "400" } });
    type History = { totals?: { queues: Array<{ name: string; sent: number; acked: number }> } };
    const sampled = (sent: number, acked: number) =>
      waitFor(
        async () => {
          const history = await api<History>(node, "GET", "/v1/dashboard/history");
          const queue = history.totals?.queues.find((one) => one.name === "earlier");
          return queue?.sent === sent && queue.acked === acked;
        },
        { timeoutMs: SHOWN_WITHIN_MS, what: `a rate sample with ${sent} sent and ${acked} acked` },
      );
    // A sample knows the queue before the burst, so the burst is counted (a queue's first sample has no count).
    await send(node, "earlier", 1);
    await sampled(1, 0);
    await send(node, "earlier", 200);
    await api(node, "POST", `${queuePath("earlier")}/ack`, { receipts: await receive(node, "earlier", 100) });
    await sampled(201, 100);

    const openedAt = Date.now();
    const { page, requests, console } = await openDashboard(browser, node);
    const title = page.locator('tr[data-queue="earlier"] svg.sparkline title');
    const peak = async () => Number(/up to (\d+)\/s/.exec((await title.textContent({ timeout: 3000 })) ?? "")?.[1]);
    await waitFor(async () => (await peak()) >= 100, {
      timeoutMs: 3000,
      what: "the queue's sparkline to show the burst sent before the page opened",
    });
    expect(Date.now() - openedAt).toBeLessThan(5000);
    expect(requests.filter((url) => url.endsWith("/v1/dashboard/history"))).toHaveLength(1);
    expect(console()).toBe("");
  });

  it("redrives a queue's dead letters from its page, and the stats confirm they are back", async () => {
    const node = await startNode();
    await deadLetter(node, "emails", 4);
    expect(await stats(node, "emails")).toMatchObject({ ready: 0, deadLettered: 4 });
    const { page, console } = await openDashboard(browser, node, "#/queues/_/emails");

    const redrive = page.getByRole("button", { name: "Redrive 4 dead letters" });
    await redrive.click({ timeout: SHOWN_WITHIN_MS });
    await page.getByText("Redrive moved 4 messages from emails.dlq back to emails.").waitFor({
      timeout: SHOWN_WITHIN_MS,
    });

    expect(await stats(node, "emails")).toMatchObject({ ready: 4, deadLettered: 0 });
    await waitFor(async () => (await page.locator('[data-stat="ready"]').textContent()) === "4", {
      timeoutMs: SHOWN_WITHIN_MS,
      what: "the queue's page to show the 4 redriven messages ready",
    });
    expect(console()).toBe("");
  });

  it("purges a queue only once its name is typed", async () => {
    const node = await startNode();
    await send(node, "scratch", 6);
    const { page, console } = await openDashboard(browser, node, "#/queues/_/scratch");

    await page.getByRole("button", { name: "Purge…" }).click({ timeout: SHOWN_WITHIN_MS });
    const confirm = page.getByRole("button", { name: "Purge scratch" });
    await page.getByLabel(/Type the queue's name/).fill("scratc");
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel(/Type the queue's name/).fill("scratch");
    await confirm.click();
    await page.getByText("Purge dropped 6 messages from scratch.").waitFor({ timeout: SHOWN_WITHIN_MS });
    expect((await stats(node, "scratch")).ready).toBe(0);
    expect(console()).toBe("");
  });

  it("with auth on, asks for a token, keeps it in sessionStorage only, and shows the cluster with a monitor token", async () => {
    const node = await startNode({ args: ["--jwt-secret", SECRET] });
    await send(node, "secured", 3, await token({ "*": ["admin"] }));
    const { page, requests } = await openDashboard(browser, node);

    await page.getByRole("heading", { name: "This node asks for a token" }).waitFor({ timeout: SHOWN_WITHIN_MS });
    const monitor = await token({ "*": ["monitor"] });
    await page.getByRole("textbox", { name: "Token" }).fill(monitor);
    await page.getByRole("button", { name: "Use this token" }).click();
    await waitForReady(page, "secured", "3");

    const storage = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: Object.keys(localStorage).length,
      cookies: document.cookie,
    }));
    expect(storage).toEqual({ session: [monitor], local: 0, cookies: "" });
    // The rate history is asked for again once the token is given (the first ask was refused).
    expect(requests.filter((url) => url.endsWith("/v1/dashboard/history"))).toHaveLength(2);

    // A monitor token reads but may not change: the queue's page says so instead of offering the actions.
    await page.locator('tr[data-queue="secured"] a').click();
    await page.getByText("Redrive and purge need the admin right").waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.getByRole("button", { name: /Redrive|Purge/ }).count()).toBe(0);
  });

  it("with auth on, tells a token without the monitor right on * plainly that it may not read the dashboard", async () => {
    const node = await startNode({ args: ["--jwt-secret", SECRET] });
    const { page } = await openDashboard(browser, node);
    await page.getByRole("textbox", { name: "Token" }).fill(await token({ "/": ["send"] }));
    await page.getByRole("button", { name: "Use this token" }).click();
    await page
      .getByRole("heading", { name: "This token may not read the dashboard" })
      .waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.getByRole("alert").textContent()).toContain("monitor");
  });
});
