/**
 * The small data structures of the server (packages/server/src/structures): the ring deque behind the
 * memory engine's ready lists, the timed heap behind its one timer, each checked against a plain model.
 */
import { describe, expect, it } from "vitest";
import { RingDeque } from "../packages/server/src/structures/ring-deque.js";
import { TimedHeap } from "../packages/server/src/structures/timed-heap.js";

describe("RingDeque", () => {
  it("keeps order at both ends through growth and shrinking, as an array would", () => {
    const deque = new RingDeque<number>();
    const model: number[] = [];
    let next = 0;
    // A deterministic walk: grow past several doublings, drain below a quarter, mix both ends.
    for (let step = 0; step < 5000; step += 1) {
      const choice = (step * 7919) % 10;
      if (choice < 4) {
        deque.pushBack(next);
        model.push(next++);
      } else if (choice < 6) {
        deque.pushFront(next);
        model.unshift(next++);
      } else {
        expect(deque.popFront()).toBe(model.shift());
      }
      expect(deque.length).toBe(model.length);
      expect(deque.peekFront()).toBe(model[0]);
    }
    while (model.length > 0) expect(deque.popFront()).toBe(model.shift());
    expect(deque.popFront()).toBeUndefined();
    expect(deque.length).toBe(0);
  });
});

describe("TimedHeap", () => {
  it("pops by due time, and equal due times in the order they were scheduled", () => {
    const heap = new TimedHeap<{ due: number; generation: number; name: string }>();
    const entries = Array.from({ length: 500 }, (_unused, generation) => ({
      due: (generation * 37) % 50,
      generation,
      name: `e${generation}`,
    }));
    for (const entry of entries) heap.push(entry);
    const expected = [...entries].sort((a, b) => a.due - b.due || a.generation - b.generation);
    expect(heap.peek()).toBe(expected[0]);
    const popped = [];
    while (heap.size > 0) popped.push(heap.pop());
    expect(popped).toEqual(expected);
    expect(heap.pop()).toBeUndefined();
  });

  it("keeps only what retain accepts, still in heap order", () => {
    const heap = new TimedHeap<{ due: number; generation: number }>();
    for (let generation = 0; generation < 100; generation += 1) heap.push({ due: 100 - generation, generation });
    heap.retain((entry) => entry.generation % 3 === 0);
    const dues = [];
    while (heap.size > 0) dues.push(heap.pop()?.due);
    expect(dues).toEqual([...dues].sort((a, b) => (a as number) - (b as number)));
    expect(dues).toHaveLength(34);
  });
});
