/**
 * Bad input to the room commands (docs/protocol.md §1, §3, §8; docs/protocol.md, "Mailroom's choices") on a real node over Redis:
 * every malformed argument, name, reserved event or oversize publish is answered with the contract's code
 * and changes nothing; a command without an acknowledgement gets `mailroom:error`; an unknown event gets
 * `NOT_FOUND`; and the node keeps serving the same socket and others. Valid edge names are accepted.
 */
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";

/** The node's size maximum: small, so that an oversize publish is cheap to send. */
const MAX_MESSAGE_BYTES = 1024;
/** The one valid room the malformed commands aim at, so a refused command that still ran would show. */
const ROOM = "target";

type RefusalCode = "BAD_REQUEST" | "INVALID_NAME" | "RESERVED_EVENT" | "PAYLOAD_TOO_LARGE";

/** One malformed command: what it is, the arguments sent before the callback, the code it must get. */
interface Row {
  what: string;
  args: unknown[];
  code: RefusalCode;
}

async function oneNode(): Promise<NodeHandle> {
  const redis = await startRedis();
  return startNode({
    redisUrl: redis.url,
    prefix: freshPrefix(),
    args: ["--max-message-bytes", String(MAX_MESSAGE_BYTES)],
  });
}

async function joined(url: string, room: string): Promise<ClientSocket> {
  const socket = await connectSocket(url);
  expect(await command(socket, "room:join", { room })).toMatchObject({ ok: true });
  return socket;
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

/** Every event a socket receives, whatever its name. */
function collectEverything(socket: ClientSocket): unknown[][] {
  const received: unknown[][] = [];
  socket.onAny((...args: unknown[]) => received.push(args));
  return received;
}

/** The socket that was sent bad input is still connected and served, and so is a new one on the node. */
async function expectStillServing(node: NodeHandle, socket: ClientSocket): Promise<void> {
  expect(socket.connected).toBe(true);
  const other = await connectSocket(node.url);
  expect(await command(socket, "room:join", { room: "after" })).toMatchObject({ ok: true });
  expect(await command(other, "room:join", { room: "after" })).toMatchObject({ ok: true });
  const arrival = nextEvent(other, "still-here");
  const reply = await command(socket, "room:publish", { room: "after", event: "still-here", data: { up: true } });
  expect(reply).toEqual({ ok: true, id: expect.any(String), offset: expect.any(Number), epoch: expect.any(String) });
  expect(await arrival).toEqual([
    { up: true },
    { room: "after", id: reply.id, ts: expect.any(Number), offset: expect.any(Number), epoch: expect.any(String) },
  ]);
  const members = await command(other, "room:members", { room: "after" });
  expect(members).toMatchObject({ ok: true, count: 2 });
}

const badRequest = (what: string, ...args: unknown[]): Row => ({ what, args, code: "BAD_REQUEST" });

/** An object with an own `__proto__` key, as JSON can carry it: a prototype-pollution probe. */
const withOwnProto = (fields: object): object =>
  JSON.parse(JSON.stringify(fields).replace(/^\{/, '{"__proto__":{"polluted":true},'));

/** Arguments that are not one object of the right shape, shared by every room command. */
const NOT_ONE_OBJECT: Row[] = [
  badRequest("a string argument", ROOM),
  badRequest("a number argument", 42),
  badRequest("a null argument", null),
  badRequest("a boolean argument", true),
  badRequest("an array argument", [{ room: ROOM }]),
  badRequest("a binary argument", Buffer.from(ROOM)),
  badRequest("two arguments", { room: ROOM }, { room: ROOM }),
  badRequest("no argument at all"),
];

/** Room values of the wrong type, given to a command whose other fields are valid. */
const WRONG_ROOM_TYPES: [string, unknown][] = [
  ["room as a number", 42],
  ["room as null", null],
  ["room as an array", [ROOM]],
  ["room as an object", { name: ROOM }],
  ["room as a boolean", true],
  ["room as binary", Buffer.from(ROOM)],
];

/** Room names that break the rule of docs/protocol.md §1: 1–256 UTF-8 bytes, no control characters (Cc). */
const INVALID_ROOMS: [string, string][] = [
  ["an empty room", ""],
  ["a room of 257 ASCII bytes", "r".repeat(257)],
  ["a room of 129 × é (258 UTF-8 bytes in 129 chars)", "é".repeat(129)],
  ["a room of 65 × 🎉 (260 UTF-8 bytes)", "🎉".repeat(65)],
  ["a room of 10,000 chars", "r".repeat(10_000)],
  ["a room that is U+0000", "\u0000"],
  ["a room holding U+0000", "lob\u0000by"],
  ["a room holding U+0085 (NEL)", "lobby\u0085"],
  ["a room holding a tab", "lob\tby"],
  ["a room ending in a newline", "lobby\n"],
  ["a room holding U+001F", "lobby\u001f"],
  ["a room holding U+007F (DEL)", "lobby\u007f"],
  ["a room holding U+009F", "\u009flobby"],
  ["a room holding an ANSI escape", "\u001b[31mred"],
  ["the form of a socket's private shadow room", "\u0000self:abcdef"],
];

/** The rows of a command whose argument is `{ room }`: join, leave and members. */
function roomOnlyRows(): Row[] {
  return [
    ...WRONG_ROOM_TYPES.map(([what, room]) => badRequest(what, { room })),
    badRequest("room missing", {}),
    badRequest("an extra field", { room: ROOM, extra: 1 }),
    badRequest("an unknown field instead of room", { name: ROOM }),
    badRequest("an own __proto__ field", withOwnProto({ room: ROOM })),
    badRequest("a wrong type and an invalid name at once (shape first)", { room: ["\u0000"] }),
    ...NOT_ONE_OBJECT,
    ...INVALID_ROOMS.map(([what, room]): Row => ({ what, args: [{ room }], code: "INVALID_NAME" })),
  ];
}

const VALID_PUBLISH = { room: ROOM, event: "news", data: { n: 1 } };

/** JSON data of `bytes` bytes exactly: `{"text":"xx…"}`. */
function jsonOfBytes(bytes: number): { text: string } {
  return { text: "x".repeat(bytes - JSON.stringify({ text: "" }).length) };
}

/** The rows of `room:publish`: its shape, its room, its event, reserved events and its size. */
function publishRows(): Row[] {
  const publish = (fields: object) => ({ ...VALID_PUBLISH, ...fields });
  const named = (code: RefusalCode, what: string, fields: object): Row => ({ what, args: [publish(fields)], code });
  const { room: _room, ...withoutRoom } = VALID_PUBLISH;
  const { event: _event, ...withoutEvent } = VALID_PUBLISH;
  const { data: _data, ...withoutData } = VALID_PUBLISH;
  return [
    ...WRONG_ROOM_TYPES.map(([what, room]) => badRequest(what, publish({ room }))),
    badRequest("room missing", withoutRoom),
    badRequest("event as a number", publish({ event: 42 })),
    badRequest("event as null", publish({ event: null })),
    badRequest("event as an array", publish({ event: ["news"] })),
    badRequest("event as an object", publish({ event: { name: "news" } })),
    badRequest("event as a boolean", publish({ event: false })),
    badRequest("event missing", withoutEvent),
    badRequest("data missing (null is a value, absence is not)", withoutData),
    badRequest("echo as a string", publish({ echo: "true" })),
    badRequest("echo as a number", publish({ echo: 1 })),
    badRequest("echo as null", publish({ echo: null })),
    badRequest("echo as an object", publish({ echo: {} })),
    badRequest("an extra field", publish({ extra: 1 })),
    badRequest("an extra meta field", publish({ meta: { from: "someone else" } })),
    badRequest("an own __proto__ field", withOwnProto(VALID_PUBLISH)),
    badRequest("a wrong type and a reserved event at once (shape first)", publish({ room: 42, event: "connect" })),
    ...NOT_ONE_OBJECT,
    ...INVALID_ROOMS.map(([what, room]) => named("INVALID_NAME", what, { room })),
    named("INVALID_NAME", "an empty event", { event: "" }),
    named("INVALID_NAME", "an event of 129 ASCII chars", { event: "e".repeat(129) }),
    named("INVALID_NAME", "an event of 129 × é", { event: "é".repeat(129) }),
    named("INVALID_NAME", "an event of 129 × 🎉", { event: "🎉".repeat(129) }),
    named("INVALID_NAME", "an event holding U+0000", { event: "news\u0000" }),
    named("INVALID_NAME", "an event holding U+0085 (NEL)", { event: "\u0085news" }),
    named("INVALID_NAME", "an event holding a newline", { event: "line\nbreak" }),
    named("INVALID_NAME", "an event holding U+007F (DEL)", { event: "news\u007f" }),
    named("INVALID_NAME", "an event holding U+009F", { event: "news\u009f" }),
    named("INVALID_NAME", "an invalid room and a reserved event (names before reserved)", {
      room: "",
      event: "connect",
    }),
    named("INVALID_NAME", "an invalid event and oversize data (names before size)", {
      event: "",
      data: jsonOfBytes(2000),
    }),
    ...[
      "queue:x",
      "queue:",
      "room:x",
      "room:join",
      "room:",
      "mailroom:x",
      "mailroom:error",
      "connect",
      "connect_error",
      "disconnect",
      "disconnecting",
      "newListener",
      "removeListener",
    ].map((event) => named("RESERVED_EVENT", `the reserved event ${event}`, { event })),
    named("RESERVED_EVENT", "a reserved event and oversize data (reserved before size)", {
      event: "room:x",
      data: jsonOfBytes(2000),
    }),
    named("PAYLOAD_TOO_LARGE", "2000 bytes of JSON data", { data: jsonOfBytes(2000) }),
    named("PAYLOAD_TOO_LARGE", "JSON data one byte over the maximum", { data: jsonOfBytes(MAX_MESSAGE_BYTES + 1) }),
    named("PAYLOAD_TOO_LARGE", "512 × é: 514 chars but 1026 bytes of JSON", { data: "é".repeat(512) }),
    named("PAYLOAD_TOO_LARGE", "binary data one byte over the maximum", {
      data: Buffer.alloc(MAX_MESSAGE_BYTES + 1),
    }),
    named("PAYLOAD_TOO_LARGE", "a Uint8Array of 2000 bytes", { data: new Uint8Array(2000) }),
    named("PAYLOAD_TOO_LARGE", "oversize data with echo", { data: jsonOfBytes(2000), echo: true }),
  ];
}

describe("room commands given bad input", () => {
  it.each([
    { event: "room:join", joinedBefore: false },
    { event: "room:leave", joinedBefore: true },
    { event: "room:members", joinedBefore: false },
  ])(
    "answers every malformed $event with the contract's code, changes nothing and keeps serving",
    async ({ event, joinedBefore }) => {
      const node = await oneNode();
      const socket = await connectSocket(node.url);
      if (joinedBefore) expect(await command(socket, "room:join", { room: ROOM })).toMatchObject({ ok: true });

      await expectRefusals(socket, event, roomOnlyRows());

      // Refused joins added no member and refused leaves removed none.
      const members = await command(socket, "room:members", { room: ROOM });
      expect(members).toEqual({
        ok: true,
        count: joinedBefore ? 1 : 0,
        members: joinedBefore ? [{ socket: socket.id }] : [],
      });
      await expectStillServing(node, socket);
    },
  );

  it("answers every malformed room:publish with the contract's code, delivers none and keeps serving", async () => {
    const node = await oneNode();
    const listener = await joined(node.url, ROOM);
    const publisher = await joined(node.url, ROOM);
    const listenerGot = collectEverything(listener);
    const publisherGot = collectEverything(publisher);

    await expectRefusals(publisher, "room:publish", publishRows());

    // A last valid publish (echoed) passes after every refused one: by then both members got only it.
    const arrivals = Promise.all([nextEvent(listener, "sentinel"), nextEvent(publisher, "sentinel")]);
    await command(publisher, "room:publish", { room: ROOM, event: "sentinel", data: "last", echo: true });
    await arrivals;
    for (const got of [listenerGot, publisherGot]) {
      expect(got).toEqual([
        [
          "sentinel",
          "last",
          {
            room: ROOM,
            id: expect.any(String),
            ts: expect.any(Number),
            offset: expect.any(Number),
            epoch: expect.any(String),
          },
        ],
      ]);
    }
    await expectStillServing(node, publisher);
  });

  it("answers a command sent without an acknowledgement with mailroom:error and does not run it", async () => {
    const node = await oneNode();
    const listener = await joined(node.url, ROOM);
    const listenerGot = collect(listener, "news");
    const socket = await connectSocket(node.url);
    const sends: [string, unknown[]][] = [
      ["room:join", [{ room: ROOM }]],
      ["room:leave", [{ room: ROOM }]],
      ["room:publish", [VALID_PUBLISH]],
      ["room:members", [{ room: ROOM }]],
      ["room:join", []],
      ["room:join", [42]],
      ["room:publish", [{ room: 42 }]],
      ["room:join", [{ room: ROOM }, { room: ROOM }]],
    ];

    for (const [event, args] of sends) {
      const error = nextEvent(socket, "mailroom:error");
      socket.emit(event, ...args);
      expect(await error, `${event} with ${JSON.stringify(args)} and no callback`).toEqual([
        { event, error: { code: "BAD_REQUEST", message: expect.any(String) } },
      ]);
    }

    // The join did not run, and neither did the publish: the sentinel is the listener's first news.
    expect(await command(socket, "room:members", { room: ROOM })).toEqual({
      ok: true,
      count: 1,
      members: [{ socket: listener.id }],
    });
    const arrival = nextEvent(listener, "news");
    await command(socket, "room:publish", { ...VALID_PUBLISH, data: "sentinel" });
    await arrival;
    expect(listenerGot.map(([data]) => data)).toEqual(["sentinel"]);
    await expectStillServing(node, socket);
  });

  it("answers an unknown event sent with a callback NOT_FOUND, and ignores one sent without", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const errors = collect(socket, "mailroom:error");
    const unknown: [string, unknown[]][] = [
      ["room:kick", [{ room: ROOM }]],
      ["ROOM:JOIN", [{ room: ROOM }]],
      ["room:join ", [{ room: ROOM }]],
      ["hello", []],
      ["mailroom:error", [{ event: "room:join" }]],
      ["queue:nope", [42, "two", null]],
    ];

    for (const [event, args] of unknown) {
      expect(await sendRaw(socket, event, args), `${event} with a callback`).toEqual(refusal("NOT_FOUND"));
    }
    for (const [event, args] of unknown) socket.emit(event, ...args);
    // Commands are served in order: once this reply is back, the ignored events had their turn.
    expect(await command(socket, "room:members", { room: ROOM })).toEqual({ ok: true, count: 0, members: [] });
    expect(errors).toEqual([]);
    await expectStillServing(node, socket);
  });

  it("accepts valid edge names: 256-byte rooms, 128-char events, spaces, slashes, unicode and emoji", async () => {
    const node = await oneNode();
    const member = await connectSocket(node.url);
    const publisher = await connectSocket(node.url);
    const rooms = [
      "r".repeat(256),
      "é".repeat(128),
      "é".repeat(100),
      "🎉".repeat(64),
      "x",
      "chat/général 🎉",
      "some room",
      "user:17",
      "a:b/c?d#e%f&g=h",
      "{tag}*[glob]?",
      "\u00a0",
      "a\u2028b",
      "__proto__",
      "constructor",
    ];
    const events = [
      "e".repeat(128),
      "é".repeat(128),
      "🎉".repeat(128),
      "x",
      "price.update",
      "some event",
      "Connect",
      "queue",
      "rooms:x",
      "x:room:y",
      "message",
    ];

    for (const room of rooms) {
      expect(await command(member, "room:join", { room }), `join ${room}`).toMatchObject({ ok: true });
      const members = await command(publisher, "room:members", { room });
      expect(members, `members of ${room}`).toEqual({ ok: true, count: 1, members: [{ socket: member.id }] });
      const arrival = nextEvent(member, "note");
      const reply = await command(publisher, "room:publish", { room, event: "note", data: room });
      expect(reply, `publish to ${room}`).toEqual({
        ok: true,
        id: expect.any(String),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      expect(await arrival).toEqual([
        room,
        { room, id: reply.id, ts: expect.any(Number), offset: expect.any(Number), epoch: expect.any(String) },
      ]);
    }
    const [longestRoom] = rooms as [string];
    for (const event of events) {
      const arrival = nextEvent(member, event);
      const reply = await command(publisher, "room:publish", { room: longestRoom, event, data: event });
      expect(reply, `publish ${event}`).toEqual({
        ok: true,
        id: expect.any(String),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      expect((await arrival)[0]).toBe(event);
    }
    for (const room of rooms) {
      expect(await command(member, "room:leave", { room }), `leave ${room}`).toEqual({ ok: true });
      expect(await command(publisher, "room:members", { room })).toEqual({ ok: true, count: 0, members: [] });
    }
  });

  it("accepts a publish of exactly the maximum size, and null, false, 0 and empty data", async () => {
    const node = await oneNode();
    const member = await joined(node.url, ROOM);
    const publisher = await connectSocket(node.url);
    const values = [
      jsonOfBytes(MAX_MESSAGE_BYTES),
      "é".repeat((MAX_MESSAGE_BYTES - 2) / 2),
      null,
      false,
      0,
      "",
      [],
      {},
    ];

    for (const data of values) {
      const arrival = nextEvent(member, "sized");
      const reply = await command(publisher, "room:publish", { room: ROOM, event: "sized", data, echo: false });
      expect(reply, `publish ${JSON.stringify(data).slice(0, 40)}`).toEqual({
        ok: true,
        id: expect.any(String),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      expect((await arrival)[0]).toEqual(data);
    }
    const bytes = Buffer.alloc(MAX_MESSAGE_BYTES, 7);
    const arrival = nextEvent(member, "sized");
    expect(await command(publisher, "room:publish", { room: ROOM, event: "sized", data: bytes })).toMatchObject({
      ok: true,
    });
    expect(Buffer.compare((await arrival)[0] as Buffer, bytes)).toBe(0);
  });

  // A lone surrogate has no UTF-8 form: TextEncoder would count it as U+FFFD, so names.ts refuses it apart.
  it("refuses a room that has no UTF-8 form (a lone surrogate) with INVALID_NAME", async () => {
    const node = await oneNode();
    const socket = await connectSocket(node.url);
    const loneSurrogate = "lobby\ud800";
    for (const [event, args] of [
      ["room:join", { room: loneSurrogate }],
      ["room:members", { room: loneSurrogate }],
      ["room:leave", { room: loneSurrogate }],
      ["room:publish", { ...VALID_PUBLISH, room: loneSurrogate }],
    ] as const) {
      expect(await command(socket, event, args), event).toEqual(refusal("INVALID_NAME"));
    }
  });
});
