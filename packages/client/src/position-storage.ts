/**
 * Rooms' positions kept in a storage the application gives (`connect(url, { positionStorage })`), so that a
 * new client, a page loaded again, comes back to its rooms with `since` like a reconnect does.
 *
 * One entry per room, under `mailroom:position:<origin><namespace>:<room>` (the origin of the first node
 * URL), holding `{"epoch":"…","offset":12}`. An entry that does not parse is ignored, and a storage that
 * throws (full, or forbidden to the page) is as good as none: a position is a help, never a requirement.
 */
import type { RoomPosition } from "@mailroom/protocol";

/**
 * Where the client keeps rooms' positions: `sessionStorage` or `localStorage` in a browser, or anything
 * with the same two methods.
 * @example
 * const client = connect("https://mailroom.example.com", { positionStorage: sessionStorage });
 */
export interface PositionStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** One room's entry in a storage. */
export interface StoredPosition {
  load(): RoomPosition | undefined;
  save(position: RoomPosition): void;
}

/** The entry of `room` in `namespace` of the cluster at `url`. */
export function storedPosition(storage: PositionStorage, url: string, namespace: string, room: string): StoredPosition {
  const key = `mailroom:position:${originOf(url)}${namespace}:${room}`;
  return {
    load() {
      try {
        return parsePosition(storage.getItem(key));
      } catch {
        return undefined;
      }
    },
    save(position) {
      try {
        storage.setItem(key, JSON.stringify({ epoch: position.epoch, offset: position.offset }));
      } catch {
        // Full or forbidden: the room still recovers from its position in memory.
      }
    },
  };
}

function parsePosition(text: string | null): RoomPosition | undefined {
  if (text === null) return undefined;
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) return undefined;
  const { epoch, offset } = value as { epoch?: unknown; offset?: unknown };
  if (typeof epoch !== "string" || typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    return undefined;
  }
  return { epoch, offset };
}

/** `http://host:3000` of `http://host:3000/orders`; the text itself when it is not an absolute URL. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
