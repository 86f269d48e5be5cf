/**
 * The queue routes of docs/protocol.md §6: send (JSON or binary), batch send, receive (long-polling), ack,
 * nack, stats, the namespace's queue list, purge and redrive. The same checks as the Socket.IO commands
 * (outgoing-messages.ts), in the same order: shape, names, size, store. Leases taken over HTTP belong to
 * no connection: they end when acked, nacked or expired (or at once, when the client left mid-receive).
 * A receive that waits is bounded by the node's limit of waiting receives and by its token's expiry
 * (long-poll.ts).
 * The queue list (docs/protocol.md §13, queues/queue-listing.ts) is computed at most once a second per
 * namespace on this node: requests for the same namespace within that second share one listing.
 */

import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  HTTP_DEFAULTS,
  HttpAckBody,
  HttpAckResponse,
  HttpError,
  HttpNackBody,
  HttpNackResponse,
  HttpOutgoingMessage,
  HttpPeekQuery,
  HttpPeekResponse,
  HttpPurgeResponse,
  HttpQueueList,
  HttpQueueStats,
  HttpReceiveBody,
  type HttpReceivedMessage,
  HttpReceiveResponse,
  HttpRedriveResponse,
  HttpSendBatchBody,
  HttpSendBatchResponse,
  HttpSendResponse,
  NamespaceParams,
  QueueParams,
} from "@mailroom/protocol";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { NodeConfig } from "../../config.js";
import { leasedMessage } from "../../delivery/leased-message.js";
import type { LongPolls } from "../../delivery/long-poll.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import { decodeMessage } from "../../engines/message-codec.js";
import type { Lease, QueueAddress, QueueEngine, QueueListing } from "../../engines/queue-engine.js";
import { queueStats } from "../../operations/queue-stats.js";
import { sendMessage, sendMessages } from "../../operations/sending.js";
import { ackAndSettle, nackAndSettle, type SettlingDispatcher } from "../../operations/settlement.js";
import { RecentResults } from "../../structures/recent-results.js";
import { BINARY_CONTENT_TYPE, BINARY_HEADERS_DESCRIPTION, installBinaryBodyParser } from "./binary-body.js";
import { fromJsonData, toJsonData } from "./binary-json.js";
import { bodyLimits } from "./body-limits.js";
import { namespaceOf, queueOf } from "./route-params.js";

/** A namespace's queue list is reused this long (ms): any number of callers cost one listing a second. */
const LIST_REUSE_MS = 1000;

const TAGS = ["queues"];
const errors = { "4xx": HttpError, "5xx": HttpError };

export interface QueueRouteOptions {
  engine: QueueEngine;
  registry: ClusterRegistry;
  /** Told of HTTP acks and nacks, so a Socket.IO consumer's settled deliveries free its prefetch at once. */
  dispatcher?: SettlingDispatcher | undefined;
  polls: LongPolls;
  /** The size bound and the defaults of a send and a lease. */
  settings: Pick<NodeConfig, "maxMessageBytes" | "maxAttempts" | "visibilityMs">;
}

export async function queueRoutes(app: FastifyInstance, options: QueueRouteOptions): Promise<void> {
  const { engine, registry, dispatcher, polls, settings } = options;
  const limits = bodyLimits(settings.maxMessageBytes);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const listings = new RecentResults<QueueListing>({ maxAgeMs: LIST_REUSE_MS });
  const consumerCounts = (namespace: string, queues: string[]) => registry.queueConsumerCounts(namespace, queues);

  await api.register(async (binaryScope) => {
    installBinaryBodyParser(binaryScope);
    binaryScope.withTypeProvider<TypeBoxTypeProvider>().post(
      "/v1/namespaces/:ns/queues/:queue/messages",
      {
        bodyLimit: limits.message,
        config: { right: "send", swaggerTransform: documentBinaryForm },
        schema: {
          tags: TAGS,
          summary: "Send one message (JSON, or raw bytes as application/octet-stream)",
          description: BINARY_HEADERS_DESCRIPTION,
          params: QueueParams,
          body: HttpOutgoingMessage,
          response: { 201: HttpSendResponse, ...errors },
        },
      },
      async (request, reply) => {
        const message = { ...request.body, data: fromJsonData(request.body.data, "data") };
        const result = await sendMessage(engine, () => queueOf(request.params), message, settings);
        return reply.code(201).send(result);
      },
    );
  });

  api.post(
    "/v1/namespaces/:ns/queues/:queue/messages/batch",
    {
      bodyLimit: limits.batch,
      config: { right: "send" },
      schema: {
        tags: TAGS,
        summary: "Send up to 1000 messages, all or none",
        params: QueueParams,
        body: HttpSendBatchBody,
        response: { 201: HttpSendBatchResponse, ...errors },
      },
    },
    async (request, reply) => {
      const messages = request.body.messages.map((message, index) => ({
        ...message,
        data: fromJsonData(message.data, `messages.${index}.data`),
      }));
      const results = await sendMessages(engine, () => queueOf(request.params), messages, settings, "the batch's data");
      return reply.code(201).send({ results });
    },
  );

  api.post(
    "/v1/namespaces/:ns/queues/:queue/receive",
    {
      bodyLimit: limits.options,
      config: { right: "consume" },
      schema: {
        tags: TAGS,
        summary: "Lease up to max messages, waiting up to waitMs for the first",
        params: QueueParams,
        body: HttpReceiveBody,
        response: { 200: HttpReceiveResponse, ...errors },
      },
    },
    async (request, reply) => {
      const address = queueOf(request.params);
      const clientGone = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableEnded) clientGone.abort();
      };
      reply.raw.once("close", onClose);
      if (reply.raw.destroyed) clientGone.abort();
      try {
        const leases = await polls.receive({
          address,
          max: request.body.max ?? HTTP_DEFAULTS.receiveMax,
          waitMs: request.body.waitMs ?? HTTP_DEFAULTS.waitMs,
          visibilityMs: request.body.visibilityMs ?? settings.visibilityMs,
          clientGone: clientGone.signal,
          expiresAt: request.principal?.expiresAt,
          user: request.principal?.user,
        });
        return { messages: leases.flatMap((lease) => receivedMessage(lease, request.log)) };
      } finally {
        reply.raw.off("close", onClose);
      }
    },
  );

  api.post(
    "/v1/namespaces/:ns/queues/:queue/ack",
    {
      bodyLimit: limits.ack,
      config: { right: "consume" },
      schema: {
        tags: TAGS,
        summary: "Acknowledge deliveries by receipt; receipts of no current lease are listed as stale",
        params: QueueParams,
        body: HttpAckBody,
        response: { 200: HttpAckResponse, ...errors },
      },
    },
    async (request) => {
      const address = queueOf(request.params);
      const { receipts } = request.body;
      return ackAndSettle(engine, dispatcher, address, receipts);
    },
  );

  api.post(
    "/v1/namespaces/:ns/queues/:queue/nack",
    {
      bodyLimit: limits.options,
      config: { right: "consume" },
      schema: {
        tags: TAGS,
        summary: "Give a delivery back: ready again (after delayMs), or dead-lettered with requeue false",
        params: QueueParams,
        body: HttpNackBody,
        response: { 200: HttpNackResponse, ...errors },
      },
    },
    async (request) => {
      const address = queueOf(request.params);
      const { receipt, requeue, delayMs } = request.body;
      return nackAndSettle(engine, dispatcher, address, receipt, { requeue, delayMs });
    },
  );

  api.get(
    "/v1/namespaces/:ns/queues",
    {
      config: { right: "any" },
      schema: {
        tags: TAGS,
        summary:
          "The namespace's queues that hold messages, have consumers or were sent to within 24 hours, with " +
          "their stats, sorted by name (at most 1000)",
        params: NamespaceParams,
        response: { 200: HttpQueueList, ...errors },
      },
    },
    async (request) => {
      const namespace = namespaceOf(request.params.ns);
      return listings.get(namespace, () => engine.listQueues(namespace, consumerCounts));
    },
  );

  api.get(
    "/v1/namespaces/:ns/queues/:queue",
    {
      config: { right: "any" },
      schema: {
        tags: TAGS,
        summary: "The stats of one queue, across the cluster",
        params: QueueParams,
        response: { 200: HttpQueueStats, ...errors },
      },
    },
    async (request) => statsOf(queueOf(request.params)),
  );

  api.delete(
    "/v1/namespaces/:ns/queues/:queue/messages",
    {
      config: { right: "admin" },
      schema: {
        tags: TAGS,
        summary: "Purge: drop the queue's ready and delayed messages (in-flight ones stay)",
        params: QueueParams,
        response: { 200: HttpPurgeResponse, ...errors },
      },
    },
    async (request) => {
      const address = queueOf(request.params);
      const purged = await engine.purge(address);
      request.log.info({ action: "purge", sub: request.principal?.user, ...address, purged }, "queue purged");
      return { purged };
    },
  );

  api.get(
    "/v1/namespaces/:ns/queues/:queue/messages",
    {
      config: { right: "monitor" },
      schema: {
        tags: TAGS,
        summary: "Peek: the queue's ready, delayed or in-flight messages, leasing and changing nothing",
        params: QueueParams,
        querystring: HttpPeekQuery,
        response: { 200: HttpPeekResponse, ...errors },
      },
    },
    async (request) => {
      const peeked = await engine.peek(
        queueOf(request.params),
        request.query.state ?? "ready",
        request.query.limit ?? 20,
      );
      const messages = [];
      for (const message of peeked) {
        const { data, headers } = decodeMessage(message.body);
        const { body: _body, ...fields } = message;
        messages.push({ ...fields, data: toJsonData(data), headers });
      }
      return { messages };
    },
  );

  api.post(
    "/v1/namespaces/:ns/queues/:queue/redrive",
    {
      config: { right: "admin" },
      schema: {
        tags: TAGS,
        summary: "Move every ready and delayed message of <queue>.dlq to the tail of the queue",
        params: QueueParams,
        response: { 200: HttpRedriveResponse, ...errors },
      },
    },
    async (request) => {
      const address = queueOf(request.params);
      const moved = await engine.redrive(address);
      request.log.info({ action: "redrive", sub: request.principal?.user, ...address, moved }, "dead letters redriven");
      return { moved };
    },
  );

  async function statsOf(address: QueueAddress): Promise<HttpQueueStats> {
    return { name: address.queue, ...(await queueStats(engine, registry, address)) };
  }
}

/** A lease as the receive route answers it (binary data as `$binary`); none when its body cannot be read. */
function receivedMessage(lease: Lease, log: FastifyBaseLogger): HttpReceivedMessage[] {
  const message = leasedMessage(lease, log);
  return message ? [{ ...message, data: toJsonData(message.data) }] : [];
}

/** The OpenAPI view of the send route: a JSON body, or raw bytes with the options in headers. */
function documentBinaryForm({ schema, url }: { schema: object; url: string }) {
  const { body, ...rest } = schema as { body: unknown };
  return {
    url,
    schema: {
      ...rest,
      body: {
        content: {
          "application/json": { schema: body },
          [BINARY_CONTENT_TYPE]: { schema: { type: "string", format: "binary" } },
        },
      },
      headers: {
        type: "object",
        properties: {
          "mailroom-id": { type: "string", description: "The message id (binary form only)" },
          "mailroom-delay-ms": { type: "integer", description: "delayMs (binary form only)" },
          "mailroom-ttl-ms": { type: "integer", description: "ttlMs (binary form only)" },
          "mailroom-max-attempts": { type: "integer", description: "maxAttempts (binary form only)" },
          "mailroom-group": { type: "string", description: "group, §11 (binary form only)" },
          "mailroom-priority": { type: "integer", description: "priority 0-9, §11 (binary form only)" },
        },
      },
    },
  };
}
