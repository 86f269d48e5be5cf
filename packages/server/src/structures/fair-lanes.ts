/**
 * The ready messages of one queue with groups and priorities (docs/protocol.md §11), in the order they
 * may leave: the memory engine's ready line. queue-lanes.lua keeps the same structure in Redis and takes in
 * the same order, a pass of a rotation at a time (test/lanes-differential.test.ts holds them to it).
 *
 * - Per priority level (0–9, higher first, strictly): one lane of ungrouped messages, and a rotation of
 *   the groups whose head has that priority and that have no message out.
 * - A group holds its ready messages in acceptance order. Taking its head puts the group out (`out`):
 *   none of its messages leaves until `release`, which puts it back in the rotation of its new head.
 * - Within a level, takes go round robin across the groups of the rotation; the lane is one member of it
 *   while it holds messages (and is taken from directly, in bulk, while no group is in the rotation).
 * Entries of a rotation are checked when taken: a group moved to another level leaves a stale entry, skipped.
 * O(1) per message, amortized.
 */
import { RingDeque } from "./ring-deque.js";

export const PRIORITY_LEVELS = 10;
/** The rotation's stand-in for the level's lane of ungrouped messages (no group is named so: 1+ chars). */
const LANE = "";

export interface Placement {
  group?: string | undefined;
  priority: number;
}

/** What `take` gives: a message, its group (now out) and its priority. */
export interface Taken<Id> extends Placement {
  id: Id;
}

interface Level<Id> {
  lane: RingDeque<Id>;
  turns: RingDeque<string>;
  laneInTurns: boolean;
}

interface Group<Id> {
  items: RingDeque<{ id: Id; priority: number }>;
  /** A message of the group is out (leased, or held back by a delayed requeue). */
  out: boolean;
  /** The level whose rotation holds the group's entry, if one does. */
  turnLevel: number | undefined;
}

export class FairLanes<Id> {
  private readonly levels: Level<Id>[] = Array.from({ length: PRIORITY_LEVELS }, () => ({
    lane: new RingDeque<Id>(),
    turns: new RingDeque<string>(),
    laneInTurns: false,
  }));
  private readonly groups = new Map<string, Group<Id>>();
  private count = 0;

  /** How many messages are ready. */
  get length(): number {
    return this.count;
  }

  /** Adds a ready message at the tail of its group or lane (`atHead`: at the head). */
  add(id: Id, placement: Placement, atHead = false): void {
    this.count += 1;
    const { group: name, priority } = placement;
    if (name === undefined) {
      const lane = this.levels[priority]?.lane;
      if (!lane) throw new RangeError(`no priority ${priority}`);
      if (atHead) lane.pushFront(id);
      else lane.pushBack(id);
      return;
    }
    const group = this.groupOf(name);
    if (atHead) group.items.pushFront({ id, priority });
    else group.items.pushBack({ id, priority });
    if (!group.out) this.enterRotation(name, group);
  }

  /** The next message that may leave, or undefined; its group is out until `release`. */
  take(): Taken<Id> | undefined {
    for (let priority = PRIORITY_LEVELS - 1; priority >= 0; priority -= 1) {
      const level = this.levels[priority] as Level<Id>;
      if (level.turns.length > 0 && level.lane.length > 0 && !level.laneInTurns) {
        level.turns.pushBack(LANE);
        level.laneInTurns = true;
      }
      for (let member = level.turns.popFront(); member !== undefined; member = level.turns.popFront()) {
        if (member === LANE) {
          level.laneInTurns = false;
          const id = level.lane.popFront();
          if (id === undefined) continue;
          if (level.lane.length > 0) {
            level.turns.pushBack(LANE);
            level.laneInTurns = true;
          }
          this.count -= 1;
          return { id, priority };
        }
        const group = this.groups.get(member);
        if (!group || group.out || group.turnLevel !== priority) continue;
        group.turnLevel = undefined;
        const head = group.items.popFront();
        if (!head) continue;
        group.out = true;
        this.count -= 1;
        return { id: head.id, group: member, priority: head.priority };
      }
      const id = level.lane.popFront();
      if (id !== undefined) {
        this.count -= 1;
        return { id, priority };
      }
    }
    return undefined;
  }

  /**
   * The group's message is settled, or back in it: its next head may leave. Returns whether one may
   * (takers that found nothing are then to be woken).
   */
  release(name: string): boolean {
    const group = this.groups.get(name);
    if (!group) return false;
    group.out = false;
    if (group.items.length === 0) {
      this.groups.delete(name);
      return false;
    }
    this.enterRotation(name, group);
    return true;
  }

  /** Keeps the group out with no message leased (a delayed requeue holds its place). */
  hold(name: string): void {
    this.groupOf(name).out = true;
  }

  /** Takes every ready message out (a purge); groups that are out stay out. */
  drain(): Id[] {
    const ids: Id[] = [];
    for (const level of this.levels) {
      for (let id = level.lane.popFront(); id !== undefined; id = level.lane.popFront()) ids.push(id);
      while (level.turns.popFront() !== undefined);
      level.laneInTurns = false;
    }
    for (const [name, group] of this.groups) {
      for (let item = group.items.popFront(); item; item = group.items.popFront()) ids.push(item.id);
      group.turnLevel = undefined;
      if (!group.out) this.groups.delete(name);
    }
    this.count = 0;
    return ids;
  }

  private groupOf(name: string): Group<Id> {
    let group = this.groups.get(name);
    if (!group) {
      group = { items: new RingDeque(), out: false, turnLevel: undefined };
      this.groups.set(name, group);
    }
    return group;
  }

  /** Puts the group in the rotation of its head's priority, unless it is there already. */
  private enterRotation(name: string, group: Group<Id>): void {
    const head = group.items.peekFront();
    if (!head || group.turnLevel === head.priority) return;
    group.turnLevel = head.priority;
    (this.levels[head.priority] as Level<Id>).turns.pushBack(name);
  }
}
