/**
 * A room publish, as `room:publish` and the HTTP publish route make it (docs/protocol.md §10): with
 * history, the store gives it the room's next offset and delivers it to every node's feed
 * (delivery/room-feeds.ts); without (`--room-history-size 0`), Socket.IO's adapter broadcasts it, with no
 * offset, through `broadcast`.
 */
import { randomUUID } from "node:crypto";
import type { BroadcastMeta, RoomPublishResult } from "@mailroom/protocol";
import type { RoomHistory } from "../engines/room-history.js";

export interface RoomPublication {
  namespace: string;
  room: string;
  event: string;
  data: unknown;
  /** The publisher's user, when auth is on. */
  from?: string | undefined;
  /** The publishing socket, when it must not receive its own publication (no echo). */
  except?: string | undefined;
}

export async function publishToRoom(
  history: RoomHistory | undefined,
  publication: RoomPublication,
  broadcast: (meta: BroadcastMeta) => void,
): Promise<RoomPublishResult> {
  const { namespace, room, event, data, from, except } = publication;
  const id = randomUUID();
  const ts = Date.now();
  if (history) {
    const place = await history.publish(namespace, room, { id, event, data, ts, from, except });
    return { id, offset: place.offset, epoch: place.epoch };
  }
  const meta: BroadcastMeta = { room, id, ts };
  if (from !== undefined) meta.from = from;
  broadcast(meta);
  return { id };
}
