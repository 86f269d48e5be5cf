/**
 * The SDK's queues (`@mailroom/client`) against real node processes on one Redis: a message sent through
 * node A reaches a handler on node B and is acked when the handler resolves; a failing handler sees its
 * message again; a batch arrives in order; a slow handler keeps its lease (and, without auto-extend, loses
 * it and hears of the stale ack); cancel stops deliveries; a consumption comes back after its node
 * restarts; binary arrives byte-exact; the by-hand commands answer as the contract says.
 */
import {
  type ConsumeFailure,
  connect,
  MailroomClient,
  MailroomError,
  type MailroomSocket,
  type QueueStats,
  type ReceivedMessage,
} from "@mailroom/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { readyClient } from "./helpers/clients.js";
import { startNode, startTwoNodesOnRedis } from "./helpers/nodes.js";
import { waitFor } from "./helpers/wait.js";

/** The shortest lease the contract allows, so a lease that is not extended ends within the test. */
const SHORT_VISIBILITY_MS = 1000;
/** A handler this slow outlives two and a half short leases. */
const SLOW_HANDLER_MS = 2500;

const twoNodes = startTwoNodesOnRedis;

/** Every consumeError the client reports, for asserting that none (or which) came. */
function consumeErrors(client: MailroomClient): Array<[MailroomError, ConsumeFailure]> {
  const reported: Array<[MailroomError, ConsumeFailure]> = [];
  client.on("consumeError", (error, failure) => reported.push([error, failure]));
  return reported;
}

/** Waits until the queue's stats, as `client` sees them, include `expected`. */
function statsReach(client: MailroomClient, queue: string, expected: Partial<QueueStats>): Promise<QueueStats> {
  return waitFor(
    async () => {
      const stats = await client.queue(queue).stats();
      return Object.entries(expected).every(([key, value]) => stats[key as keyof QueueStats] === value) && stats;
    },
    { timeoutMs: 15_000, what: `${queue}'s stats to reach ${JSON.stringify(expected)}` },
  );
}

/**
 * A connected socket that answers each command with `answer(name, args)` and runs `before(name)` first,
 * so a test can script what reaches the client before an answer (no node can be made to do that on cue).
 */
function scriptedSocket(
  answer: (name: string, args: unknown) => object,
  before: (name: string, deliver: (event: string, payload: unknown) => void) => void,
): MailroomSocket {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const anyListeners = new Set<(event: string, payload: unknown) => void>();
  const deliver = (event: string, payload: unknown) => {
    for (const listener of anyListeners) listener(event, payload);
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  const socket = {
    connected: true,
    id: "scripted",
    on(event: string, listener: (payload: unknown) => void) {
      listeners.set(event, (listeners.get(event) ?? new Set()).add(listener));
      return socket;
    },
    off(event: string, listener: (payload: unknown) => void) {
      listeners.get(event)?.delete(listener);
      return socket;
    },
    onAny(listener: (event: string, payload: unknown) => void) {
      anyListeners.add(listener);
      return socket;
    },
    offAny(listener: (event: string, payload: unknown) => void) {
      anyListeners.delete(listener);
      return socket;
    },
    timeout: () => ({
      emitWithAck: async (name: string, args: unknown) => {
        before(name, deliver);
        return { ok: true, ...answer(name, args) };
      },
    }),
    disconnect: () => socket,
    removeAllListeners: () => socket,
  };
  return socket as unknown as MailroomSocket;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("client queues across nodes", () => {
  it("delivers a message sent through node A to a handler on node B with its data and headers, and acks it when the handler resolves", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const errors = consumeErrors(consumer);
    const received: ReceivedMessage[] = [];
    await consumer.queue("orders").consume((message) => {
      received.push(message);
    });

    const { id, duplicate } = await producer
      .queue("orders")
      .send({ sku: "A-1", quantity: 2 }, { headers: { "trace-id": "t-1" } });

    await waitFor(() => received.length === 1, { what: "the message to reach the handler" });
    expect(duplicate).toBe(false);
    expect(received[0]).toEqual({
      queue: "orders",
      id,
      data: { sku: "A-1", quantity: 2 },
      headers: { "trace-id": "t-1" },
      attempt: 1,
      enqueuedAt: expect.any(Number),
      receipt: expect.any(String),
    });
    await statsReach(producer, "orders", { ready: 0, inflight: 0 });
    expect(errors).toEqual([]);
  });

  it("delivers a message again, with attempt 2, when its handler throws the first time", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const errors = consumeErrors(consumer);
    const attempts: number[] = [];
    await consumer.queue("flaky").consume((message) => {
      attempts.push(message.attempt);
      if (message.attempt === 1) throw new Error("the first try fails");
    });

    await producer.queue("flaky").send("retry me");

    await waitFor(() => attempts.length === 2, { what: "the message to be delivered twice" });
    await statsReach(producer, "flaky", { ready: 0, inflight: 0, delayed: 0 });
    expect(attempts).toEqual([1, 2]);
    expect(errors).toEqual([]);
  });

  it("waits nackDelayMs, computed from the message, before delivering a failed message again", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const backoffMs = 600;
    const arrivals: number[] = [];
    await consumer.queue("backoff").consume(
      (message) => {
        arrivals.push(performance.now());
        if (message.attempt === 1) throw new Error("fail once");
      },
      { nackDelayMs: (message) => backoffMs * message.attempt },
    );

    await producer.queue("backoff").send({ n: 1 });

    await waitFor(() => arrivals.length === 2, { what: "the redelivery after the backoff" });
    const [first, second] = arrivals as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(backoffMs);
  });

  it("delivers a batch of 10 in the order it was sent", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const received: unknown[] = [];
    await consumer.queue("batch").consume((message) => {
      received.push(message.data);
    });
    const numbers = Array.from({ length: 10 }, (_, index) => index);

    const results = await producer.queue("batch").sendBatch(numbers.map((n) => ({ data: { n }, id: `m-${n}` })));

    expect(results).toEqual(numbers.map((n) => ({ id: `m-${n}`, duplicate: false })));
    await waitFor(() => received.length === 10, { what: "all 10 messages" });
    expect(received).toEqual(numbers.map((n) => ({ n })));
    await statsReach(producer, "batch", { ready: 0, inflight: 0 });
  });

  it("keeps a slow handler's lease alive, so no consumer on another node gets its message meanwhile", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const slowClient = await readyClient(nodeA.url);
    const otherClient = await readyClient(nodeB.url);
    const errors = consumeErrors(slowClient);
    const slowGot: ReceivedMessage[] = [];
    let slowDone = false;
    await slowClient.queue("slow").consume(
      async (message) => {
        slowGot.push(message);
        await sleep(SLOW_HANDLER_MS);
        slowDone = true;
      },
      { prefetch: 1, visibilityMs: SHORT_VISIBILITY_MS },
    );
    await otherClient.queue("slow").send("take your time");
    await waitFor(() => slowGot.length === 1, { what: "the slow handler to get the message" });

    // Registered once the slow handler holds the message: without extends its lease would end under it.
    const otherGot: ReceivedMessage[] = [];
    await otherClient
      .queue("slow")
      .consume((message) => void otherGot.push(message), { visibilityMs: SHORT_VISIBILITY_MS });

    await waitFor(() => slowDone, { timeoutMs: 10_000, what: "the slow handler to finish" });
    await statsReach(otherClient, "slow", { ready: 0, inflight: 0 });
    expect(otherGot).toEqual([]);
    expect(slowGot.map((message) => message.attempt)).toEqual([1]);
    expect(errors).toEqual([]);
  });

  it("without autoExtend, loses a slow handler's lease to another consumer and reports the stale ack", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const slowClient = await readyClient(nodeA.url);
    const otherClient = await readyClient(nodeB.url);
    const errors = consumeErrors(slowClient);
    const slowGot: ReceivedMessage[] = [];
    await slowClient.queue("unextended").consume(
      async (message) => {
        slowGot.push(message);
        await sleep(SLOW_HANDLER_MS);
      },
      { prefetch: 1, visibilityMs: SHORT_VISIBILITY_MS, autoExtend: false },
    );
    await otherClient.queue("unextended").send("too slow");
    await waitFor(() => slowGot.length === 1, { what: "the slow handler to get the message" });

    const otherGot: ReceivedMessage[] = [];
    await otherClient.queue("unextended").consume((message) => void otherGot.push(message));

    await waitFor(() => otherGot.length === 1, { what: "the other consumer to get the message once the lease ended" });
    expect(otherGot[0]?.attempt).toBe(2);
    await waitFor(() => errors.length === 1, { what: "the slow handler's stale ack to be reported" });
    const [error, failure] = errors[0]!;
    expect(error).toBeInstanceOf(MailroomError);
    expect(error.code).toBe("NOT_FOUND");
    expect(failure.operation).toBe("ack");
    expect(failure.message?.id).toBe(slowGot[0]?.id);
    expect(failure.consumption.queue).toBe("unextended");
  });

  it("delivers nothing more to a consumption once it is cancelled", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const cancelledGot: unknown[] = [];
    const consumption = await consumer.queue("jobs").consume((message) => void cancelledGot.push(message.data));
    await producer.queue("jobs").send("before");
    await waitFor(() => cancelledGot.length === 1, { what: "the first message" });

    await consumption.cancel();
    expect(consumption.active).toBe(false);
    await statsReach(producer, "jobs", { consumers: 0 });
    await producer.queue("jobs").send("after");
    // A consumer registered after the cancel is the only one left to take it.
    const laterGot: unknown[] = [];
    await producer.queue("jobs").consume((message) => void laterGot.push(message.data));

    await waitFor(() => laterGot.length === 1, { what: "the later consumer to get the second message" });
    expect(laterGot).toEqual(["after"]);
    expect(cancelledGot).toEqual(["before"]);
  });

  it("consumes again by itself after its node restarts, under a new consumer id", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const consumer = await readyClient(nodeA.url);
    const producer = await readyClient(nodeB.url);
    const received: unknown[] = [];
    const consumption = await consumer.queue("durable").consume((message) => void received.push(message.data));
    await producer.queue("durable").send("first");
    await waitFor(() => received.length === 1, { what: "the first message" });
    // Its ack must land before the kill: a lease the dead node held would only end at its expiry (30 s).
    await statsReach(producer, "durable", { ready: 0, inflight: 0 });
    const [socketBefore, consumerBefore] = [consumer.id, consumption.consumer];

    await nodeA.restart();
    await waitFor(() => consumer.id !== undefined && consumer.id !== socketBefore, {
      timeoutMs: 20_000,
      what: "the client to reconnect to node A",
    });
    await producer.queue("durable").send("second");

    await waitFor(() => received.length === 2, { timeoutMs: 20_000, what: "the message sent after the restart" });
    expect(received).toEqual(["first", "second"]);
    expect(consumption.consumer).not.toBe(consumerBefore);
    expect(consumption.active).toBe(true);
    await statsReach(producer, "durable", { ready: 0, inflight: 0, consumers: 1 });
  });

  it("hands messages waiting before it registers to the handler over HTTP long-polling too", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url, { transports: ["polling"] });
    const numbers = Array.from({ length: 20 }, (_, index) => index);
    await producer.queue("waiting").sendBatch(numbers.map((n) => ({ data: n })));
    const received: unknown[] = [];

    await consumer.queue("waiting").consume((message) => void received.push(message.data), { prefetch: 20 });

    await waitFor(() => received.length === 20, { what: "all 20 waiting messages" });
    expect(received).toEqual(numbers);
    await statsReach(producer, "waiting", { ready: 0, inflight: 0 });
  });

  it("delivers binary data sent through the client byte-exact, as a Uint8Array", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const producer = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    const bytes = Uint8Array.from({ length: 4096 }, (_, index) => (index * 131 + 7) % 256);
    const received: unknown[] = [];
    await consumer.queue("blobs").consume((message) => void received.push(message.data));

    await producer.queue("blobs").send(bytes);

    await waitFor(() => received.length === 1, { what: "the binary message" });
    expect(received[0]).toBeInstanceOf(Uint8Array);
    expect([...(received[0] as Uint8Array)]).toEqual([...bytes]);
  });
});

describe("client queue commands by hand", () => {
  it("reports a receipt that matches no lease as stale to ack and NOT_FOUND to nack and extend", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    const queue = client.queue("manual");

    expect(await queue.ack("no-such-receipt")).toEqual({ acked: 0, stale: ["no-such-receipt"] });
    await expect(queue.nack("no-such-receipt")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(queue.extend("no-such-receipt", 5000)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("purges ready messages, and redrives a dead-lettered one back into its queue", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const admin = await readyClient(nodeA.url);
    const consumer = await readyClient(nodeB.url);
    await admin.queue("cleanup").sendBatch([{ data: 1 }, { data: 2 }, { data: 3 }]);
    expect(await admin.queue("cleanup").purge()).toEqual({ purged: 3 });

    const consumption = await consumer.queue("cleanup").consume(() => {
      throw new Error("always fails");
    });
    await admin.queue("cleanup").send("doomed", { maxAttempts: 1 });
    await statsReach(admin, "cleanup", { ready: 0, inflight: 0, deadLettered: 1 });
    await consumption.cancel();

    expect(await admin.queue("cleanup").redrive()).toEqual({ moved: 1 });
    await statsReach(admin, "cleanup", { ready: 1, deadLettered: 0 });
  });

  it("rejects a send to a queue name that breaks the rule with INVALID_NAME, and a bad nackDelayMs at once", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);

    await expect(client.queue("no spaces").send("x")).rejects.toMatchObject({ code: "INVALID_NAME" });
    await expect(client.queue("ok").consume(() => {}, { nackDelayMs: -1 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });
});

describe("client acks", () => {
  it("acks the deliveries its handlers finish in one turn with one queue:ack of many receipts", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    const orders = client.queue("batched");
    await orders.sendBatch(Array.from({ length: 200 }, (_, index) => ({ data: index })));
    const ackCommands: string[][] = [];
    client.socket.onAnyOutgoing((event, args) => {
      if (event === "queue:ack") ackCommands.push((args as { receipts: string[] }).receipts);
    });
    let handled = 0;
    await orders.consume(
      async () => {
        handled += 1;
      },
      { prefetch: 100 },
    );
    await waitFor(async () => handled === 200 && (await orders.stats()).inflight === 0, {
      what: "every message handled and acked",
    });
    expect(ackCommands.flat()).toHaveLength(200);
    expect(ackCommands.length).toBeLessThan(50);
    expect((await orders.stats()).ready).toBe(0);
  });
});

describe("client acks that wait for company", () => {
  /** Consumes `queue` with handlers that finish only when told, one per turn of the event loop. */
  async function heldHandlers(client: MailroomClient, queue: string, messages: number, prefetch: number) {
    const ackCommands: string[][] = [];
    client.socket.onAnyOutgoing((event, args) => {
      if (event === "queue:ack") ackCommands.push((args as { receipts: string[] }).receipts);
    });
    const finish: Array<() => void> = [];
    await client.queue(queue).sendBatch(Array.from({ length: messages }, (_, index) => ({ data: index })));
    await client.queue(queue).consume(() => new Promise<void>((resolve) => finish.push(resolve)), { prefetch });
    await waitFor(() => finish.length === messages, { what: `${messages} handlers running` });
    /** Lets the handlers finish, each in a turn of its own. */
    const finishOnePerTurn = async () => {
      for (const done of finish) {
        done();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    return { ackCommands, finishOnePerTurn };
  }

  it("sends the acks of handlers that finish in separate turns within 2 ms together", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    const { ackCommands, finishOnePerTurn } = await heldHandlers(client, "lingering", 10, 100);
    await finishOnePerTurn();
    await statsReach(client, "lingering", { ready: 0, inflight: 0 });
    expect(ackCommands.flat()).toHaveLength(10);
    // One turn each: without the wait, ten commands.
    expect(ackCommands.length).toBeLessThanOrEqual(3);
  });

  it("sends the acks that wait before the client closes, and disconnects once the node settled them", async () => {
    const node = await startNode();
    const consumerClient = await readyClient(node.url);
    const observer = await readyClient(node.url);
    const acked: string[] = [];
    consumerClient.socket.onAnyOutgoing((event, args) => {
      if (event === "queue:ack") acked.push(...(args as { receipts: string[] }).receipts);
    });
    const handled: string[] = [];
    await observer.queue("closing").send({ data: "last" });
    await consumerClient.queue("closing").consume(
      (message) => {
        handled.push(message.receipt);
        // Its ack waits for company; the client closes right after this handler, before the wait ends.
        setImmediate(() => consumerClient.close());
      },
      { prefetch: 100 },
    );
    await waitFor(() => handled.length === 1, { what: "the message handled" });
    await waitFor(() => acked.length === 1, { what: "the ack emitted" });
    expect(acked).toEqual(handled);
    // Settled, not given back with the closed connection's leases: the socket waited for the answer.
    await statsReach(observer, "closing", { ready: 0, inflight: 0 });
    await waitFor(() => !consumerClient.socket.connected, { what: "the consumer's socket disconnected" });
    expect(await observer.queue("closing").stats()).toMatchObject({ ready: 0, inflight: 0 });
  });
});

describe("client consumption registration", () => {
  it("hands a delivery that arrives before the answer to queue:consume to the handler, and acks it", async () => {
    const sent: Array<[string, unknown]> = [];
    const early = {
      queue: "early",
      consumer: "c-1",
      id: "m-1",
      receipt: "r-1",
      data: "first",
      headers: {},
      attempt: 1,
      enqueuedAt: 1,
    };
    const socket = scriptedSocket(
      (name, args) => {
        sent.push([name, args]);
        if (name === "queue:consume") return { consumer: "c-1" };
        if (name === "queue:ack") return { acked: 1, stale: [] };
        return {};
      },
      (name, deliver) => {
        if (name === "queue:consume") {
          deliver("queue:message", early);
          deliver("queue:message", { ...early, consumer: "c-other", id: "m-other" });
        }
      },
    );
    const client = new MailroomClient(socket);
    const received: ReceivedMessage[] = [];

    const consumption = await client.queue("early").consume((message) => void received.push(message));

    await waitFor(() => sent.some(([name]) => name === "queue:ack"), { what: "the ack" });
    expect(consumption.consumer).toBe("c-1");
    expect(received.map((message) => message.id)).toEqual(["m-1"]);
    expect(sent).toEqual([
      ["queue:consume", { queue: "early", batch: true, visibilityMs: 30_000 }],
      ["queue:ack", { queue: "early", receipts: ["r-1"] }],
    ]);
  });
});

describe("client queue handles", () => {
  it("hands out one handle per queue name", () => {
    const client = connect("http://127.0.0.1:9", { autoConnect: false });
    onCleanup(() => client.close());
    expect(client.queue("a")).toBe(client.queue("a"));
    expect(client.queue("a")).not.toBe(client.queue("b"));
  });

  it("types sends and handlers by the queue's data", () => {
    const client = connect("http://127.0.0.1:9", { autoConnect: false });
    onCleanup(() => client.close());
    const orders = client.queue<{ sku: string }>("orders");
    expectTypeOf(orders.send).parameter(0).toEqualTypeOf<{ sku: string }>();
    expectTypeOf(orders.consume).parameter(0).parameter(0).toEqualTypeOf<ReceivedMessage<{ sku: string }>>();
    expectTypeOf(client.queue("any").send).parameter(0).toBeUnknown();
    // Checked by the compiler only (`npm run typecheck`): never called.
    const misuses = () => {
      // @ts-expect-error: the data does not match the queue's
      void orders.send({ id: 1 });
      // @ts-expect-error: not a send option
      void orders.send({ sku: "A-1" }, { prio: 1 });
    };
    expect(misuses).toBeTypeOf("function");
  });
});
