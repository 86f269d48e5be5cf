/**
 * The room routes of docs/protocol.md §6: publish to a room (every member on every node receives the event
 * as `(data, meta)`, `meta = { room, id, ts }`) and list its members. The checks are `room:publish`'s, in
 * its order: shape, names (room, event, reserved event), size, then whether broadcasts can reach the
 * cluster now. Private rooms stay out of reach (room-broadcast.ts).
 */
import { randomUUID } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  type BroadcastMeta,
  HttpError,
  HttpPublishBody,
  HttpPublishResponse,
  HttpRoomMembers,
  RoomParams,
} from "@mailroom/protocol";
import type { FastifyInstance } from "fastify";
import type { NodeConfig } from "../../config.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import { checkPublish } from "../../operations/publish-checks.js";
import type { MailroomServer } from "../../socket-types.js";
import { fromJsonData } from "./binary-json.js";
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
}

export async function roomRoutes(app: FastifyInstance, options: RoomRouteOptions): Promise<void> {
  const { io, registry, settings, broadcastsFlow, broadcasted } = options;
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
      const { namespace, room } = roomOf(request.params);
      const { event } = request.body;
      checkPublish(event, data, { maxMessageBytes, broadcastsFlow });
      const meta: BroadcastMeta = { room, id: randomUUID(), ts: Date.now() };
      broadcastToRoom(io, namespace, event, data, meta);
      broadcasted(namespace);
      return reply.code(202).send({ id: meta.id });
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
}
