/**
 * The `mailroom` client commands (send, consume, stats, publish, subscribe) as a person runs them: the
 * built CLI spawned as real processes against real nodes (memory engine, and two nodes on one Redis),
 * checked by what they print, their exit codes (docs/cli.md), and what the node holds afterwards.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type CliOptions, parseJsonLines, runCli, startCli } from "./helpers/cli.js";
import { type NodeHandle, startNode, startTwoNodesOnRedis } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";

/** The exit codes docs/cli.md promises. */
const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3, incomplete: 4 };

/** Runs `mailroom <args>` against `node`, given by MAILROOM_URL as a user would set it once. */
function mailroom(node: NodeHandle, args: string[], options: CliOptions = {}) {
  return runCli(args, { ...options, env: { MAILROOM_URL: node.url, ...options.env } });
}

/** Runs a command that must succeed, and returns its stdout's JSON lines. */
async function mailroomOk(node: NodeHandle, args: string[], options: CliOptions = {}): Promise<unknown[]> {
  const result = await mailroom(node, args, options);
  expect(result.code, `mailroom ${args.join(" ")}: ${result.stderr}`).toBe(EXIT.ok);
  return parseJsonLines(result.stdout);
}

async function statsOf(node: NodeHandle, queue: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const [stats] = await mailroomOk(node, ["stats", queue, "--json", ...extra]);
  return stats as Record<string, unknown>;
}

describe("mailroom send and consume", () => {
  it("round-trips a message: send jobs '{\"n\":1}', then consume jobs --max 1 prints it and removes it", async () => {
    const node = await startNode();
    const [sent] = await mailroomOk(node, ["send", "jobs", '{"n":1}']);
    expect(sent).toEqual({ id: expect.any(String), duplicate: false });

    const consumed = await mailroom(node, ["consume", "jobs", "--max", "1"]);
    expect(consumed.code).toBe(EXIT.ok);
    expect(parseJsonLines(consumed.stdout)).toEqual([
      {
        queue: "jobs",
        id: (sent as { id: string }).id,
        attempt: 1,
        enqueuedAt: expect.any(Number),
        headers: {},
        data: { n: 1 },
      },
    ]);
    // The ack was confirmed before the process exited: nothing is left, not even in flight.
    expect(await statsOf(node, "jobs")).toMatchObject({ ready: 0, inflight: 0, delayed: 0 });
    const empty = await mailroom(node, ["consume", "jobs", "--max", "1", "--timeout-ms", "500"]);
    expect(empty.code).toBe(EXIT.incomplete);
    expect(empty.stdout).toBe("");
  });

  it("sends --count copies with every --header in batches, reports them, and all arrive with the headers", async () => {
    const node = await startNode();
    const count = 2500; // more than two batches of the contract's 1000
    const [summary] = await mailroomOk(node, [
      "send",
      "bulk",
      '{"load":true}',
      "--count",
      String(count),
      "--header",
      "trace-id=t-1",
      "--header",
      "query=a=b",
    ]);
    expect(summary).toMatchObject({ queue: "bulk", sent: count, duplicates: 0 });
    expect(await statsOf(node, "bulk")).toMatchObject({ ready: count });

    const lines = (await mailroomOk(node, ["consume", "bulk", "--max", String(count), "--prefetch", "500"])) as Array<{
      id: string;
      headers: unknown;
      data: unknown;
    }>;
    expect(lines).toHaveLength(count);
    expect(new Set(lines.map((line) => line.id)).size).toBe(count);
    for (const line of lines) {
      expect(line.headers).toEqual({ "trace-id": "t-1", query: "a=b" });
      expect(line.data).toEqual({ load: true });
    }
    expect(await statsOf(node, "bulk")).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("splits --count batches that a node with a small --max-message-bytes finds too large, and sends them all", async () => {
    const node = await startNode({ args: ["--max-message-bytes", "4096"] });
    const data = JSON.stringify({ padding: "x".repeat(100) }); // ~115 bytes: the CLI's first batches hold ~570
    const [summary] = await mailroomOk(node, ["send", "small", data, "--count", "700"]);
    expect(summary).toMatchObject({ sent: 700, duplicates: 0 });
    expect(await statsOf(node, "small")).toMatchObject({ ready: 700 });
  });

  it("draws a progress bar on stderr for --count when asked with --progress, and keeps stdout for the summary", async () => {
    const node = await startNode();
    const result = await mailroom(node, ["send", "bar", "x", "--count", "1200", "--progress"]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stderr).toContain("1200/1200");
    expect(result.stderr).toContain("100%");
    expect(parseJsonLines(result.stdout)).toEqual([expect.objectContaining({ sent: 1200 })]);
  });

  it("reads the data from stdin with -: JSON as JSON, text without its trailing newline, --binary byte for byte", async () => {
    const node = await startNode();
    const bytes = Uint8Array.from([0, 1, 2, 254, 255, 10]);
    await mailroomOk(node, ["send", "piped", "-"], { input: '{"from":"stdin"}\n' });
    await mailroomOk(node, ["send", "piped", "-"], { input: "plain words\n" });
    await mailroomOk(node, ["send", "piped", "-", "--binary"], { input: bytes });
    await mailroomOk(node, ["send", "piped", "42", "--text"]);

    const lines = (await mailroomOk(node, ["consume", "piped", "--max", "4"])) as Array<{ data: unknown }>;
    expect(lines.map((line) => line.data)).toEqual([
      { from: "stdin" },
      "plain words",
      { $binary: Buffer.from(bytes).toString("base64") },
      "42",
    ]);

    // What consume prints can be sent again: {"$binary": ...} is binary, as in the HTTP API.
    await mailroomOk(node, ["send", "again", "-"], { input: JSON.stringify(lines[2]?.data) });
    const [again] = (await mailroomOk(node, ["consume", "again", "--max", "1"])) as Array<{ data: unknown }>;
    expect(again?.data).toEqual({ $binary: Buffer.from(bytes).toString("base64") });
  });

  it("with --nack hands the message back, so the next consume gets it again with attempt 2", async () => {
    const node = await startNode();
    const [sent] = (await mailroomOk(node, ["send", "retry", "once more"])) as Array<{ id: string }>;

    const [first] = (await mailroomOk(node, ["consume", "retry", "--max", "1", "--nack"])) as Array<{
      id: string;
      attempt: number;
    }>;
    expect(first).toMatchObject({ id: sent?.id, attempt: 1 });
    expect(await statsOf(node, "retry")).toMatchObject({ ready: 1, inflight: 0 });

    const [second] = (await mailroomOk(node, ["consume", "retry", "--max", "1"])) as Array<{ id: string }>;
    expect(second).toMatchObject({ id: sent?.id, attempt: 2, data: "once more" });
    expect(await statsOf(node, "retry")).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("with --reject moves the message to <queue>.dlq, where consume prints its reason", async () => {
    const node = await startNode();
    await mailroomOk(node, ["send", "doomed", '"bad input"']);
    await mailroomOk(node, ["consume", "doomed", "--max", "1", "--reject"]);
    expect(await statsOf(node, "doomed")).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });

    const [dead] = await mailroomOk(node, ["consume", "doomed.dlq", "--max", "1"]);
    expect(dead).toMatchObject({ queue: "doomed.dlq", reason: "rejected", attempt: 1, data: "bad input" });
  });

  it("takes exactly --max messages whatever --prefetch, leaving the rest never delivered", async () => {
    const node = await startNode();
    await mailroomOk(node, ["send", "five", "m", "--count", "5"]);

    const taken = await mailroomOk(node, ["consume", "five", "--max", "2", "--prefetch", "10"]);
    expect(taken).toHaveLength(2);
    expect(await statsOf(node, "five")).toMatchObject({ ready: 3, inflight: 0 });
    // Had the node delivered more than two, those would come back with attempt 2.
    const rest = (await mailroomOk(node, ["consume", "five", "--max", "3"])) as Array<{ attempt: number }>;
    expect(rest.map((line) => line.attempt)).toEqual([1, 1, 1]);
  });

  it("at Ctrl-C confirms the acks of what it printed, then exits 0", async () => {
    const node = await startNode();
    await mailroomOk(node, ["send", "interrupted", "1", "--count", "3"]);
    const consumer = startCli(["consume", "interrupted", "--url", node.url]);
    await consumer.waitForStderr("consuming interrupted");
    await expect.poll(() => consumer.jsonLines().length, { timeout: 20_000 }).toBe(3);

    consumer.signal("SIGINT");
    const result = await consumer.exited;
    expect(result.code).toBe(EXIT.ok);
    expect(await statsOf(node, "interrupted")).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("sends through node A and consumes through node B of one Redis cluster", async () => {
    const [nodeA, nodeB] = await startTwoNodesOnRedis();
    const [sent] = (await mailroomOk(nodeA, ["send", "shared", '{"via":"A"}', "--id", "order-1"])) as Array<{
      id: string;
    }>;
    expect(sent).toEqual({ id: "order-1", duplicate: false });
    const [duplicate] = await mailroomOk(nodeB, ["send", "shared", '{"via":"B"}', "--id", "order-1"]);
    expect(duplicate).toEqual({ id: "order-1", duplicate: true });

    const [consumed] = await mailroomOk(nodeB, ["consume", "shared", "--max", "1"]);
    expect(consumed).toMatchObject({ id: "order-1", data: { via: "A" } });
    expect(await statsOf(nodeA, "shared")).toMatchObject({ ready: 0, inflight: 0 });
  });
});

describe("mailroom stats", () => {
  it("shows one queue and every queue as a table and as JSON, with the node's numbers", async () => {
    const node = await startNode();
    await mailroomOk(node, ["send", "alpha", "a", "--count", "3"]);
    await mailroomOk(node, ["send", "alpha", "later", "--delay-ms", "600000"]);
    await mailroomOk(node, ["send", "beta", "b", "--count", "2"]);
    await mailroomOk(node, ["send", "gamma", "in another namespace", "--namespace", "/other"]);

    const one = await mailroom(node, ["stats", "alpha"]);
    expect(one.code).toBe(EXIT.ok);
    expect(tableRows(one.stdout)).toEqual([
      ["QUEUE", "READY", "IN FLIGHT", "DELAYED", "DEAD-LETTERED", "CONSUMERS"],
      ["alpha", "3", "0", "1", "0", "0"],
    ]);
    expect(await statsOf(node, "alpha")).toEqual({
      name: "alpha",
      ready: 3,
      inflight: 0,
      delayed: 1,
      deadLettered: 0,
      consumers: 0,
      groups: 0,
    });

    const all = await mailroom(node, ["stats"]);
    expect(all.code).toBe(EXIT.ok);
    expect(tableRows(all.stdout).slice(1)).toEqual([
      ["alpha", "3", "0", "1", "0", "0"],
      ["beta", "2", "0", "0", "0", "0"],
    ]);
    const [allJson] = await mailroomOk(node, ["stats", "--json"]);
    expect(allJson).toEqual({
      queues: [
        { name: "alpha", ready: 3, inflight: 0, delayed: 1, deadLettered: 0, consumers: 0, groups: 0 },
        { name: "beta", ready: 2, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 },
      ],
      truncated: false,
    });
    const [otherJson] = await mailroomOk(node, ["stats", "--json", "--namespace", "/other"]);
    expect(otherJson).toMatchObject({ queues: [{ name: "gamma", ready: 1 }] });
  });
});

describe("mailroom publish and subscribe", () => {
  it("prints on node A each event published through node B of one Redis, and exits after --max", async () => {
    const [nodeA, nodeB] = await startTwoNodesOnRedis();
    const subscriber = startCli(["subscribe", "chat/general", "--max", "2", "--url", nodeA.url]);
    await subscriber.waitForStderr("subscribed to chat/general");

    const [first] = (await mailroomOk(nodeB, ["publish", "chat/general", "message", '{"text":"hello"}'])) as Array<{
      id: string;
    }>;
    await mailroomOk(nodeB, ["publish", "elsewhere", "message", "not for this room"]);
    const [second] = (await mailroomOk(nodeB, ["publish", "chat/general", "ping"])) as Array<{ id: string }>;

    const result = await subscriber.exited;
    expect(result.code).toBe(EXIT.ok);
    expect(parseJsonLines(result.stdout)).toEqual([
      { room: "chat/general", event: "message", id: first?.id, ts: expect.any(Number), data: { text: "hello" } },
      { room: "chat/general", event: "ping", id: second?.id, ts: expect.any(Number), data: null },
    ]);
  });

  it("prints only the --event names asked for, and exits 0 at Ctrl-C", async () => {
    const node = await startNode();
    const subscriber = startCli(["subscribe", "ticker", "--event", "tick", "--url", node.url]);
    await subscriber.waitForStderr("subscribed to ticker");
    await mailroomOk(node, ["publish", "ticker", "noise", "1"]);
    await mailroomOk(node, ["publish", "ticker", "tick", "2"]);
    await expect.poll(() => subscriber.jsonLines().length, { timeout: 20_000 }).toBe(1);

    subscriber.signal("SIGINT");
    const result = await subscriber.exited;
    expect(result.code).toBe(EXIT.ok);
    expect(parseJsonLines(result.stdout)).toEqual([expect.objectContaining({ event: "tick", data: 2 })]);
  });
});

describe("mailroom errors and help", () => {
  const commands: Record<string, string[]> = {
    send: ["--header", "--count", "--id", "--delay-ms", "--ttl-ms", "--max-attempts", "--binary", "--url", "--token"],
    consume: ["--prefetch", "--max", "--nack", "--reject", "--timeout-ms", "--namespace", "MAILROOM_URL"],
    stats: ["--json", "--url", "--namespace", "--token", "MAILROOM_TOKEN"],
    publish: ["--json", "--text", "--binary", "--url", "--connect-timeout-ms"],
    subscribe: ["--event", "--max", "--timeout-ms", "--url"],
  };
  for (const [command, flags] of Object.entries(commands)) {
    it(`mailroom ${command} --help exits 0 and lists its flags and examples`, async () => {
      const result = await runCli([command, "--help"]);
      expect(result.code).toBe(EXIT.ok);
      for (const flag of flags) expect(result.stdout).toContain(flag);
      expect(result.stdout).toContain(`$ mailroom ${command}`);
    });
  }

  it("prints the package's version for --version and -v, and exits 0", async () => {
    const manifest = JSON.parse(readFileSync(new URL("../packages/cli/package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-v"]) {
      const result = await runCli([flag]);
      expect(result.code).toBe(EXIT.ok);
      expect(result.stdout.trim()).toBe(manifest.version);
    }
  });

  it("names INVALID_NAME and RESERVED_EVENT on stderr and exits 1 for names the node refuses", async () => {
    const node = await startNode();
    const badQueue = await mailroom(node, ["send", "no spaces allowed", "1"]);
    expect(badQueue.code).toBe(EXIT.refused);
    expect(badQueue.stderr).toMatch(/^mailroom send: INVALID_NAME: /);
    expect(badQueue.stdout).toBe("");

    const badConsume = await mailroom(node, ["consume", "jobs/1"]);
    expect(badConsume.code).toBe(EXIT.refused);
    expect(badConsume.stderr).toContain("mailroom consume: INVALID_NAME");

    const reserved = await mailroom(node, ["publish", "room", "queue:message", "1"]);
    expect(reserved.code).toBe(EXIT.refused);
    expect(reserved.stderr).toContain("mailroom publish: RESERVED_EVENT");
  });

  it("exits 2 for a command line it refuses, before talking to any node", async () => {
    const unreachable = "http://127.0.0.1:1";
    const cases = [
      ["send"],
      ["send", "jobs", "1", "--bogus"],
      ["send", "jobs", "1", "--count", "many"],
      ["send", "jobs", "1", "--count", "2", "--id", "same"],
      ["send", "jobs", "not json", "--json"],
      ["send", "jobs", "1", "--header", "no-equals-sign"],
      ["send", "jobs", "1", "--json", "--binary"],
      ["consume", "jobs", "--nack", "--reject"],
      ["stats", "--url", "not a url"],
    ];
    for (const args of cases) {
      const result = await runCli(args.includes("--url") ? args : [...args, "--url", unreachable]);
      expect({ args, code: result.code }).toEqual({ args, code: EXIT.usage });
      expect(result.stderr).not.toBe("");
    }
  });

  it("fails clearly with exit 3 within seconds when no node listens at the URL", async () => {
    const port = await freePort();
    const result = await runCli(["send", "jobs", "1", "--url", `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(EXIT.unavailable);
    expect(result.stderr).toMatch(
      /^mailroom send: UNAVAILABLE: cannot connect to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
    // Refused at once; far below socket.io-client's own 20 s handshake timeout even on a busy machine.
    expect(result.elapsedMs).toBeLessThan(15_000);
  });

  it("gives up after --connect-timeout-ms when the address accepts connections but never answers", async () => {
    const silent = await silentServer();
    const result = await runCli(["stats", "--url", silent, "--connect-timeout-ms", "1000"]);
    expect(result.code).toBe(EXIT.unavailable);
    expect(result.stderr).toContain("no node answered within 1000 ms");
    expect(result.elapsedMs).toBeLessThan(15_000);
  });

  it("with auth on: UNAUTHORIZED without a token, FORBIDDEN without the right, works with a token", async () => {
    const secret = "a-test-secret-of-enough-length-for-hs256";
    const node = await startNode({ args: ["--jwt-secret", secret] });
    const mint = (rights: Record<string, string[]>) =>
      new SignJWT({ mailroom: rights })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("cli-user")
        .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
        .sign(new TextEncoder().encode(secret));

    const anonymous = await mailroom(node, ["send", "jobs", "1"]);
    expect(anonymous.code).toBe(EXIT.refused);
    expect(anonymous.stderr).toMatch(/^mailroom send: UNAUTHORIZED: .*--token/);

    const consumeOnly = await mint({ "/": ["consume"] });
    const forbidden = await mailroom(node, ["send", "jobs", "1", "--token", consumeOnly]);
    expect(forbidden.code).toBe(EXIT.refused);
    expect(forbidden.stderr).toContain("mailroom send: FORBIDDEN");

    const env = { MAILROOM_TOKEN: await mint({ "/": ["send", "consume"] }) };
    await mailroomOk(node, ["send", "jobs", '{"n":1}'], { env });
    expect(await mailroomOk(node, ["stats", "--json"], { env })).toEqual([
      { queues: [expect.objectContaining({ name: "jobs", ready: 1 })], truncated: false },
    ]);
    const [consumed] = await mailroomOk(node, ["consume", "jobs", "--max", "1"], { env });
    expect(consumed).toMatchObject({ data: { n: 1 } });
  });
});

/** The rows of a table as `mailroom stats` prints it, each split into its cells. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}/));
}

/** A TCP server that accepts connections and never answers: a node that hangs. Its URL. */
async function silentServer(): Promise<string> {
  const server: Server = createServer(() => {});
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the silent server has no port");
  return `http://127.0.0.1:${address.port}`;
}
