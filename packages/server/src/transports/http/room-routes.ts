/**
 * The room routes of docs/protocol.md §6 and §10: publish to a room (every member on every node receives
 * the event as `(data, meta)`, `meta = { room, id, ts, offset, epoch }`), list its members, read its
 * history. The checks of a publish are `room:publish`'s, in its order: shape, names (room, event, reserved
 * event), size, then whether broadcasts can reach the cluster now. Private rooms stay out of reach
 * (room-broadcast.ts).
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  HttpError,
  HttpHistoryQuery,
  HttpPublishBody,
  HttpPublishResponse,
  HttpRoomHistory,
  HttpRoomMembers,
  MailroomError,
  RoomParams,
} from "@mailroom/protocol";
import type { FastifyInstance } from "fastify";
import type { NodeConfig } from "../../config.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { RoomHistory } from "../../engines/room-history.js";
import { payloadBytes } from "../../operations/payload-size.js";
import { checkPublish } from "../../operations/publish-checks.js";
import { publishToRoom } from "../../operations/room-publishing.js";
import type { MailroomServer } from "../../socket-types.js";
import { fromJsonData, toJsonData } from "./binary-json.js";
import { bodyLimits } from "./body-limits.js";
import { broadcastToRoom } from "./room-broadcast.js";
import { roomOf } from "./route-params.js";

const TAGS = ["rooms"];
const errors = { "4xx": HttpError, "5xx": HttpError };

export interface RoomRouteOptions {
  io: MailroomServer;
  registry: ClusterRegistry;
  /** The size bound of a publish. */
  settings: Pick<NodeConfig, "maxMessageBytes">;
  /** Whether a publish can reach the other nodes now (always, with no Redis). */
  broadcastsFlow: () => boolean;
  /** Told of each publish sent (metrics). */
  broadcasted: (namespace: string) => void;
  /** Rooms' histories; undefined when history is off. */
  history: RoomHistory | undefined;
}

export async function roomRoutes(app: FastifyInstance, options: RoomRouteOptions): Promise<void> {
  const { io, registry, settings, broadcastsFlow, broadcasted, history } = options;
  const { maxMessageBytes } = settings;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    "/v1/namespaces/:ns/rooms/:room/publish",
    {
      bodyLimit: bodyLimits(maxMessageBytes).message,
      config: { right: "publish" },
      schema: {
        tags: TAGS,
        summary: "Broadcast an event to every member of the room, on every node",
        params: RoomParams,
        body: HttpPublishBody,
        response: { 202: HttpPublishResponse, ...errors },
      },
    },
    async (request, reply) => {
      const data = fromJsonData(request.body.data, "data");
      const bytes = payloadBytes(data);
      const { namespace, room } = roomOf(request.params);
      const { event } = request.body;
      checkPublish(event, bytes, { maxMessageBytes, broadcastsFlow });
      const from = request.principal?.user;
      const result = await publishToRoom(history, { namespace, room, event, data, from }, (meta) =>
        broadcastToRoom(io, namespace, event, data, meta),
      );
      broadcasted(namespace);
      return reply.code(202).send(result);
    },
  );

  api.get(
    "/v1/namespaces/:ns/rooms/:room",
    {
      config: { right: "any" },
      schema: {
        tags: TAGS,
        summary: "The room's member count across the cluster, and up to 1000 members",
        params: RoomParams,
        response: { 200: HttpRoomMembers, ...errors },
      },
    },
    async (request) => {
      const { namespace, room } = roomOf(request.params);
      return registry.members(namespace, room);
    },
  );

  api.get(
    "/v1/namespaces/:ns/rooms/:room/history",
    {
      config: { right: ["join", "monitor"] },
      schema: {
        tags: TAGS,
        summary: "The publications the room's history holds after an offset, oldest first",
        params: RoomParams,
        querystring: HttpHistoryQuery,
        response: { 200: HttpRoomHistory, ...errors },
      },
    },
    async (request) => {
      if (!history) throw new MailroomError("NOT_FOUND", "this node keeps no room history (--room-history-size 0)");
      const { namespace, room } = roomOf(request.params);
      const since = request.query.since ?? 0;
      const limit = request.query.limit ?? 100;
      const read = await history.read(namespace, room, { after: since });
      const publications = read.publications
        .filter((publication) => publication.offset > since)
        .slice(0, limit)
        .map(({ offset, id, event, data, ts, from }) => ({ offset, id, event, data: toJsonData(data), ts, from }));
      return { epoch: read.epoch, offset: read.offset, publications };
    },
  );
}
