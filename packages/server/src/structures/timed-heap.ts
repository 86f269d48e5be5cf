/**
 * A binary min-heap of timed work, by due time and then by generation: the memory engine keeps every
 * lease deadline, delay and dedup expiry of every queue in one, under one timer. Entries it no longer
 * needs are dropped lazily (`retain`), not searched for.
 */

/** What the heap orders: when it is due, and a sequence number that breaks ties in scheduling order. */
export interface Timed {
  due: number;
  generation: number;
}

/** A binary min-heap of timed entries, by due time and then by generation (the order they were scheduled). */
export class TimedHeap<Entry extends Timed> {
  private entries: Entry[] = [];

  get size(): number {
    return this.entries.length;
  }

  peek(): Entry | undefined {
    return this.entries[0];
  }

  push(entry: Entry): void {
    this.entries.push(entry);
    this.siftUp(this.entries.length - 1);
  }

  pop(): Entry | undefined {
    const top = this.entries[0];
    const last = this.entries.pop();
    if (this.entries.length === 0) this.entries = [];
    else if (last) {
      this.entries[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Keeps only the entries `keep` accepts, in a new, smaller array. */
  retain(keep: (entry: Entry) => boolean): void {
    this.entries = this.entries.filter(keep);
    for (let index = (this.entries.length >> 1) - 1; index >= 0; index--) this.siftDown(index);
  }

  clear(): void {
    this.entries = [];
  }

  private siftUp(start: number): void {
    const entries = this.entries;
    const entry = entries[start] as Entry;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = entries[parentIndex] as Entry;
      if (!comesBefore(entry, parent)) break;
      entries[index] = parent;
      index = parentIndex;
    }
    entries[index] = entry;
  }

  private siftDown(start: number): void {
    const entries = this.entries;
    const entry = entries[start] as Entry;
    let index = start;
    for (;;) {
      let childIndex = index * 2 + 1;
      if (childIndex >= entries.length) break;
      const rightIndex = childIndex + 1;
      if (rightIndex < entries.length && comesBefore(entries[rightIndex] as Entry, entries[childIndex] as Entry)) {
        childIndex = rightIndex;
      }
      const child = entries[childIndex] as Entry;
      if (!comesBefore(child, entry)) break;
      entries[index] = child;
      index = childIndex;
    }
    entries[index] = entry;
  }
}

function comesBefore(first: Timed, second: Timed): boolean {
  return first.due < second.due || (first.due === second.due && first.generation < second.generation);
}
