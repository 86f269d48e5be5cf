/**
 * The HTTP API of docs/protocol.md §6: the schema of each route's parameters, body and responses, with their
 * limits. One set of schemas validates requests, types the handlers and makes the OpenAPI document.
 * Shapes and ranges only: names (namespace, queue, room, event, id) are checked apart, as in names.ts,
 * so a wrong type is `BAD_REQUEST` and a wrong name `INVALID_NAME`.
 *
 * In JSON, binary `data` is written `{ "$binary": "<base64>" }` both ways: an object whose only key is
 * `$binary`. The server decodes it on the way in (the message is stored as binary) and writes binary data
 * that way on the way out.
 */
import { type Static, Type } from "@sinclair/typebox";
import { ERROR_CODES } from "./errors.js";
import { QUEUE_LIMITS } from "./queue-limits.js";
import { DelayMs, Headers, MaxAttempts, Priority, Receipt, TtlMs, VisibilityMs } from "./queues.js";

const strict = { additionalProperties: false } as const;

export const HTTP_LIMITS = {
  /** Most messages one `receive` leases. */
  maxReceive: 100,
  /** Longest long-poll of one `receive`, in ms. */
  maxWaitMs: 20_000,
} as const;

export const HTTP_DEFAULTS = {
  receiveMax: 1,
  waitMs: 0,
} as const;

/** The key of the one-key JSON object that stands for binary data. */
export const BINARY_JSON_KEY = "$binary";

/** Binary data in JSON. */
export const BinaryJson = Type.Object(
  { [BINARY_JSON_KEY]: Type.String({ contentEncoding: "base64" }) },
  {
    ...strict,
    title: "Binary",
    description: "Binary data: its bytes in base64 (RFC 4648, with or without padding)",
  },
);
export type BinaryJson = Static<typeof BinaryJson>;

/**
 * A message's or a broadcast's data as JSON carries it: any JSON value. The schema is TypeBox's Unknown,
 * so a missing `data` is refused (TypeBox checks an Unknown property's presence; a union holding Unknown
 * would accept `undefined`); its `anyOf` only documents the `$binary` form beside it, for the OpenAPI
 * document and its UI, and is not what validation reads.
 */
export const HttpData = Type.Unknown({
  description: 'Any JSON value (null included); binary data is written `{ "$binary": "<base64>" }`',
  anyOf: [{ title: "JSON", description: "Any JSON value, null included" }, BinaryJson],
  examples: [{ n: 1 }, { [BINARY_JSON_KEY]: "aGVsbG8=" }],
});

// Parameters

export const NamespaceParams = Type.Object({
  ns: Type.String({ description: "The namespace without its leading slash; `_` for the default namespace `/`" }),
});
export type NamespaceParams = Static<typeof NamespaceParams>;

export const QueueParams = Type.Object({
  ns: NamespaceParams.properties.ns,
  queue: Type.String({ description: "1-124 of [A-Za-z0-9_.:-], the first alphanumeric" }),
});
export type QueueParams = Static<typeof QueueParams>;

export const RoomParams = Type.Object({
  ns: NamespaceParams.properties.ns,
  room: Type.String({ description: "The room, URL-encoded: 1-256 UTF-8 bytes with no control characters" }),
});
export type RoomParams = Static<typeof RoomParams>;

// Request bodies

/** One message to send: `queue:send`'s argument minus `queue`. */
export const HttpOutgoingMessage = Type.Object(
  {
    data: HttpData,
    id: Type.Optional(Type.String({ description: "The producer's idempotency key: 1-128 of [A-Za-z0-9_.:-]" })),
    headers: Type.Optional(Headers),
    delayMs: Type.Optional(DelayMs),
    ttlMs: Type.Optional(TtlMs),
    maxAttempts: Type.Optional(MaxAttempts),
    group: Type.Optional(
      Type.String({ description: "§11: the message's group, 1-128 of [A-Za-z0-9_.:-]: in order, one at a time" }),
    ),
    priority: Type.Optional(Priority),
  },
  strict,
);
export type HttpOutgoingMessage = Static<typeof HttpOutgoingMessage>;

export const HttpSendBatchBody = Type.Object(
  { messages: Type.Array(HttpOutgoingMessage, { minItems: 1, maxItems: QUEUE_LIMITS.maxBatch }) },
  strict,
);
export type HttpSendBatchBody = Static<typeof HttpSendBatchBody>;

export const HttpReceiveBody = Type.Object(
  {
    max: Type.Optional(
      Type.Integer({ minimum: 1, maximum: HTTP_LIMITS.maxReceive, default: HTTP_DEFAULTS.receiveMax }),
    ),
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: HTTP_LIMITS.maxWaitMs, default: HTTP_DEFAULTS.waitMs })),
    visibilityMs: Type.Optional(VisibilityMs),
  },
  strict,
);
export type HttpReceiveBody = Static<typeof HttpReceiveBody>;

export const HttpAckBody = Type.Object(
  { receipts: Type.Array(Receipt, { minItems: 1, maxItems: QUEUE_LIMITS.maxBatch }) },
  strict,
);
export type HttpAckBody = Static<typeof HttpAckBody>;

export const HttpNackBody = Type.Object(
  {
    receipt: Receipt,
    requeue: Type.Optional(Type.Boolean({ default: true })),
    delayMs: Type.Optional(DelayMs),
  },
  strict,
);
export type HttpNackBody = Static<typeof HttpNackBody>;

export const HttpPublishBody = Type.Object(
  { event: Type.String({ description: "1-128 characters, no control characters, not reserved" }), data: HttpData },
  strict,
);
export type HttpPublishBody = Static<typeof HttpPublishBody>;

// Responses

export const HttpError = Type.Object({
  error: Type.Object({
    code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
    message: Type.String(),
  }),
});
export type HttpError = Static<typeof HttpError>;

export const HttpSendResponse = Type.Object({ id: Type.String(), duplicate: Type.Boolean() });
export const HttpSendBatchResponse = Type.Object({ results: Type.Array(HttpSendResponse) });

export const HttpReceivedMessage = Type.Object({
  id: Type.String(),
  receipt: Type.String(),
  data: HttpData,
  headers: Headers,
  attempt: Type.Integer({ description: "Deliveries so far, counted from 1" }),
  enqueuedAt: Type.Integer({ description: "When the message was accepted, in ms since the epoch" }),
  reason: Type.Optional(
    Type.Union([Type.Literal("rejected"), Type.Literal("maxAttempts")], {
      description: "Why the message is in a .dlq queue (only there)",
    }),
  ),
  group: Type.Optional(Type.String({ description: "§11: the message's group, when it has one" })),
  priority: Type.Optional(Type.Integer({ description: "§11: when it has a group or a priority above 0" })),
});
export type HttpReceivedMessage = Static<typeof HttpReceivedMessage>;

export const HttpReceiveResponse = Type.Object({ messages: Type.Array(HttpReceivedMessage) });

/** The most messages one peek shows (§12). */
export const MAX_PEEK = 100;

export const HttpPeekQuery = Type.Object(
  {
    state: Type.Optional(
      Type.Union([Type.Literal("ready"), Type.Literal("delayed"), Type.Literal("inflight")], { default: "ready" }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PEEK, default: 20 })),
  },
  { additionalProperties: false },
);
export type HttpPeekQuery = Static<typeof HttpPeekQuery>;

export const HttpPeekResponse = Type.Object({
  messages: Type.Array(
    Type.Object({
      id: Type.String(),
      data: HttpData,
      headers: Headers,
      attempt: Type.Integer({ description: "Deliveries so far (one in flight counts its current one)" }),
      enqueuedAt: Type.Integer(),
      group: Type.Optional(Type.String()),
      priority: Type.Optional(Type.Integer()),
      reason: Type.Optional(Type.String({ description: "Why it is in a .dlq queue (only there)" })),
    }),
    { description: "Oldest first (ready), soonest due (delayed), soonest deadline (in flight); nothing is leased" },
  ),
});

export const HttpNamespaces = Type.Object({
  namespaces: Type.Array(
    Type.Object({
      name: Type.String({ description: "`/` for the default namespace" }),
      queues: Type.Integer({ description: "Queues the namespace's queue list shows now" }),
      sockets: Type.Integer({ description: "Connected sockets on every live node" }),
    }),
  ),
});
/** A count of the dashboard's history; null: none for that step. */
const CountOrNone = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

/** `GET /v1/dashboard/history` (§12): the cluster's send and ack counts per sample, the last 15 minutes. */
export const HttpDashboardHistory = Type.Object({
  intervalMs: Type.Integer({ description: "How often the cluster takes a sample (ms)" }),
  samples: Type.Array(
    Type.Object({
      at: Type.Integer({ description: "When the sample was taken (ms since the epoch, the store's clock)" }),
      sent: CountOrNone("Messages sent to every queue listed since the previous sample; null in the first one"),
      acked: CountOrNone("Messages acked from every queue listed since the previous sample; null in the first one"),
      queues: Type.Array(
        Type.Object({
          namespace: Type.String(),
          name: Type.String(),
          sent: CountOrNone("Messages sent to the queue since the previous sample; null: no count for this step"),
          acked: CountOrNone("Messages acked from the queue since the previous sample; null: no count for this step"),
        }),
        {
          description:
            "Only the queues whose running totals changed since the previous sample (the others had no traffic). " +
            "null: a queue new to the samples, or a total that went down (a store that lost its data)",
        },
      ),
    }),
    { description: "Oldest first: one per interval for the whole cluster, the last 15 minutes" },
  ),
  totals: Type.Optional(
    Type.Object(
      {
        at: Type.Integer({ description: "The newest sample's time" }),
        sent: Type.Integer({ description: "The sum of the queues' running totals sent" }),
        acked: Type.Integer({ description: "The sum of the queues' running totals acked" }),
        queues: Type.Array(
          Type.Object({ namespace: Type.String(), name: Type.String(), sent: Type.Integer(), acked: Type.Integer() }),
        ),
      },
      { description: "The running totals at the newest sample, of every queue listed then; absent with no sample" },
    ),
  ),
});
export type HttpDashboardHistory = Static<typeof HttpDashboardHistory>;

export const HttpAckResponse = Type.Object({ acked: Type.Integer(), stale: Type.Array(Type.String()) });
export const HttpNackResponse = Type.Object({ deadLettered: Type.Boolean() });

export const HttpQueueStats = Type.Object({
  name: Type.String(),
  ready: Type.Integer(),
  inflight: Type.Integer(),
  delayed: Type.Integer(),
  deadLettered: Type.Integer({ description: "Messages now in `<queue>.dlq`" }),
  consumers: Type.Integer({ description: "Live consumers on every node" }),
  groups: Type.Integer({ description: "Groups with messages in the queue now (§11)" }),
});
export type HttpQueueStats = Static<typeof HttpQueueStats>;

export const HttpQueueList = Type.Object({
  queues: Type.Array(HttpQueueStats),
  truncated: Type.Boolean({ description: "Whether the namespace has more queues than listed" }),
});

export const HttpPurgeResponse = Type.Object({ purged: Type.Integer() });
export const HttpRedriveResponse = Type.Object({ moved: Type.Integer() });
export const HttpPublishResponse = Type.Object({
  id: Type.String(),
  offset: Type.Optional(Type.Integer({ description: "The publication's offset in the room's history (§10)" })),
  epoch: Type.Optional(Type.String({ description: "The room's epoch (§10)" })),
});

/** The most publications one read of the HTTP history route lists. */
export const MAX_HISTORY_LIMIT = 1000;

export const HttpHistoryQuery = Type.Object(
  {
    since: Type.Optional(
      Type.Integer({ minimum: 0, default: 0, description: "The publications after this offset (0: all held)" }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT, default: 100 })),
  },
  { additionalProperties: false },
);
export type HttpHistoryQuery = Static<typeof HttpHistoryQuery>;

export const HttpRoomHistory = Type.Object({
  epoch: Type.String({ description: "The room's epoch: positions of another epoch are void" }),
  offset: Type.Integer({ description: "The room's last offset (0 before its first publication)" }),
  publications: Type.Array(
    Type.Object({
      offset: Type.Integer(),
      id: Type.String(),
      event: Type.String(),
      data: HttpData,
      ts: Type.Integer({ description: "When it was published, in ms since the epoch" }),
      from: Type.Optional(Type.String({ description: "The publisher's user, when auth is on" })),
    }),
    { description: "Oldest first: the first `limit` publications after `since` that the history holds" },
  ),
});

export const HttpRoomMembers = Type.Object({
  count: Type.Integer({ description: "Members across the cluster" }),
  members: Type.Array(Type.Object({ socket: Type.String(), user: Type.Optional(Type.String()) }), {
    description: "At most 1000 of them",
  }),
});

export const HttpClusterNode = Type.Object({
  id: Type.String(),
  url: Type.String(),
  startedAt: Type.Integer(),
  connections: Type.Integer(),
  lastSeenAt: Type.Integer(),
});

export const HttpCluster = Type.Object({
  nodes: Type.Array(HttpClusterNode),
  engine: Type.Optional(Type.String({ description: "The store of the node that answered: redis or memory" })),
});
