/**
 * Queue stats as a plain table for people (`mailroom stats`), drawn by `cli-table3` without borders or
 * colours, like `kubectl get`: a header row, one row per queue, numbers aligned right.
 */
import Table from "cli-table3";
import type { ListedQueue } from "./http-api.js";

const COLUMNS = ["QUEUE", "READY", "IN FLIGHT", "DELAYED", "DEAD-LETTERED", "CONSUMERS"];

/** Every border character blank, and no padding but the gap between columns. */
const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "   ",
};

export function statsTable(queues: readonly ListedQueue[]): string {
  const table = new Table({
    head: COLUMNS,
    chars: PLAIN_CHARS,
    colAligns: ["left", "right", "right", "right", "right", "right"],
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  for (const queue of queues) {
    table.push([queue.name, queue.ready, queue.inflight, queue.delayed, queue.deadLettered, queue.consumers]);
  }
  return table.toString();
}
