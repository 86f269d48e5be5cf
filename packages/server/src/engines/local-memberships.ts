/**
 * The memberships of this node's own sockets, by room. The memory registry answers from it; the Redis
 * registry uses it to keep its per-node room index exact and to write everything again after Redis
 * lost it (a restart with no persistence, or this node reaped while it was frozen).
 */
import type { Membership } from "./cluster-registry.js";

export class LocalMemberships {
  /** `namespace\nroom` -> socket id -> user. */
  private readonly rooms = new Map<string, Map<string, string | undefined>>();

  /** Adds a membership; returns whether the room had no local member before. */
  add({ namespace, room, socket, user }: Membership): boolean {
    const key = roomKey(namespace, room);
    let sockets = this.rooms.get(key);
    const isNewRoom = sockets === undefined;
    if (!sockets) {
      sockets = new Map();
      this.rooms.set(key, sockets);
    }
    sockets.set(socket, user);
    return isNewRoom;
  }

  /** Removes a membership; returns whether the room now has no local member. */
  remove({ namespace, room, socket }: Membership): boolean {
    const key = roomKey(namespace, room);
    const sockets = this.rooms.get(key);
    if (!sockets) return false;
    sockets.delete(socket);
    if (sockets.size > 0) return false;
    this.rooms.delete(key);
    return true;
  }

  membersOf(namespace: string, room: string): ReadonlyMap<string, string | undefined> {
    return this.rooms.get(roomKey(namespace, room)) ?? new Map();
  }

  /** Every room with members here, and how many. */
  roomCounts(): Array<{ namespace: string; room: string; members: number }> {
    return [...this.rooms].map(([key, sockets]) => {
      const split = key.indexOf("\n");
      return { namespace: key.slice(0, split), room: key.slice(split + 1), members: sockets.size };
    });
  }

  *all(): Generator<Membership> {
    for (const [key, sockets] of this.rooms) {
      const split = key.indexOf("\n");
      const namespace = key.slice(0, split);
      const room = key.slice(split + 1);
      for (const [socket, user] of sockets) yield { namespace, room, socket, user };
    }
  }
}

function roomKey(namespace: string, room: string): string {
  return `${namespace}\n${room}`;
}
