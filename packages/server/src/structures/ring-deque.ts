/**
 * A double-ended queue on a ring buffer: O(1) at both ends, growing and shrinking by halves, so a
 * million ready messages flow without `Array.shift`'s copying. Used by the memory engine for ready lists
 * and dedup windows.
 */

/** The smallest ring (a power of two, as the index masks need): small queues stay small. */
const MIN_DEQUE_CAPACITY = 16;

export class RingDeque<Item> {
  private slots: (Item | undefined)[] = new Array<Item | undefined>(MIN_DEQUE_CAPACITY).fill(undefined);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  peekFront(): Item | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  pushBack(item: Item): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count += 1;
  }

  pushFront(item: Item): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    this.head = (this.head - 1) & (this.slots.length - 1);
    this.slots[this.head] = item;
    this.count += 1;
  }

  popFront(): Item | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count -= 1;
    if (this.slots.length > MIN_DEQUE_CAPACITY && this.count <= this.slots.length / 4) {
      this.resize(this.slots.length / 2);
    }
    return item;
  }

  private resize(capacity: number): void {
    const slots = new Array<Item | undefined>(capacity).fill(undefined);
    const mask = this.slots.length - 1;
    for (let index = 0; index < this.count; index++) slots[index] = this.slots[(this.head + index) & mask];
    this.slots = slots;
    this.head = 0;
  }
}
