/**
 * A room's history (docs/protocol.md §10): every publication of a room gets the room's next offset,
 * joins its capped history and reaches every node that listens to the room, in one step of the store.
 *
 * Guarantees of every implementation:
 * - Offsets count 1, 2, 3 … within an epoch, with no gap and no repeat; the epoch changes whenever the
 *   store lost the room's history (a new room, a history expired `ttlMs` after its last publish, a store
 *   that lost its data), and never otherwise.
 * - Listeners of a room hear its publications in offset order; they may miss some (a pub/sub message
 *   lost, a subscriber reconnecting), and are told when they may have (`undefined`), never told wrongly
 *   that nothing was missed: gaps are the node's to repair from `read` (delivery/room-feeds.ts).
 * - `read` returns at most the `size` newest publications, oldest first, and creates the epoch of a room
 *   that has none, so that a joining member always gets a position.
 * Two implementations: Redis (redis/redis-room-history.ts) and memory (memory/memory-room-history.ts).
 */

/** What a publish stores and delivers; `except` is the socket that must not receive it (no echo). */
export interface NewPublication {
  id: string;
  event: string;
  data: unknown;
  ts: number;
  from?: string | undefined;
  except?: string | undefined;
}

/** A stored publication, with its place in the room's history. */
export interface StoredPublication extends NewPublication {
  offset: number;
}

/** A publication as a listener hears it: with its room's epoch. */
export interface HeardPublication extends StoredPublication {
  epoch: string;
}

export interface RoomPlace {
  epoch: string;
  /** The room's last offset (0 before its first publication). */
  offset: number;
}

export interface HistoryRead extends RoomPlace {
  /** Oldest first, consecutive offsets ending at `offset` (or empty). */
  publications: StoredPublication[];
}

/**
 * Which publications a read returns, besides the room's place: those after `after`, and the last `tail`;
 * the union of both. Neither: none.
 */
export interface HistoryRange {
  after?: number | undefined;
  tail?: number | undefined;
}

/** Hears a room's publications; called with none when some may have been missed. */
export type PublicationListener = (publication?: HeardPublication) => void;

export interface RoomHistory {
  publish(namespace: string, room: string, publication: NewPublication): Promise<RoomPlace>;
  read(namespace: string, room: string, range: HistoryRange): Promise<HistoryRead>;
  /**
   * Starts hearing a room's publications. `ready` resolves once they are heard (a publication made after
   * it resolves reaches the listener, unless lost as the header says). `stop` ends it.
   */
  listen(namespace: string, room: string, listener: PublicationListener): { ready: Promise<void>; stop: () => void };
}

/** The settings every implementation takes. */
export interface RoomHistorySettings {
  /** Publications kept per room (the newest). */
  size: number;
  /** A room's history is dropped this long after its last publish. */
  ttlMs: number;
}

/** The first offset `read` returns for a range, given the room's last offset and the history's size. */
export function firstOffsetToRead(last: number, range: HistoryRange, size: number): number {
  let first = last + 1;
  if (range.after !== undefined) first = Math.min(first, range.after + 1);
  if (range.tail !== undefined && range.tail > 0) first = Math.min(first, last - range.tail + 1);
  return Math.max(first, last - size + 1, 1);
}
