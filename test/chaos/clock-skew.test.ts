/**
 * Chaos: a node whose clock runs 60 s ahead (STYLE.md: "Lease arithmetic uses Redis's clock, never a
 * node's"). The Redis engine takes every time it stores or compares (lease deadlines, delays, TTLs, dedup
 * windows, heartbeats, the due-time index) from Redis's `TIME` inside its scripts, so a skewed node can
 * neither end a lease early nor make one last 60 s longer. Each direction is tested with the other node
 * dead, so the skewed node is the only one left to judge (or to have set) the lease:
 * - leases taken through a normal node, swept only by the skewed one, end no earlier than `visibilityMs`;
 * - leases taken through the skewed node, swept only by a normal one, end no later than needed.
 * The skew comes from libfaketime (Debian's `faketime`, `FAKETIME=+60s` on the node process) when it is
 * installed, else (or with MAILROOM_TEST_CLOCK=preload) from a preloaded module that moves the node's
 * `Date`; the memory engine is one node, so has no one to disagree with.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startCluster, startNode } from "../helpers/nodes.js";
import { freshPrefix, startRedis } from "../helpers/redis.js";
import { command, connectSocket } from "../helpers/sockets.js";
import { waitFor } from "../helpers/wait.js";
import { report } from "./report.js";

const QUEUE = "skew";
const SKEW_MS = 60_000;
const VISIBILITY_MS = 2000;
const HELD = 10;
/** A delivery reaches the test a little after its lease started in Redis: allowance for that. */
const DELIVERY_LATENCY_ALLOWANCE_MS = 250;
/** A lease swept late by this much still shows it was Redis's deadline (the skew would add 60 s). */
const LATE_ALLOWANCE_MS = 3000;

const LIBFAKETIME =
  process.env.MAILROOM_TEST_CLOCK === "preload"
    ? undefined
    : [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
      ].find((path) => existsSync(path));
const PRELOAD = fileURLToPath(new URL("./skewed-clock.mjs", import.meta.url));

function skewedEnv(): Record<string, string> {
  if (LIBFAKETIME) return { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${SKEW_MS / 1000}s`, FAKETIME_DONT_RESET: "1" };
  return { NODE_OPTIONS: `--import=${PRELOAD}`, MAILROOM_TEST_CLOCK_OFFSET_MS: String(SKEW_MS) };
}

interface Delivery {
  id: string;
  attempt: number;
  at: number;
}

async function consumer(url: string, prefetch: number) {
  const socket = await connectSocket(url);
  const got: Delivery[] = [];
  socket.on("queue:message", (message: { id: string; attempt: number }) =>
    got.push({ id: message.id, attempt: message.attempt, at: Date.now() }),
  );
  expect(await command(socket, "queue:consume", { queue: QUEUE, prefetch, visibilityMs: VISIBILITY_MS })).toMatchObject(
    {
      ok: true,
    },
  );
  return got;
}

describe("chaos: clock skew", () => {
  it.each([
    { holderSkewed: false, direction: "a skewed node sweeps leases taken through a normal one" },
    { holderSkewed: true, direction: "a normal node sweeps leases taken through a skewed one" },
  ])("never redelivers early or 60 s late when $direction", async ({ holderSkewed }) => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const [normal] = await startCluster(1, { redisUrl: redis.url, prefix });
    const skewed = await startNode({ redisUrl: redis.url, prefix, env: skewedEnv() });
    const [holderNode, sweeperNode] = holderSkewed ? [skewed, normal!] : [normal!, skewed];

    // The skew is real: the skewed node stamps its start with its own clock.
    const producer = await connectSocket(sweeperNode.url);
    const cluster = (await (await fetch(`${normal!.url}/v1/cluster`)).json()) as {
      nodes: { url: string; startedAt: number }[];
    };
    const skewedStart = cluster.nodes.find((node) => node.url === skewed.url)?.startedAt ?? 0;
    expect(skewedStart - Date.now()).toBeGreaterThan(SKEW_MS - 10_000);

    const held = await consumer(holderNode.url, HELD);
    const sent = await command(producer, "queue:sendBatch", {
      queue: QUEUE,
      messages: Array.from({ length: HELD }, (_, index) => ({ data: index })),
    });
    expect(sent.ok).toBe(true);
    await waitFor(() => held.length === HELD, { what: "the holder to lease every message" });
    // The holder's node dies: nothing releases its leases, only the other node's sweep can end them.
    await holderNode.kill();
    const taken = await consumer(sweeperNode.url, HELD);
    await waitFor(() => taken.length === HELD, {
      timeoutMs: VISIBILITY_MS + LATE_ALLOWANCE_MS + 5000,
      what: "redelivery",
    });

    const gaps = taken.map((delivery) => delivery.at - (held.find((first) => first.id === delivery.id)?.at ?? 0));
    report(holderSkewed ? "clock-skew-holder-skewed" : "clock-skew-sweeper-skewed", {
      skewMs: SKEW_MS,
      clock: LIBFAKETIME ? "libfaketime" : "preloaded Date offset",
      visibilityMs: VISIBILITY_MS,
      held: HELD,
      redeliverMinMs: Math.min(...gaps),
      redeliverMaxMs: Math.max(...gaps),
    });
    expect(taken.map((delivery) => delivery.attempt)).toEqual(Array(HELD).fill(2));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(VISIBILITY_MS - DELIVERY_LATENCY_ALLOWANCE_MS);
    expect(Math.max(...gaps)).toBeLessThan(VISIBILITY_MS + LATE_ALLOWANCE_MS);
  });
});
