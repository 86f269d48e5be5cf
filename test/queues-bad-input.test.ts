/**
 * Bad input to the queue commands (docs/protocol.md §1, §3, §5, §8; docs/protocol.md, "Mailroom's choices") on a real node over
 * Redis: every malformed argument, invalid queue or message id, oversize message, unknown receipt or foreign
 * consumer is answered with the contract's code, in its order (shape, then names, then size), and changes
 * nothing; a command without an acknowledgement gets `mailroom:error` and does not run; every valid
 * boundary is accepted; and the node keeps serving the same socket and others.
 */

import type { QueueMessage } from "@mailroom/protocol";
import { QUEUE_LIMITS } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";

/** The node's size maximum: small, so that an oversize message is cheap to send. */
const MAX_MESSAGE_BYTES = 1024;
/** The one valid queue the malformed commands aim at, so a refused command that still ran would show. */
const QUEUE = "target";
/** A lease long enough to outlive the test: a held delivery only ends when the test ends it. */
const LONG_VISIBILITY_MS = 120_000;

type RefusalCode = "BAD_REQUEST" | "INVALID_NAME" | "PAYLOAD_TOO_LARGE" | "NOT_FOUND";

/** One malformed command: what it is, the arguments sent before the callback, the code it must get. */
interface Row {
  what: string;
  args: unknown[];
  code: RefusalCode;
}

/** What a consumer receives: the contract's `queue:message`. */
type Delivery = QueueMessage;

async function oneNode(): Promise<NodeHandle> {
  const redis = await startRedis();
  return startNode({
    redisUrl: redis.url,
    prefix: freshPrefix(),
    args: ["--max-message-bytes", String(MAX_MESSAGE_BYTES)],
  });
}

function refusal(code: string) {
  return { ok: false, error: { code, message: expect.any(String) } };
}

/** Sends `event` with exactly `args` (any number, any type) and a callback; resolves with the reply. */
function sendRaw(socket: ClientSocket, event: string, args: unknown[]): Promise<unknown> {
  return socket.timeout(10_000).emitWithAck(event, ...args);
}

/** Sends every row in turn and checks each reply, naming the row when one is wrong. */
async function expectRefusals(socket: ClientSocket, event: string, rows: Row[]): Promise<void> {
  for (const row of rows) {
    const reply = await sendRaw(socket, event, row.args);
    expect(reply, `${event} with ${row.what}`).toEqual(refusal(row.code));
  }
}

/** The queue's stats as the node answers them. */
async function stats(socket: ClientSocket, queue: string) {
  const reply = await command(socket, "queue:stats", { queue });
  expect(reply, `stats of ${queue}`).toMatchObject({ ok: true });
  return reply;
}

/** Starts a consumer with a long lease and resolves with its id. */
async function consume(socket: ClientSocket, queue: string, prefetch = 1): Promise<string> {
  const reply = await command(socket, "queue:consume", { queue, prefetch, visibilityMs: LONG_VISIBILITY_MS });
  expect(reply, `consume ${queue}`).toMatchObject({ ok: true, consumer: expect.any(String) });
  return reply.consumer;
}

/** Sends one message and resolves with its delivery to `consumer` (which already consumes `queue`). */
async function sendAndReceive(producer: ClientSocket, consumer: ClientSocket, queue: string, data: unknown) {
  const arrival = nextEvent(consumer, "queue:message");
  expect(await command(producer, "queue:send", { queue, data })).toMatchObject({ ok: true, duplicate: false });
  const [delivery] = (await arrival) as [Delivery];
  expect(delivery).toMatchObject({ queue, data, attempt: 1 });
  return delivery;
}

/** The socket that was sent bad input is still connected and served, and so is a new one on the node. */
async function expectStillServing(node: NodeHandle, socket: ClientSocket): Promise<void> {
  expect(socket.connected).toBe(true);
  const other = await connectSocket(node.url);
  for (const [producer, consumer, queue] of [
    [socket, other, "after-1"],
    [other, socket, "after-2"],
  ] as const) {
    await consume(consumer, queue);
    const delivery = await sendAndReceive(producer, consumer, queue, { up: true });
    expect(await command(consumer, "queue:ack", { queue, receipt: delivery.receipt })).toEqual({
      ok: true,
      acked: 1,
      stale: [],
    });
  }
}

const badRequest = (what: string, ...args: unknown[]): Row => ({ what, args, code: "BAD_REQUEST" });

/** An object with an own `__proto__` key, as JSON can carry it: a prototype-pollution probe. */
const withOwnProto = (fields: object): object =>
  JSON.parse(JSON.stringify(fields).replace(/^\{/, '{"__proto__":{"polluted":true},'));

/** JSON data of `bytes` bytes exactly: `{"text":"xx…"}`. */
function jsonOfBytes(bytes: number): { text: string } {
  return { text: "x".repeat(bytes - JSON.stringify({ text: "" }).length) };
}

/** `count` headers `h0`…: string to string. */
function headersOf(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`h${index}`, "v"]));
}

/** Arguments that are not one object of the right shape, shared by every queue command. */
function notOneObject(valid: object): Row[] {
  return [
    badRequest("a string argument", QUEUE),
    badRequest("a number argument", 42),
    badRequest("a null argument", null),
    badRequest("a boolean argument", true),
    badRequest("an array argument", [valid]),
    badRequest("a binary argument", Buffer.from(QUEUE)),
    badRequest("an empty object", {}),
    badRequest("two arguments", valid, valid),
    badRequest("no argument at all"),
  ];
}

/** Queue values of the wrong type. */
const WRONG_QUEUE_TYPES: [string, unknown][] = [
  ["queue as a number", 42],
  ["queue as null", null],
  ["queue as an array", [QUEUE]],
  ["queue as an object", { name: QUEUE }],
  ["queue as a boolean", true],
  ["queue as binary", Buffer.from(QUEUE)],
];

/** Queue names that break the rule of docs/protocol.md §1: 1–124 chars of [A-Za-z0-9_.:-], first alphanumeric. */
const INVALID_QUEUES: [string, string][] = [
  ["an empty queue", ""],
  ["a queue starting with a dot", ".jobs"],
  ["a queue starting with a dash", "-jobs"],
  ["a queue starting with an underscore", "_jobs"],
  ["a queue starting with a colon", ":jobs"],
  ["a queue of 125 chars", "q".repeat(125)],
  ["a queue of 10,000 chars", "q".repeat(10_000)],
  ["a queue holding a space", "my jobs"],
  ["a queue holding a slash", "jobs/eu"],
  ["a queue holding a brace (a Redis hash tag)", "jobs{1}"],
  ["a queue holding a star (a Redis glob)", "jobs*"],
  ["a queue holding a newline", "jobs\n"],
  ["a queue holding U+0000", "jobs\u0000"],
  ["a queue holding é", "tâches"],
  ["a queue that is an emoji", "🎉"],
];

/** The rows about `queue` of a command whose other fields are `valid`'s. */
function queueRows(valid: object): Row[] {
  const { queue: _queue, ...withoutQueue } = valid as { queue: string };
  return [
    ...WRONG_QUEUE_TYPES.map(([what, queue]) => badRequest(what, { ...valid, queue })),
    badRequest("queue missing", withoutQueue),
    badRequest("a wrong type and an invalid name at once (shape first)", { ...valid, queue: ["-"] }),
    ...INVALID_QUEUES.map(([what, queue]): Row => ({ what, args: [{ ...valid, queue }], code: "INVALID_NAME" })),
  ];
}

/** The fields every command refuses as unknown (docs/protocol.md, "Mailroom's choices"). */
function unknownFieldRows(valid: object): Row[] {
  return [
    badRequest("an extra field", { ...valid, extra: 1 }),
    badRequest("an extra field set to null", { ...valid, extra: null }),
    badRequest("an own __proto__ field", withOwnProto(valid)),
  ];
}

/** Wrong types and both sides of the range for an integer field: `[what, value]`. */
function integerValues(field: string, minimum: number, maximum: number): [string, unknown][] {
  return [
    [`${field} as a string`, String(minimum)],
    [`${field} as a float`, minimum + 0.5],
    [`${field} negative`, -5],
    [`${field} one below its range (${minimum - 1})`, minimum - 1],
    [`${field} one above its range (${maximum + 1})`, maximum + 1],
    [`${field} as null`, null],
    [`${field} as a boolean`, true],
    [`${field} as an array`, [minimum]],
    [`${field} as 1e300`, 1e300],
  ];
}

/** Message fields of the wrong shape: `[what, fields]`, merged into a valid message. */
const BAD_MESSAGE_FIELDS: [string, object][] = [
  ["id as a number", { id: 42 }],
  ["id as null", { id: null }],
  ["id as an array", { id: ["m1"] }],
  ["id as an object", { id: { id: "m1" } }],
  ["headers as a string", { headers: "a=b" }],
  ["headers as a number", { headers: 1 }],
  ["headers as null", { headers: null }],
  ["headers as an array", { headers: ["a", "b"] }],
  ["headers as binary", { headers: Buffer.from("ab") }],
  ["a header value as a number", { headers: { a: 1 } }],
  ["a header value as null", { headers: { a: null } }],
  ["a header value as an object", { headers: { a: { b: "c" } } }],
  ["a header value as an array", { headers: { a: ["b"] } }],
  ["a header value as a boolean", { headers: { a: true } }],
  ["65 headers", { headers: headersOf(QUEUE_LIMITS.maxHeaders + 1) }],
  ["headers of 8193 bytes together (one long value)", { headers: { h: "x".repeat(QUEUE_LIMITS.maxHeaderBytes) } }],
  ["headers of 8193 bytes together (4097 chars, é counts 2)", { headers: { h: "é".repeat(4096) } }],
  ["headers of 8193 bytes together (names count too)", { headers: { ["n".repeat(4096)]: "v".repeat(4097) } }],
  ...[
    ...integerValues("delayMs", 0, QUEUE_LIMITS.maxDelayMs),
    ...integerValues("ttlMs", QUEUE_LIMITS.minTtlMs, QUEUE_LIMITS.maxTtlMs),
    ...integerValues("maxAttempts", QUEUE_LIMITS.minMaxAttempts, QUEUE_LIMITS.maxMaxAttempts),
    ...integerValues("priority", QUEUE_LIMITS.minPriority, QUEUE_LIMITS.maxPriority),
  ].map(([what, value]): [string, object] => [what, { [what.split(" ")[0] as string]: value }]),
  ["a group that is no string", { group: 7 }],
  ["an unknown field", { prio: 5 }],
  ["an unknown field (a receipt)", { receipt: "r" }],
];

/** Message ids that break the rule of docs/protocol.md §1: 1–128 chars of [A-Za-z0-9_.:-]. */
const INVALID_IDS: [string, string][] = [
  ["an empty id", ""],
  ["an id of 129 chars", "i".repeat(129)],
  ["an id holding a space", "order 17"],
  ["an id holding a hash", "order#17"],
  ["an id holding a slash", "order/17"],
  ["an id holding a brace", "order{17}"],
  ["an id holding a newline", "order\n"],
  ["an id holding é", "commandé"],
];

/** Data over the maximum: `[what, data]`. */
const OVERSIZE_DATA: [string, unknown][] = [
  ["JSON data one byte over the maximum", jsonOfBytes(MAX_MESSAGE_BYTES + 1)],
  ["2000 bytes of JSON data", jsonOfBytes(2000)],
  ["512 × é: 514 chars but 1026 bytes of JSON", "é".repeat(512)],
  ["a JSON array of 1025 bytes", Array.from({ length: 512 }, () => 0)],
  ["binary data one byte over the maximum", Buffer.alloc(MAX_MESSAGE_BYTES + 1)],
  ["a Uint8Array of 2000 bytes", new Uint8Array(2000)],
];

const VALID_SEND = { queue: QUEUE, data: { n: 1 } };

/** The rows of `queue:send`. */
function sendRows(): Row[] {
  const send = (fields: object) => ({ ...VALID_SEND, ...fields });
  const named = (code: RefusalCode, what: string, fields: object): Row => ({ what, args: [send(fields)], code });
  const { data: _data, ...withoutData } = VALID_SEND;
  return [
    ...queueRows(VALID_SEND),
    badRequest("data missing (null is a value, absence is not)", withoutData),
    ...BAD_MESSAGE_FIELDS.map(([what, fields]) => badRequest(what, send(fields))),
    badRequest("messages (a batch field)", send({ messages: [{ data: 1 }] })),
    ...unknownFieldRows(VALID_SEND),
    ...notOneObject(VALID_SEND),
    badRequest("an invalid queue and delayMs out of range (shape first)", send({ queue: "", delayMs: -1 })),
    badRequest("an invalid id and ttlMs out of range (shape first)", send({ id: "", ttlMs: 999 })),
    badRequest("oversize data and maxAttempts 0 (shape first)", send({ data: jsonOfBytes(2000), maxAttempts: 0 })),
    ...INVALID_IDS.map(([what, id]) => named("INVALID_NAME", what, { id })),
    ...INVALID_IDS.map(([what, group]) => named("INVALID_NAME", `a group: ${what}`, { group })),
    named("INVALID_NAME", "an invalid queue and oversize data (names before size)", {
      queue: "",
      data: jsonOfBytes(2000),
    }),
    named("INVALID_NAME", "an invalid id and oversize data (names before size)", {
      id: "a b",
      data: jsonOfBytes(2000),
    }),
    ...OVERSIZE_DATA.map(([what, data]) => named("PAYLOAD_TOO_LARGE", what, { data })),
    named("PAYLOAD_TOO_LARGE", "oversize data with an id, headers and a delay", {
      id: "big",
      headers: { a: "b" },
      delayMs: 10,
      data: jsonOfBytes(2000),
    }),
  ];
}

const VALID_BATCH = { queue: QUEUE, messages: [{ data: 1 }] };

/** The rows of `queue:sendBatch`: the second of two messages is the bad one, so all or nothing shows. */
function sendBatchRows(): Row[] {
  const batch = (...messages: unknown[]) => ({ queue: QUEUE, messages });
  const secondIs = (message: object) => batch({ data: "first", id: "first" }, message);
  const named = (code: RefusalCode, what: string, messages: unknown[]): Row => ({
    what,
    args: [batch(...messages)],
    code,
  });
  return [
    ...queueRows(VALID_BATCH),
    badRequest("messages missing", { queue: QUEUE }),
    badRequest("messages as an object", { queue: QUEUE, messages: { data: 1 } }),
    badRequest("messages as a string", { queue: QUEUE, messages: "[]" }),
    badRequest("messages as null", { queue: QUEUE, messages: null }),
    badRequest("messages as binary", { queue: QUEUE, messages: Buffer.from("[]") }),
    badRequest("messages empty", batch()),
    badRequest("1001 messages", batch(...Array.from({ length: QUEUE_LIMITS.maxBatch + 1 }, () => ({ data: 0 })))),
    badRequest("a message as a number", batch({ data: 1 }, 42)),
    badRequest("a message as null", batch({ data: 1 }, null)),
    badRequest("a message as an array", batch({ data: 1 }, [{ data: 2 }])),
    badRequest("a message as a string", batch({ data: 1 }, "data")),
    badRequest("a message without data", secondIs({ id: "second" })),
    badRequest("an empty message", secondIs({})),
    ...BAD_MESSAGE_FIELDS.map(([what, fields]) =>
      badRequest(`a message with ${what}`, secondIs({ data: 2, ...fields })),
    ),
    badRequest("a message with a queue field", secondIs({ data: 2, queue: QUEUE })),
    badRequest("data at the top level", { ...VALID_BATCH, data: 1 }),
    ...unknownFieldRows(VALID_BATCH),
    ...notOneObject(VALID_BATCH),
    badRequest("an invalid queue and no messages (shape first)", { queue: "", messages: [] }),
    badRequest(
      "an invalid id in one message and delayMs out of range in another (shape first)",
      batch({ data: 1, id: "a b" }, { data: 2, delayMs: -1 }),
    ),
    ...INVALID_IDS.map(([what, id]) =>
      named("INVALID_NAME", `${what} in the second message`, [{ data: 1 }, { data: 2, id }]),
    ),
    named("INVALID_NAME", "an invalid id in the last of 1000 messages", [
      ...Array.from({ length: QUEUE_LIMITS.maxBatch - 1 }, () => ({ data: 0 })),
      { data: 0, id: "#last" },
    ]),
    named("INVALID_NAME", "an oversize first message and an invalid id in the second (names before size)", [
      { data: jsonOfBytes(2000) },
      { data: 2, id: "a b" },
    ]),
    ...OVERSIZE_DATA.map(([what, data]) =>
      named("PAYLOAD_TOO_LARGE", `${what} in the second message`, [{ data: 1 }, { data }]),
    ),
    named("PAYLOAD_TOO_LARGE", "two messages of 600 bytes (each under, together over)", [
      { data: jsonOfBytes(600) },
      { data: jsonOfBytes(600) },
    ]),
    named("PAYLOAD_TOO_LARGE", "two binary messages of 513 bytes", [
      { data: Buffer.alloc(513) },
      { data: Buffer.alloc(513) },
    ]),
    named(
      "PAYLOAD_TOO_LARGE",
      "1000 messages of 2 bytes (2000 in total)",
      Array.from({ length: QUEUE_LIMITS.maxBatch }, () => ({ data: 10 })),
    ),
  ];
}

const VALID_CONSUME = { queue: QUEUE };

/** The rows of `queue:consume`. */
function consumeRows(): Row[] {
  return [
    ...queueRows(VALID_CONSUME),
    ...[
      ...integerValues("prefetch", QUEUE_LIMITS.minPrefetch, QUEUE_LIMITS.maxPrefetch),
      ...integerValues("visibilityMs", QUEUE_LIMITS.minVisibilityMs, QUEUE_LIMITS.maxVisibilityMs),
    ].map(([what, value]) => badRequest(what, { ...VALID_CONSUME, [what.split(" ")[0] as string]: value })),
    badRequest("an invalid queue and prefetch 0 (shape first)", { queue: "", prefetch: 0 }),
    badRequest("a consumer field", { ...VALID_CONSUME, consumer: "c-1" }),
    badRequest("batch as a string", { ...VALID_CONSUME, batch: "yes" }),
    badRequest("batch as a number", { ...VALID_CONSUME, batch: 1 }),
    badRequest("a maxAttempts field (a send field)", { ...VALID_CONSUME, maxAttempts: 3 }),
    ...unknownFieldRows(VALID_CONSUME),
    ...notOneObject(VALID_CONSUME),
  ];
}

/** The rows of `queue:cancel` that are refused for their shape. */
function cancelRows(consumer: string): Row[] {
  return [
    badRequest("consumer as a number", { consumer: 42 }),
    badRequest("consumer as null", { consumer: null }),
    badRequest("consumer as an array", { consumer: [consumer] }),
    badRequest("consumer as an object", { consumer: { id: consumer } }),
    badRequest("consumer as a boolean", { consumer: true }),
    badRequest("consumer missing", {}),
    badRequest("consumer of 129 chars", { consumer: "c".repeat(129) }),
    badRequest("a queue field", { consumer, queue: QUEUE }),
    ...unknownFieldRows({ consumer }),
    ...notOneObject({ consumer }).filter((row) => row.what !== "an empty object"),
  ];
}

/** Receipt values of the wrong shape: `[what, receipt]`. */
const WRONG_RECEIPTS: [string, unknown][] = [
  ["receipt as a number", 42],
  ["receipt as null", null],
  ["receipt as an array", ["r"]],
  ["receipt as an object", { receipt: "r" }],
  ["receipt as a boolean", true],
  ["receipt as an empty string", ""],
];

/** The rows of `queue:ack`, aimed at the live receipt `receipt`. */
function ackRows(receipt: string): Row[] {
  const valid = { queue: QUEUE, receipt };
  return [
    ...queueRows(valid),
    ...queueRows({ queue: QUEUE, receipts: [receipt] }).filter((row) => row.code === "BAD_REQUEST"),
    ...WRONG_RECEIPTS.map(([what, value]) => badRequest(what, { queue: QUEUE, receipt: value })),
    badRequest("receipt and receipts missing", { queue: QUEUE }),
    badRequest("receipt and receipts both present", { queue: QUEUE, receipt, receipts: [receipt] }),
    badRequest("receipts as a string", { queue: QUEUE, receipts: receipt }),
    badRequest("receipts as an object", { queue: QUEUE, receipts: { 0: receipt } }),
    badRequest("receipts as null", { queue: QUEUE, receipts: null }),
    badRequest("receipts empty", { queue: QUEUE, receipts: [] }),
    badRequest("1001 receipts", {
      queue: QUEUE,
      receipts: [receipt, ...Array.from({ length: QUEUE_LIMITS.maxBatch }, (_, index) => `r-${index}`)],
    }),
    ...WRONG_RECEIPTS.map(([what, value]) =>
      badRequest(`receipts holding ${what}`, { queue: QUEUE, receipts: [receipt, value] }),
    ),
    badRequest("receipts holding an array", { queue: QUEUE, receipts: [[receipt]] }),
    badRequest("a requeue field (a nack field)", { ...valid, requeue: false }),
    ...unknownFieldRows(valid),
    ...notOneObject(valid),
    badRequest("an invalid queue and receipts empty (shape first)", { queue: "", receipts: [] }),
  ];
}

/** The rows of `queue:nack` that are refused before the store, aimed at the live receipt `receipt`. */
function nackRows(receipt: string): Row[] {
  const valid = { queue: QUEUE, receipt };
  const { receipt: _receipt, ...withoutReceipt } = valid;
  return [
    ...queueRows(valid),
    ...WRONG_RECEIPTS.map(([what, value]) => badRequest(what, { ...valid, receipt: value })),
    badRequest("receipt missing", withoutReceipt),
    badRequest("receipts instead of receipt", { queue: QUEUE, receipts: [receipt] }),
    badRequest("receipt and receipts both present", { ...valid, receipts: [receipt] }),
    badRequest("requeue as a string", { ...valid, requeue: "false" }),
    badRequest("requeue as a number", { ...valid, requeue: 0 }),
    badRequest("requeue as null", { ...valid, requeue: null }),
    badRequest("requeue as an object", { ...valid, requeue: {} }),
    ...integerValues("delayMs", 0, QUEUE_LIMITS.maxDelayMs).map(([what, delayMs]) =>
      badRequest(what, { ...valid, delayMs }),
    ),
    badRequest("a visibilityMs field (an extend field)", { ...valid, visibilityMs: 5000 }),
    ...unknownFieldRows(valid),
    ...notOneObject(valid),
    badRequest("an invalid queue and requeue as a string (shape first)", { ...valid, queue: "", requeue: "no" }),
  ];
}

/** The rows of `queue:extend` that are refused before the store, aimed at the live receipt `receipt`. */
function extendRows(receipt: string): Row[] {
  const valid = { queue: QUEUE, receipt, visibilityMs: 60_000 };
  const { receipt: _receipt, ...withoutReceipt } = valid;
  return [
    ...queueRows(valid),
    ...WRONG_RECEIPTS.map(([what, value]) => badRequest(what, { ...valid, receipt: value })),
    badRequest("receipt missing", withoutReceipt),
    badRequest("visibilityMs missing", { queue: QUEUE, receipt }),
    ...integerValues("visibilityMs", QUEUE_LIMITS.minVisibilityMs, QUEUE_LIMITS.maxVisibilityMs).map(
      ([what, visibilityMs]) => badRequest(what, { ...valid, visibilityMs }),
    ),
    badRequest("receipts instead of receipt", { queue: QUEUE, receipts: [receipt], visibilityMs: 60_000 }),
    badRequest("a requeue field (a nack field)", { ...valid, requeue: true }),
    badRequest("a delayMs field", { ...valid, delayMs: 0 }),
    ...unknownFieldRows(valid),
    ...notOneObject(valid),
    badRequest("an invalid queue and visibilityMs 999 (shape first)", { ...valid, queue: "", visibilityMs: 999 }),
  ];
}

/** The rows of a command whose argument is `{ queue }`: stats, purge and redrive. */
function queueOnlyRows(): Row[] {
  return [
    ...queueRows({ queue: QUEUE }),
    badRequest("a messages field", { queue: QUEUE, messages: [] }),
    badRequest("a data field", { queue: QUEUE, data: 1 }),
    ...unknownFieldRows({ queue: QUEUE }),
    ...notOneObject({ queue: QUEUE }),
  ];
}

/** Receipts that match no lease: `[what, receipt]`. The malformed ones never were receipts at all. */
function unknownReceipts(acked: string): [string, string][] {
  return [
    ["a malformed receipt", "nonsense"],
    ["a receipt of one char", "r"],
    ["a receipt of 512 chars", "r".repeat(512)],
    ["a receipt of unicode", "reçu 🎉"],
    ["a well-formed receipt changed in its last char", `${acked.slice(0, -1)}${acked.endsWith("0") ? "1" : "0"}`],
    ["a receipt that was already acked", acked],
  ];
}

/** Whether `event` reaches the socket within `ms`: for asserting that something does not happen. */
function arrivesWithin(socket: ClientSocket, event: string, ms: number): Promise<boolean> {
  return nextEvent(socket, event, ms).then(
    () => true,
    () => false,
  );
}

const EMPTY_STATS = { ok: true, ready: 0, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 };

describe("queue commands given bad input", () => {
  it("answers every malformed queue:send and queue:sendBatch with the contract's code, stores nothing and keeps serving", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);

    await expectRefusals(socket, "queue:send", sendRows());
    await expectRefusals(socket, "queue:sendBatch", sendBatchRows());

    // Not one message of a refused send or batch was stored, not even the valid first of a batch.
    expect(await stats(socket, QUEUE)).toEqual(EMPTY_STATS);
    expect(await command(socket, "queue:send", { queue: QUEUE, data: "second", id: "second" })).toEqual({
      ok: true,
      id: "second",
      duplicate: false,
    });
    expect(await command(socket, "queue:send", { queue: QUEUE, data: "first", id: "first" })).toEqual({
      ok: true,
      id: "first",
      duplicate: false,
    });
    expect(await stats(socket, QUEUE)).toEqual({ ...EMPTY_STATS, ready: 2 });
    await expectStillServing(node, socket);
  });

  it("answers every malformed queue:consume and queue:cancel with the contract's code, and NOT_FOUND for a consumer not its own", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const owner = await connectSocket(node.url);
    const ownerGot = collect(owner, "queue:message");
    const socketGot = collect(socket, "queue:message");
    const foreign = await consume(owner, QUEUE);
    const cancelled = await consume(socket, "elsewhere");
    expect(await command(socket, "queue:cancel", { consumer: cancelled })).toEqual({ ok: true });

    await expectRefusals(socket, "queue:consume", consumeRows());
    await expectRefusals(socket, "queue:cancel", [
      ...cancelRows(foreign),
      ...[
        ["an unknown consumer", "c-0000000000000000"],
        ["an empty consumer", ""],
        ["a consumer of 128 chars", "c".repeat(128)],
        ["another socket's consumer", foreign],
        ["a consumer already cancelled", cancelled],
      ].map(([what, consumer]): Row => ({ what: what as string, args: [{ consumer }], code: "NOT_FOUND" })),
    ]);

    // No refused consume registered a consumer, and the other socket's consumer still receives.
    expect(await stats(socket, QUEUE)).toEqual({ ...EMPTY_STATS, consumers: 1 });
    const delivery = await sendAndReceive(socket, owner, QUEUE, "for the owner");
    expect(delivery.consumer).toBe(foreign);
    expect(await command(owner, "queue:ack", { queue: QUEUE, receipt: delivery.receipt })).toEqual({
      ok: true,
      acked: 1,
      stale: [],
    });
    expect(ownerGot).toHaveLength(1);
    expect(socketGot).toEqual([]);
    await expectStillServing(node, socket);
  });

  it("answers every malformed queue:ack, queue:nack and queue:extend with the contract's code, NOT_FOUND or stale for receipts with no lease, and leaves the lease alone", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    await consume(socket, QUEUE);
    const first = await sendAndReceive(socket, socket, QUEUE, "acked");
    expect(await command(socket, "queue:ack", { queue: QUEUE, receipt: first.receipt })).toEqual({
      ok: true,
      acked: 1,
      stale: [],
    });
    // The live lease every malformed command aims at: one that ran would end or move it.
    const held = await sendAndReceive(socket, socket, QUEUE, "held");

    await expectRefusals(socket, "queue:ack", ackRows(held.receipt));
    await expectRefusals(socket, "queue:nack", [
      ...nackRows(held.receipt),
      {
        what: "requeue false and a held receipt on an invalid queue",
        args: [{ queue: "", receipt: held.receipt, requeue: false }],
        code: "INVALID_NAME",
      },
    ]);
    await expectRefusals(socket, "queue:extend", extendRows(held.receipt));

    const unknown = unknownReceipts(first.receipt);
    const notFound = (what: string, fields: object): Row => ({ what, args: [fields], code: "NOT_FOUND" });
    await expectRefusals(socket, "queue:nack", [
      ...unknown.map(([what, receipt]) => notFound(what, { queue: QUEUE, receipt })),
      ...unknown.map(([what, receipt]) =>
        notFound(`${what}, requeue false`, { queue: QUEUE, receipt, requeue: false }),
      ),
      ...unknown.map(([what, receipt]) => notFound(`${what}, with a delay`, { queue: QUEUE, receipt, delayMs: 1000 })),
      notFound("the held receipt on another queue", { queue: "other", receipt: held.receipt, requeue: false }),
      notFound("the held receipt on its dead-letter queue", { queue: `${QUEUE}.dlq`, receipt: held.receipt }),
    ]);
    await expectRefusals(socket, "queue:extend", [
      ...unknown.map(([what, receipt]) => notFound(what, { queue: QUEUE, receipt, visibilityMs: 1000 })),
      notFound("the held receipt on another queue", { queue: "other", receipt: held.receipt, visibilityMs: 1000 }),
    ]);

    // queue:ack lists receipts with no lease in `stale` instead of refusing them.
    for (const [what, receipt] of unknown) {
      expect(await command(socket, "queue:ack", { queue: QUEUE, receipt }), `queue:ack with ${what}`).toEqual({
        ok: true,
        acked: 0,
        stale: [receipt],
      });
    }
    const receipts = unknown.map(([, receipt]) => receipt);
    expect(await command(socket, "queue:ack", { queue: QUEUE, receipts }), "queue:ack with every one").toEqual({
      ok: true,
      acked: 0,
      stale: receipts,
    });
    expect(
      await command(socket, "queue:ack", { queue: "other", receipt: held.receipt }),
      "ack on another queue",
    ).toEqual({
      ok: true,
      acked: 0,
      stale: [held.receipt],
    });

    // The held lease is untouched: still in flight, not requeued, extended to 1 s or dead-lettered.
    expect(await stats(socket, QUEUE)).toEqual({ ...EMPTY_STATS, inflight: 1, consumers: 1 });
    expect(await stats(socket, "other")).toEqual(EMPTY_STATS);
    expect(await command(socket, "queue:ack", { queue: QUEUE, receipts: [held.receipt, first.receipt] })).toEqual({
      ok: true,
      acked: 1,
      stale: [first.receipt],
    });
    expect(await stats(socket, QUEUE)).toEqual({ ...EMPTY_STATS, consumers: 1 });
    await expectStillServing(node, socket);
  });

  it.each(["queue:stats", "queue:purge", "queue:redrive"])(
    "answers every malformed %s with the contract's code, changes nothing and keeps serving",
    async (event) => {
      const node = await oneNode();
      const socket = await connectSocket(node.url);
      // A ready message and a dead letter: a refused purge or redrive that ran would move one of them.
      for (const queue of [QUEUE, `${QUEUE}.dlq`]) {
        expect(await command(socket, "queue:send", { queue, data: queue })).toMatchObject({ ok: true });
      }

      await expectRefusals(socket, event, queueOnlyRows());

      expect(await stats(socket, QUEUE)).toEqual({ ...EMPTY_STATS, ready: 1, deadLettered: 1 });
      expect(await stats(socket, `${QUEUE}.dlq`)).toEqual({ ...EMPTY_STATS, ready: 1 });
      await expectStillServing(node, socket);
    },
  );

  it("answers each queue command sent without an acknowledgement with mailroom:error and does not run it", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const consumer = await consume(socket, QUEUE);
    const held = await sendAndReceive(socket, socket, QUEUE, "held");
    expect(await command(socket, "queue:send", { queue: QUEUE, data: "waiting" })).toMatchObject({ ok: true });
    expect(await command(socket, "queue:send", { queue: `${QUEUE}.dlq`, data: "dead" })).toMatchObject({ ok: true });
    const before = { ...EMPTY_STATS, ready: 1, inflight: 1, deadLettered: 1, consumers: 1 };
    expect(await stats(socket, QUEUE)).toEqual(before);
    const got = collect(socket, "queue:message");
    const sends: [string, unknown[]][] = [
      ["queue:send", [{ queue: QUEUE, data: "no callback" }]],
      ["queue:sendBatch", [{ queue: QUEUE, messages: [{ data: 1 }, { data: 2 }] }]],
      ["queue:consume", [{ queue: QUEUE, prefetch: 5 }]],
      ["queue:cancel", [{ consumer }]],
      ["queue:ack", [{ queue: QUEUE, receipt: held.receipt }]],
      ["queue:ack", [{ queue: QUEUE, receipts: [held.receipt] }]],
      ["queue:nack", [{ queue: QUEUE, receipt: held.receipt, requeue: false }]],
      ["queue:extend", [{ queue: QUEUE, receipt: held.receipt, visibilityMs: 1000 }]],
      ["queue:stats", [{ queue: QUEUE }]],
      ["queue:purge", [{ queue: QUEUE }]],
      ["queue:redrive", [{ queue: QUEUE }]],
      ["queue:send", []],
      ["queue:send", [42]],
      ["queue:send", [{ queue: 42, data: 1 }]],
      ["queue:send", [{ queue: "", data: 1 }]],
      ["queue:send", [{ queue: QUEUE, data: jsonOfBytes(2000) }]],
      ["queue:consume", [{ queue: QUEUE }, { queue: QUEUE }]],
      ["queue:nack", [{ queue: QUEUE, receipt: "nonsense" }]],
    ];

    for (const [event, args] of sends) {
      const error = nextEvent(socket, "mailroom:error");
      socket.emit(event, ...args);
      expect(await error, `${event} with ${JSON.stringify(args).slice(0, 80)} and no callback`).toEqual([
        { event, error: { code: "BAD_REQUEST", message: expect.any(String) } },
      ]);
    }

    // Nothing ran: no message stored, purged, redriven or dead-lettered; no consumer added or cancelled;
    // the lease neither ended nor shortened. The held receipt still acks, and the consumer then takes the next.
    expect(await stats(socket, QUEUE)).toEqual(before);
    const next = nextEvent(socket, "queue:message");
    expect(await command(socket, "queue:ack", { queue: QUEUE, receipt: held.receipt })).toEqual({
      ok: true,
      acked: 1,
      stale: [],
    });
    expect(await next).toEqual([expect.objectContaining({ consumer, data: "waiting", attempt: 1 })]);
    expect(got).toHaveLength(1);
    await expectStillServing(node, socket);
  });

  it("accepts every valid boundary: ranges at both ends, 124-char queues, 128-char ids, 64 headers, 8 KiB of headers, exactly the maximum size, 1000 messages and receipts", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const sends: [string, object][] = [
      ["delayMs 0", { delayMs: 0 }],
      ["delayMs 604800000", { delayMs: QUEUE_LIMITS.maxDelayMs }],
      ["ttlMs 1000", { ttlMs: QUEUE_LIMITS.minTtlMs }],
      ["ttlMs 1209600000", { ttlMs: QUEUE_LIMITS.maxTtlMs }],
      ["maxAttempts 1", { maxAttempts: QUEUE_LIMITS.minMaxAttempts }],
      ["maxAttempts 1000", { maxAttempts: QUEUE_LIMITS.maxMaxAttempts }],
      ["empty headers", { headers: {} }],
    ];
    for (const [what, fields] of sends) {
      const reply = await command(socket, "queue:send", { queue: "bounds", data: what, ...fields });
      expect(reply, `queue:send with ${what}`).toEqual({ ok: true, id: expect.any(String), duplicate: false });
    }
    // delayMs 604800000 waits a week; the others are ready (ttlMs 1000 may lapse, so count loosely).
    const bounds = await stats(socket, "bounds");
    expect(bounds.delayed).toBe(1);
    expect(bounds.ready).toBeGreaterThanOrEqual(sends.length - 2);

    // Each edge of a message, sent and received back as it was.
    const longQueue = `Q${"q".repeat(122)}9`;
    const edges: [string, Record<string, unknown>][] = [
      ["a 128-char id", { id: `I${"i".repeat(126)}9`, data: 1 }],
      ["an id of every allowed kind of char", { id: "Az09_.:-", data: 2 }],
      ["64 headers", { headers: headersOf(QUEUE_LIMITS.maxHeaders), data: 3 }],
      ["headers of exactly 8192 bytes", { headers: { h: `${"é".repeat(4095)}x` }, data: 4 }],
      ["JSON data of exactly 1024 bytes", { data: jsonOfBytes(MAX_MESSAGE_BYTES) }],
      ["511 × é: 1024 bytes of JSON", { data: "é".repeat(511) }],
      ["binary data of exactly 1024 bytes", { data: Buffer.alloc(MAX_MESSAGE_BYTES, 7) }],
      ["1024 bytes of data and 8192 bytes of headers", { data: jsonOfBytes(1024), headers: { h: "x".repeat(8191) } }],
      ["null data", { data: null }],
      ["empty-string data", { data: "" }],
    ];
    await consume(socket, longQueue, 1);
    for (const [what, message] of edges) {
      const arrival = nextEvent(socket, "queue:message");
      const reply = await command(socket, "queue:send", { queue: longQueue, ...message });
      expect(reply, `queue:send with ${what}`).toEqual({
        ok: true,
        id: (message.id as string | undefined) ?? expect.any(String),
        duplicate: false,
      });
      const [delivery] = (await arrival) as [Delivery];
      expect(delivery, `the delivery of ${what}`).toMatchObject({
        queue: longQueue,
        id: reply.id,
        headers: message.headers ?? {},
        attempt: 1,
      });
      if (Buffer.isBuffer(message.data)) expect(Buffer.compare(delivery.data as Buffer, message.data)).toBe(0);
      else expect(delivery.data, `the data of ${what}`).toEqual(message.data);
      expect(await command(socket, "queue:ack", { queue: longQueue, receipt: delivery.receipt })).toEqual({
        ok: true,
        acked: 1,
        stale: [],
      });
    }

    // A batch of 1000 one-byte messages (1000 bytes), and one of exactly the maximum in total.
    const thousand = await command(socket, "queue:sendBatch", {
      queue: "batch",
      messages: Array.from({ length: QUEUE_LIMITS.maxBatch }, () => ({ data: 0 })),
    });
    expect(thousand.ok, "a batch of 1000").toBe(true);
    expect(thousand.results).toHaveLength(QUEUE_LIMITS.maxBatch);
    const exact = await command(socket, "queue:sendBatch", {
      queue: "batch",
      messages: [{ data: jsonOfBytes(512) }, { data: Buffer.alloc(512) }],
    });
    expect(exact, "a batch of exactly 1024 bytes").toEqual({
      ok: true,
      results: [
        { id: expect.any(String), duplicate: false },
        { id: expect.any(String), duplicate: false },
      ],
    });
    expect(await stats(socket, "batch")).toEqual({ ...EMPTY_STATS, ready: QUEUE_LIMITS.maxBatch + 2 });

    // 1000 receipts in one ack (none current: all stale), and the consume ranges at both ends.
    const receipts = Array.from({ length: QUEUE_LIMITS.maxBatch }, (_, index) => `r-${index}`);
    expect(await command(socket, "queue:ack", { queue: "batch", receipts })).toEqual({
      ok: true,
      acked: 0,
      stale: receipts,
    });
    for (const [what, options] of [
      ["prefetch 1", { prefetch: QUEUE_LIMITS.minPrefetch }],
      ["prefetch 1000", { prefetch: QUEUE_LIMITS.maxPrefetch }],
      ["visibilityMs 1000", { visibilityMs: QUEUE_LIMITS.minVisibilityMs }],
      ["visibilityMs 43200000", { visibilityMs: QUEUE_LIMITS.maxVisibilityMs }],
    ] as const) {
      const reply = await command(socket, "queue:consume", { queue: "idle", ...options });
      expect(reply, `queue:consume with ${what}`).toMatchObject({ ok: true, consumer: expect.any(String) });
      expect(await command(socket, "queue:cancel", { consumer: reply.consumer })).toEqual({ ok: true });
    }

    // extend at both ends of its range, then nack with the longest delay: the message waits a week.
    await consume(socket, "leased");
    const held = await sendAndReceive(socket, socket, "leased", "held");
    for (const visibilityMs of [QUEUE_LIMITS.maxVisibilityMs, QUEUE_LIMITS.minVisibilityMs, 60_000]) {
      expect(
        await command(socket, "queue:extend", { queue: "leased", receipt: held.receipt, visibilityMs }),
        `queue:extend with visibilityMs ${visibilityMs}`,
      ).toEqual({ ok: true });
    }
    expect(
      await command(socket, "queue:nack", {
        queue: "leased",
        receipt: held.receipt,
        requeue: true,
        delayMs: QUEUE_LIMITS.maxDelayMs,
      }),
    ).toEqual({ ok: true, deadLettered: false });
    expect(await stats(socket, "leased")).toEqual({ ...EMPTY_STATS, delayed: 1, consumers: 1 });
    await expectStillServing(node, socket);
  });

  // Headers are part of the shape: their limits are BAD_REQUEST before any name is checked.
  it("refuses too many or too large headers as BAD_REQUEST even when a name is also invalid (shape first)", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const tooMany = headersOf(QUEUE_LIMITS.maxHeaders + 1);
    const tooLarge = { h: "x".repeat(QUEUE_LIMITS.maxHeaderBytes) };

    await expectRefusals(socket, "queue:send", [
      badRequest("an invalid queue and 65 headers", { queue: "", data: 1, headers: tooMany }),
      badRequest("an invalid id and 65 headers", { queue: QUEUE, id: "a b", data: 1, headers: tooMany }),
      badRequest("an invalid id and 8193 bytes of headers", { queue: QUEUE, id: "a b", data: 1, headers: tooLarge }),
    ]);
    await expectRefusals(socket, "queue:sendBatch", [
      badRequest("an invalid id in one message and 65 headers in the next", {
        queue: QUEUE,
        messages: [
          { data: 1, id: "a b" },
          { data: 2, headers: tooMany },
        ],
      }),
    ]);
  });

  // A held receipt sent with the wrong queue is stale (or NOT_FOUND): it must not free its consumer's slot.
  it.each([
    ["queue:ack", { queue: "other" }, { ok: true, acked: 0, stale: [expect.any(String)] }],
    ["queue:nack", { queue: "other", requeue: false }, refusal("NOT_FOUND")],
  ] as const)(
    "%s of a held receipt on another queue changes nothing: the consumer still holds at most prefetch deliveries",
    async (event, fields, expected) => {
      const node = await oneNode();
      const socket = await connectSocket(node.url);
      const batch = { queue: QUEUE, messages: [{ data: "held" }, { data: "waiting" }] };
      expect(await command(socket, "queue:sendBatch", batch)).toMatchObject({ ok: true });
      const first = nextEvent(socket, "queue:message");
      await consume(socket, QUEUE, 1);
      const [held] = (await first) as [Delivery];

      const next = arrivesWithin(socket, "queue:message", 2000);
      expect(await command(socket, event, { ...fields, receipt: held.receipt }), event).toEqual(expected);
      expect(await stats(socket, QUEUE), "stats after it").toEqual({
        ...EMPTY_STATS,
        ready: 1,
        inflight: 1,
        consumers: 1,
      });
      expect(await next, "a second delivery while the first is held, with prefetch 1").toBe(false);
    },
  );
});
