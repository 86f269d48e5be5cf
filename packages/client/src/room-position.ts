/**
 * Where a room handle is in its room's history (docs/protocol.md §10): the epoch and offset of the last
 * publication it delivered, so that it can come back with `since` and never hand a publication over twice.
 *
 * Invariants: the position only moves forward within an epoch; a publication at or before it is a
 * duplicate; a publication of another epoch starts the position again there. The client's own publications
 * sent without `echo` never reach its handlers, so their offsets count as delivered: the position steps
 * over them once everything before them has arrived, and a replay that holds them (after a reconnect the
 * node no longer knows they were this client's) drops them.
 * It knows nothing of sockets, joins or storage: the room handle feeds it and is told of every change.
 */
import type { RoomPosition } from "@mailroom/protocol";

/**
 * The most offsets of its own publications a handle remembers while the ones before them are on their way:
 * beyond it, the oldest is forgotten (at worst, that publication is replayed to its publisher once).
 */
const MAX_OWN_OFFSETS = 1000;

export class RoomPositionTracker {
  private current: RoomPosition | undefined;
  /** Offsets after `current`, of `current`'s epoch, of publications this client sent without echo. */
  private readonly ownOffsets = new Set<number>();

  /** `changed` is called with every new position (for storage); never with `undefined`. */
  constructor(
    initial: RoomPosition | undefined,
    private readonly changed: (position: RoomPosition) => void = () => {},
  ) {
    this.current = initial && { epoch: initial.epoch, offset: initial.offset };
  }

  /** The last publication delivered, or the room's position when the last join took effect; a copy. */
  get position(): RoomPosition | undefined {
    return this.current && { epoch: this.current.epoch, offset: this.current.offset };
  }

  /**
   * Whether a publication at `position` shows that some before it were lost: it is of another epoch (the
   * store lost the room's history) and not the first of it.
   */
  followsLoss(position: RoomPosition): boolean {
    return this.current !== undefined && position.epoch !== this.current.epoch && position.offset !== 1;
  }

  /**
   * A publication at `position` arrived: whether to deliver it. A duplicate is not delivered and changes
   * nothing; this client's own publication is not delivered, but its position is taken like any other's.
   */
  take(position: RoomPosition): boolean {
    if (this.isDelivered(position)) return false;
    const own = position.epoch === this.current?.epoch && this.ownOffsets.has(position.offset);
    this.moveTo(position);
    return !own;
  }

  /**
   * A join's answer: the room's position when the join took effect. Everything up to it was emitted before
   * the answer, so it is taken unless the handle is already past it.
   */
  joined(position: RoomPosition): void {
    if (!this.isDelivered(position)) this.moveTo(position);
  }

  /** A position the application gives (`join({ since })`): taken unless the handle is already past it. */
  assume(position: RoomPosition): void {
    if (!this.isDelivered(position)) this.moveTo(position);
  }

  /** This client published at `position` without echo: the publication never reaches its handlers. */
  published(position: RoomPosition): void {
    if (this.current === undefined || this.isDelivered(position)) return;
    this.ownOffsets.add(position.offset);
    if (this.ownOffsets.size > MAX_OWN_OFFSETS) this.ownOffsets.delete(Math.min(...this.ownOffsets));
    this.moveTo(this.current);
  }

  /** The room's history was lost (recovery refused): the next publication or join answer starts again. */
  forget(): void {
    this.current = undefined;
    this.ownOffsets.clear();
  }

  private isDelivered(position: RoomPosition): boolean {
    return (
      this.current !== undefined && position.epoch === this.current.epoch && position.offset <= this.current.offset
    );
  }

  /** Takes `position`, then steps over this client's own publications that follow it. */
  private moveTo(position: RoomPosition): void {
    if (position.epoch !== this.current?.epoch) this.ownOffsets.clear();
    let { offset } = position;
    for (const own of this.ownOffsets) if (own <= offset) this.ownOffsets.delete(own);
    while (this.ownOffsets.delete(offset + 1)) offset += 1;
    if (this.current?.epoch === position.epoch && this.current.offset === offset) return;
    this.current = { epoch: position.epoch, offset };
    this.changed({ epoch: position.epoch, offset });
  }
}
