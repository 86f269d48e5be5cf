#!/usr/bin/env node
// Takes the README's pictures of the dashboard, docs/dashboard-overview.png and docs/dashboard-queue.png,
// from a scene of its own: a redis-server on a free port (no persistence, a 256 MiB maxmemory so the page
// shows Redis's memory use), two nodes on it, a producer and a consumer on `orders`, dead letters in
// `emails`, a backlog with no consumer in `reports`, delayed messages in `/shop invoices`, and sockets in
// two rooms. The nodes sample the rates every 5 s; the page is opened only after the traffic ran, so its
// charts show the history the cluster kept (GET /v1/dashboard/history), then both pages are shot in Chromium.
// Not a test (test/dashboard.test.ts tests the page): run it by hand after npm run build, when the page
// changes. Needs redis-server on the PATH and Chromium at /usr/bin/chromium.
// Usage: node scripts/dashboard-screenshots.mjs [seconds of traffic before the pictures, default 45]
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { connect } from "@mailroom/client";
import { chromium } from "playwright-core";

const TRAFFIC_SECONDS = Number(process.argv[2] ?? 45);
const CLI = fileURLToPath(new URL("../packages/cli/bin/mailroom.js", import.meta.url));
const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const VIEWPORT = { width: 1360, height: 900 };

const children = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(command, args) {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return child;
}

async function waitUntilReady(url) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${url} did not become ready`);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

try {
  const redisPort = await freePort();
  start("redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no", "--maxmemory", "256mb"]);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  await sleep(300);
  const nodes = [];
  for (let index = 0; index < 2; index++) {
    const port = await freePort();
    start(process.execPath, [
      CLI,
      "serve",
      "--port",
      String(port),
      "--redis",
      redisUrl,
      "--log-level",
      "warn",
      "--dashboard-sample-ms",
      "5000",
    ]);
    nodes.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(nodes.map(waitUntilReady));
  const [first, second] = nodes;
  const queue = (url, namespace, name) => `${url}/v1/namespaces/${namespace}/queues/${name}`;

  // Dead letters in emails: sent, received and refused for good.
  const addresses = ["ada", "grace", "alan", "edsger", "barbara", "ken", "dennis", "linus", "margaret", "tim"];
  await post(`${queue(first, "_", "emails")}/messages/batch`, {
    messages: addresses.map((name) => ({
      data: { to: `${name}@example.com`, template: "welcome" },
      headers: { tenant: "acme" },
    })),
  });
  const { messages } = await post(`${queue(first, "_", "emails")}/receive`, { max: 10 });
  for (const message of messages) {
    await post(`${queue(first, "_", "emails")}/nack`, { receipt: message.receipt, requeue: false });
  }
  // A backlog nobody consumes, and delayed work in another namespace.
  await post(`${queue(second, "_", "reports")}/messages/batch`, {
    messages: Array.from({ length: 240 }, (_, index) => ({ data: { report: index, period: "2026-11" } })),
  });
  await post(`${queue(second, "shop", "invoices")}/messages/batch`, {
    messages: Array.from({ length: 18 }, (_, index) => ({ data: { invoice: 1000 + index }, delayMs: 3_600_000 })),
  });

  // Live traffic on orders: a consumer on one node, a producer on the other; sockets in two rooms.
  const consumerClient = connect(first);
  await consumerClient.queue("orders").consume(
    async () => {
      await sleep(40);
    },
    { prefetch: 8 },
  );
  const producerClient = connect(second);
  const orders = producerClient.queue("orders");
  let sent = 0;
  const producing = setInterval(() => {
    const burst = 2 + Math.round(3 * (1 + Math.sin(sent / 40)));
    for (let index = 0; index < burst; index++) void orders.send({ order: sent++, item: "book", quantity: 1 });
  }, 100);
  const roomClients = [];
  for (const [room, members] of [
    ["lobby", 3],
    ["chat/general", 2],
  ]) {
    for (let index = 0; index < members; index++) {
      const client = connect(nodes[index % 2]);
      roomClients.push(client);
      await client.room(room).join();
    }
  }

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
  const page = await browser.newPage({ viewport: VIEWPORT });
  await sleep(TRAFFIC_SECONDS * 1000);
  await page.goto(`${first}/admin`);
  await sleep(5000);
  await page.screenshot({ path: `${DOCS}dashboard-overview.png`, fullPage: true });
  // The queue's page in the same tab.
  await page.locator('tr[data-queue="emails"] a').click();
  await page.getByRole("tab", { name: /Dead-lettered/ }).click();
  await page.locator("table.messages").waitFor();
  await sleep(1500);
  await page.screenshot({ path: `${DOCS}dashboard-queue.png`, fullPage: true });
  await browser.close();

  clearInterval(producing);
  for (const client of [consumerClient, producerClient, ...roomClients]) client.close();
  console.log(`wrote ${DOCS}dashboard-overview.png and ${DOCS}dashboard-queue.png`);
} finally {
  for (const child of children) child.kill("SIGTERM");
}
