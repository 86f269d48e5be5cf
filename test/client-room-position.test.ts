/**
 * The SDK's position in a room's history (packages/client/src/room-position.ts), on its own: duplicates by
 * offset, a new epoch, a loss, a join's answer, a position the application gives, and the client's own
 * publications sent without echo, which its handlers never get and a replay must not hand them.
 */
import { describe, expect, it } from "vitest";
import { RoomPositionTracker } from "../packages/client/src/room-position.js";

const at = (offset: number, epoch = "e1") => ({ epoch, offset });

describe("RoomPositionTracker", () => {
  it("delivers each offset of an epoch once and moves only forward", () => {
    const tracker = new RoomPositionTracker(undefined);
    expect([1, 2, 2, 3, 1, 5, 4].map((offset) => tracker.take(at(offset)))).toEqual([
      true,
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
    expect(tracker.position).toEqual(at(5));
  });

  it("starts again in a new epoch, and calls a new epoch that does not start at 1 a loss", () => {
    const tracker = new RoomPositionTracker(at(7));
    expect(tracker.followsLoss(at(1, "e2"))).toBe(false);
    expect(tracker.followsLoss(at(3, "e2"))).toBe(true);
    expect(tracker.followsLoss(at(9))).toBe(false);
    expect(tracker.take(at(3, "e2"))).toBe(true);
    expect(tracker.position).toEqual(at(3, "e2"));
    expect(new RoomPositionTracker(undefined).followsLoss(at(3))).toBe(false);
  });

  it("takes a join's answer or a given position only when it is not behind", () => {
    const tracker = new RoomPositionTracker(at(5));
    tracker.joined(at(4));
    tracker.assume(at(2));
    expect(tracker.position).toEqual(at(5));
    tracker.joined(at(8));
    expect(tracker.position).toEqual(at(8));
    tracker.assume(at(3, "e2"));
    expect(tracker.position).toEqual(at(3, "e2"));
    tracker.forget();
    expect(tracker.position).toBeUndefined();
    expect(tracker.take(at(1, "e3"))).toBe(true);
  });

  it("steps over the client's own publications once those before them arrive, and drops them from a replay", () => {
    const tracker = new RoomPositionTracker(at(2));
    tracker.published(at(3));
    expect(tracker.position).toEqual(at(3));
    // Offset 4 (another's) is on its way when the answer of 5 comes back.
    tracker.published(at(5));
    expect(tracker.position).toEqual(at(3));
    expect(tracker.take(at(4))).toBe(true);
    expect(tracker.position).toEqual(at(5));

    // Back from a reconnect at 5 with 6 missing: a replay of 6, 7 (own), 8 hands over 6 and 8 only.
    tracker.published(at(7));
    expect([6, 7, 8].map((offset) => tracker.take(at(offset)))).toEqual([true, false, true]);
    expect(tracker.position).toEqual(at(8));
    // An answer that comes back after a later publication arrived changes nothing.
    tracker.published(at(8));
    expect(tracker.position).toEqual(at(8));
  });

  it("tells its storage every new position, and nothing when the position stays", () => {
    const saved: unknown[] = [];
    const tracker = new RoomPositionTracker(undefined, (position) => saved.push(position));
    tracker.published(at(1));
    tracker.take(at(1));
    tracker.take(at(1));
    tracker.joined(at(1));
    tracker.take(at(2));
    expect(saved).toEqual([at(1), at(2)]);
  });
});
