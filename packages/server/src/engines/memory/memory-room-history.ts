/**
 * Room history in this process (engines/room-history.ts), for the memory engine's one node: per room an
 * epoch, its last offset and the newest `size` publications, dropped `ttlMs` after the last publish (looked
 * at lazily, when the room is next used). Listeners hear a publication before `publish` resolves; nothing
 * is ever missed, so they are never told so.
 */
import { randomHex } from "../../structures/random-hex.js";
import { roomRef } from "../refs.js";
import {
  firstOffsetToRead,
  type HistoryRange,
  type HistoryRead,
  type NewPublication,
  type PublicationListener,
  type RoomHistory,
  type RoomHistorySettings,
  type RoomPlace,
  type StoredPublication,
} from "../room-history.js";

interface RoomLog {
  epoch: string;
  offset: number;
  /** The newest publications, oldest first, at most `size`. */
  publications: StoredPublication[];
  /** When the history is dropped (ms since the epoch). */
  expiresAt: number;
}

export class MemoryRoomHistory implements RoomHistory {
  private readonly rooms = new Map<string, RoomLog>();
  private readonly listeners = new Map<string, Set<PublicationListener>>();
  /** When expired rooms are next dropped (ms since the epoch). */
  private nextForget = 0;

  constructor(private readonly settings: RoomHistorySettings) {}

  async publish(namespace: string, room: string, publication: NewPublication): Promise<RoomPlace> {
    const ref = roomRef(namespace, room);
    const log = this.logOf(ref);
    log.offset += 1;
    const stored: StoredPublication = { ...publication, offset: log.offset };
    log.publications.push(stored);
    if (log.publications.length > this.settings.size) log.publications.shift();
    log.expiresAt = Date.now() + this.settings.ttlMs;
    for (const listener of this.listeners.get(ref) ?? []) listener({ ...stored, epoch: log.epoch });
    return { epoch: log.epoch, offset: log.offset };
  }

  async read(namespace: string, room: string, range: HistoryRange): Promise<HistoryRead> {
    const log = this.logOf(roomRef(namespace, room));
    const first = firstOffsetToRead(log.offset, range, this.settings.size);
    return {
      epoch: log.epoch,
      offset: log.offset,
      publications: log.publications.filter((publication) => publication.offset >= first),
    };
  }

  listen(namespace: string, room: string, listener: PublicationListener) {
    const ref = roomRef(namespace, room);
    let listeners = this.listeners.get(ref);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(ref, listeners);
    }
    listeners.add(listener);
    return {
      ready: Promise.resolve(),
      stop: () => {
        const current = this.listeners.get(ref);
        if (current?.delete(listener) && current.size === 0) this.listeners.delete(ref);
      },
    };
  }

  /** The room's log, a new epoch when it has none or its history expired. */
  private logOf(ref: string): RoomLog {
    const now = Date.now();
    let log = this.rooms.get(ref);
    if (!log || log.expiresAt <= now) {
      log = { epoch: randomHex(8), offset: 0, publications: [], expiresAt: now + this.settings.ttlMs };
      this.rooms.set(ref, log);
    }
    this.forgetExpired(now);
    return log;
  }

  /** Drops expired rooms now and then, so rooms never used again do not stay forever. */
  private forgetExpired(now: number): void {
    if (now < this.nextForget) return;
    this.nextForget = now + this.settings.ttlMs;
    for (const [ref, log] of this.rooms) if (log.expiresAt <= now) this.rooms.delete(ref);
  }
}
