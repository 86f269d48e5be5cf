/**
 * Reads of rooms' histories, merged: at most one read per room runs at a time, and every read asked for
 * meanwhile waits for the next one, which covers all their ranges (the union: the smallest `after`, the
 * largest `tail`); a read with none running starts at the end of this turn of the event loop, so the joins
 * that arrived together share it. When 2,000 members of a room come back at once (their node died), Redis serves a few
 * reads of that room, not 2,000.
 * Sound because a read asked for after something happened (a member's join began buffering live
 * publications) is always served by a read that starts after the asking: never by the one running.
 */
import { roomRef } from "../engines/refs.js";
import type { HistoryRange, HistoryRead, RoomHistory } from "../engines/room-history.js";

interface NextRead {
  range: HistoryRange;
  result: Promise<HistoryRead>;
  start: () => void;
}

interface RoomReads {
  running: Promise<unknown> | undefined;
  next: NextRead | undefined;
}

export class HistoryReads {
  private readonly rooms = new Map<string, RoomReads>();

  /** @param storeRead told of each read that reaches the store (metrics) */
  constructor(
    private readonly history: RoomHistory,
    private readonly storeRead: (namespace: string) => void = () => {},
  ) {}

  read(namespace: string, room: string, range: HistoryRange): Promise<HistoryRead> {
    const ref = roomRef(namespace, room);
    let reads = this.rooms.get(ref);
    if (!reads) {
      reads = { running: undefined, next: undefined };
      this.rooms.set(ref, reads);
    }
    if (reads.next) {
      reads.next.range = union(reads.next.range, range);
      return reads.next.result;
    }
    const next = this.nextRead(namespace, room, ref, reads, range);
    // Started after the sockets' messages read in this turn of the event loop, so their joins share it.
    if (!reads.running) setImmediate(next.start);
    return next.result;
  }

  private nextRead(namespace: string, room: string, ref: string, reads: RoomReads, range: HistoryRange): NextRead {
    let start: () => void = () => {};
    const next: NextRead = {
      range,
      result: new Promise<HistoryRead>((resolve, reject) => {
        start = () => {
          reads.next = undefined;
          this.storeRead(namespace);
          const running = this.history.read(namespace, room, next.range);
          reads.running = running;
          running.then(resolve, reject).finally(() => {
            reads.running = undefined;
            if (reads.next) reads.next.start();
            else this.rooms.delete(ref);
          });
        };
      }),
      start: () => start(),
    };
    reads.next = next;
    return next;
  }
}

function union(a: HistoryRange, b: HistoryRange): HistoryRange {
  const after = a.after === undefined ? b.after : b.after === undefined ? a.after : Math.min(a.after, b.after);
  return { after, tail: Math.max(a.tail ?? 0, b.tail ?? 0) };
}
