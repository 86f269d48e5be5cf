/**
 * Room history on Redis (engines/room-history.ts): a room's meta (epoch, last offset) and its capped
 * stream, under the room's hash tag, written by room-publish.lua, which also publishes each publication
 * on the room's channel; nodes with members listen to that channel (sharded on a Redis Cluster).
 * An epoch is random, made by the node and used by the script only when the room has none: a Redis that
 * lost its data, or a history that expired, lost the room's meta with it, so every position taken
 * before is refused at once.
 */
import { MailroomError } from "@mailroom/protocol";
import { randomHex } from "../../structures/random-hex.js";
import { decodeHeardPublication, decodePublication, encodePublication } from "../publication-codec.js";
import type {
  HeardPublication,
  HistoryRange,
  HistoryRead,
  NewPublication,
  PublicationListener,
  RoomHistory,
  RoomHistorySettings,
  RoomPlace,
} from "../room-history.js";
import type { RedisConnections } from "./connections.js";
import type { RedisKeys } from "./keys.js";
import type { Scripts } from "./scripts.js";

export interface RedisRoomHistoryOptions {
  connections: RedisConnections;
  scripts: Scripts;
  keys: RedisKeys;
  settings: RoomHistorySettings;
  /** How long `listen` waits for Redis to confirm the subscription before its `ready` fails. */
  subscribeTimeoutMs: number;
}

export class RedisRoomHistory implements RoomHistory {
  constructor(private readonly options: RedisRoomHistoryOptions) {}

  publish(namespace: string, room: string, publication: NewPublication): Promise<RoomPlace> {
    const { scripts, settings } = this.options;
    return scripts.roomPublish(namespace, room, this.epochSettings(settings), encodePublication(publication));
  }

  async read(namespace: string, room: string, range: HistoryRange): Promise<HistoryRead> {
    const { scripts, settings } = this.options;
    const reply = await scripts.roomHistory(namespace, room, this.epochSettings(settings), {
      after: range.after ?? -1,
      tail: range.tail ?? 0,
    });
    return {
      epoch: reply.epoch,
      offset: reply.offset,
      publications: reply.entries.map(({ offset, body }) => ({ ...decodePublication(body), offset })),
    };
  }

  listen(namespace: string, room: string, listener: PublicationListener) {
    const { connections, keys, subscribeTimeoutMs } = this.options;
    let confirm: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    let confirmed = false;
    const ready = new Promise<void>((resolve, reject) => {
      confirm = resolve;
      timer = setTimeout(
        () => reject(new MailroomError("UNAVAILABLE", "the room's publications cannot be heard now: retry")),
        subscribeTimeoutMs,
      );
    });
    // A rejection no join awaits (the room's members all left meanwhile) is not unhandled.
    ready.catch(() => {});
    const stop = connections.listen(keys.roomChannel(namespace, room), (message) => {
      if (message === undefined) {
        // The first call confirms the subscription; later ones say that messages may have been missed.
        if (confirmed) listener();
        confirmed = true;
        clearTimeout(timer);
        confirm();
        return;
      }
      let publication: HeardPublication;
      try {
        publication = decodeHeardPublication(message);
      } catch {
        // Only room-publish.lua publishes here: what cannot be read is missed, and repaired from the history.
        listener();
        return;
      }
      listener(publication);
    });
    return {
      ready,
      stop: () => {
        clearTimeout(timer);
        stop();
      },
    };
  }

  private epochSettings(settings: RoomHistorySettings) {
    return { newEpoch: randomHex(8), size: settings.size, ttlMs: settings.ttlMs };
  }
}
