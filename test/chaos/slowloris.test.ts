/**
 * Chaos: slowloris. Many connections open an HTTP request and trickle its headers, a byte at a time,
 * never finishing; meanwhile normal clients send messages over HTTP and over Socket.IO at a steady pace.
 * The node must keep serving them all (every request answered, latency figures with and without the slow
 * clients side by side) and close every slow connection itself, with 408, once `--http-request-timeout-ms`
 * has passed.
 */
import { connect as connectTcp, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { onCleanup } from "../helpers/cleanup.js";
import { startNode } from "../helpers/nodes.js";
import { freshPrefix, startRedis } from "../helpers/redis.js";
import { command, connectSocket } from "../helpers/sockets.js";
import { waitFor } from "../helpers/wait.js";
import { percentile } from "./checker.js";
import { report, sized } from "./report.js";

const REQUEST_TIMEOUT_MS = sized(3000, 10_000);
/** How often each slow client sends its next byte. */
const DRIP_MS = 1000;
/** Normal traffic: one HTTP send and one Socket.IO send each this often. */
const PACE_MS = 10;
/** Slow connections opened at once, so opening them is not itself the test. */
const OPEN_BATCH = 250;
/** A bound no healthy node comes near, and a starved one (waiting on the slow clients' timeout) passes. */
const STARVED_MS = 2000;

interface SlowClient {
  closed: Promise<{ byServer: boolean; status: string; afterMs: number }>;
}

function slowClient(port: number, path: string): SlowClient {
  const openedAt = Date.now();
  const socket: Socket = connectTcp({ host: "127.0.0.1", port });
  let received = "";
  let byServer = false;
  const dripper = setInterval(() => {
    if (socket.writable) socket.write("X");
  }, DRIP_MS);
  socket.on("connect", () => socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `));
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("end", () => {
    byServer = true;
  });
  socket.on("error", () => {
    byServer = true;
  });
  onCleanup(() => {
    socket.destroy();
  });
  return {
    closed: new Promise((resolve) =>
      socket.on("close", () => {
        clearInterval(dripper);
        resolve({ byServer, status: received.split("\r\n")[0] ?? "", afterMs: Date.now() - openedAt });
      }),
    ),
  };
}

/** Sends over HTTP and Socket.IO, one of each every PACE_MS, for `durationMs`; returns the latencies. */
async function normalTraffic(
  url: string,
  socket: Awaited<ReturnType<typeof connectSocket>>,
  durationMs: number,
): Promise<{ http: number[]; socketIo: number[]; failures: string[] }> {
  const http: number[] = [];
  const socketIo: number[] = [];
  const failures: string[] = [];
  const endAt = Date.now() + durationMs;
  let round = 0;
  while (Date.now() < endAt) {
    round += 1;
    const startedAt = performance.now();
    const [reply, sent] = await Promise.all([
      fetch(`${url}/v1/namespaces/_/queues/steady/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: round }),
        signal: AbortSignal.timeout(10_000),
      }).then(
        (response) => {
          http.push(performance.now() - startedAt);
          return response.status;
        },
        (error: Error) => error.message,
      ),
      command(socket, "queue:send", { queue: "steady", data: round }).then((answer) => {
        socketIo.push(performance.now() - startedAt);
        return answer.ok ? 201 : JSON.stringify(answer);
      }),
    ]);
    if (reply !== 201) failures.push(`http: ${reply}`);
    if (sent !== 201) failures.push(`socket.io: ${sent}`);
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  }
  return { http, socketIo, failures };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe("chaos: slow HTTP clients", () => {
  it("keeps answering normal clients while many slowloris connections trickle headers, and closes them with 408", async () => {
    const slowCount = sized(1000, 3000);
    const phaseMs = REQUEST_TIMEOUT_MS - 1000;
    const redis = await startRedis();
    const node = await startNode({
      redisUrl: redis.url,
      prefix: freshPrefix(),
      args: ["--http-request-timeout-ms", String(REQUEST_TIMEOUT_MS)],
    });
    const socket = await connectSocket(node.url);
    // Warm up (the first requests pay for connections and compilation), then measure.
    await normalTraffic(node.url, socket, 500);
    const without = await normalTraffic(node.url, socket, phaseMs);

    const slow: SlowClient[] = [];
    for (let start = 0; start < slowCount; start += OPEN_BATCH) {
      for (let index = start; index < Math.min(start + OPEN_BATCH, slowCount); index += 1) {
        slow.push(slowClient(node.port, "/v1/namespaces/_/queues/steady/messages"));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const closures = Promise.all(slow.map((client) => client.closed));
    const withSlow = await normalTraffic(node.url, socket, phaseMs);
    const closed = await closures;
    await waitFor(async () => (await fetch(`${node.url}/readyz`)).status === 200);

    const figures = {
      slowConnections: slowCount,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      withoutRequests: without.http.length,
      withoutHttpP50Ms: percentile(without.http, 0.5),
      withoutHttpP99Ms: percentile(without.http, 0.99),
      withoutSocketIoP50Ms: percentile(without.socketIo, 0.5),
      withoutSocketIoP99Ms: percentile(without.socketIo, 0.99),
      withRequests: withSlow.http.length,
      withHttpP50Ms: percentile(withSlow.http, 0.5),
      withHttpP99Ms: percentile(withSlow.http, 0.99),
      withSocketIoP50Ms: percentile(withSlow.socketIo, 0.5),
      withSocketIoP99Ms: percentile(withSlow.socketIo, 0.99),
      failures: without.failures.length + withSlow.failures.length,
      slowClosedByNode: closed.filter((closure) => closure.byServer).length,
      slowAnswered408: closed.filter((closure) => closure.status.startsWith("HTTP/1.1 408")).length,
      slowAnswers: countBy(closed.map((closure) => closure.status || "(none)")),
      slowClosedAfterMinMs: Math.min(...closed.map((closure) => closure.afterMs)),
      slowClosedAfterMaxMs: Math.max(...closed.map((closure) => closure.afterMs)),
    };
    report("slowloris", figures);
    expect([...without.failures, ...withSlow.failures]).toEqual([]);
    expect(withSlow.http.length).toBeGreaterThan(10);
    expect(figures.withHttpP99Ms).toBeLessThan(STARVED_MS);
    expect(figures.withSocketIoP99Ms).toBeLessThan(STARVED_MS);
    // The node closed every slow connection, once its request timeout had passed. Most read the 408 first;
    // one the node closes while bytes it has not read wait in its buffer is reset, and its 408 may be lost.
    expect(figures.slowClosedByNode).toBe(slowCount);
    expect(figures.slowClosedAfterMinMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(figures.slowAnswered408).toBeGreaterThan(slowCount / 2);
  });
});
