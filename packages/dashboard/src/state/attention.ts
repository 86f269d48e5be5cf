/**
 * The attention bar's items, from one snapshot: what an operator should look at now, worst first. Each
 * item says what is wrong in a sentence and, where one queue is at fault, links to it. Thresholds are
 * named below with why.
 */
import type { Snapshot, SnapshotNode } from "../api/snapshot.js";
import { isUnconsumed, listedQueues } from "./queue-rows.js";

export type Severity = "critical" | "warning";

export interface AttentionItem {
  severity: Severity;
  text: string;
  /** The queue the item is about, when it is about one. */
  queue?: { namespace: string; name: string };
}

/** A node whose last heartbeat is older than this is late: three of the default one-second heartbeats missed. */
export const LATE_HEARTBEAT_MS = 3000;
/** Redis memory above this share of `maxmemory` is a warning: writes fail at 100% (noeviction). */
export const MEMORY_WARNING_SHARE = 0.8;
/** ...and above this share it is critical. */
export const MEMORY_CRITICAL_SHARE = 0.95;
/** A ready message older than this is a warning: consumers are missing, too slow, or stuck. */
export const OLD_READY_MESSAGE_MS = 60_000;
/** How many queues an item names before it says "and N more". */
const NAMED_QUEUES = 3;

export function attentionItems(snapshot: Snapshot): AttentionItem[] {
  return [
    ...storeItems(snapshot),
    ...nodeItems(snapshot),
    ...deadLetterItems(snapshot),
    ...unconsumedItems(snapshot),
    ...oldMessageItems(snapshot),
  ].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
}

function severityRank(severity: Severity): number {
  return severity === "critical" ? 0 : 1;
}

function storeItems({ store }: Snapshot): AttentionItem[] {
  const items: AttentionItem[] = [];
  if (!store.ready) {
    items.push({
      severity: "critical",
      text: `The store (${store.engine}) is not ready${store.problem ? `: ${store.problem}` : ""}.`,
    });
  }
  if (store.dataLossDetected > 0) {
    items.push({
      severity: "critical",
      text: "Redis lost data it had accepted (restarted without persistence, restored from an old snapshot, failed over to an empty replica, or flushed): messages may be gone.",
    });
  }
  const share = memoryShare(store.usedMemoryBytes, store.maxMemoryBytes);
  if (share !== undefined && share >= MEMORY_WARNING_SHARE) {
    items.push({
      severity: share >= MEMORY_CRITICAL_SHARE ? "critical" : "warning",
      text: `Redis uses ${Math.round(share * 100)}% of its maxmemory: sends fail when it is full.`,
    });
  }
  return items;
}

/** Used memory as a share of the maximum; undefined when either is unknown or no maximum is set. */
export function memoryShare(used: number | undefined, maximum: number | undefined): number | undefined {
  if (used === undefined || maximum === undefined || maximum <= 0) return undefined;
  return used / maximum;
}

export function isLate(node: SnapshotNode, at: number): boolean {
  return at - node.lastSeenAt > LATE_HEARTBEAT_MS;
}

function nodeItems(snapshot: Snapshot): AttentionItem[] {
  const items: AttentionItem[] = [];
  const late = snapshot.nodes.filter((node) => isLate(node, snapshot.at));
  if (late.length > 0) {
    items.push({
      severity: "warning",
      text: `${plural(late.length, "node has", "nodes have")} not sent a heartbeat for over ${LATE_HEARTBEAT_MS / 1000} s: ${late.map((node) => node.id).join(", ")}.`,
    });
  }
  const draining = snapshot.nodes.filter((node) => node.draining && !isLate(node, snapshot.at));
  if (draining.length > 0) {
    items.push({
      severity: "warning",
      text: `${plural(draining.length, "node is", "nodes are")} draining (not ready): ${draining.map((node) => node.id).join(", ")}.`,
    });
  }
  return items;
}

function deadLetterItems(snapshot: Snapshot): AttentionItem[] {
  const holding = listedQueues(snapshot.queues)
    .filter((queue) => queue.deadLettered > 0)
    .sort((a, b) => b.deadLettered - a.deadLettered);
  const worst = holding[0];
  if (worst === undefined) return [];
  const total = holding.reduce((sum, queue) => sum + queue.deadLettered, 0);
  return [
    {
      severity: "warning",
      text: `${plural(total, "dead letter", "dead letters")} in ${plural(holding.length, "queue", "queues")}: ${names(holding)}.`,
      queue: { namespace: worst.namespace, name: worst.name },
    },
  ];
}

function unconsumedItems(snapshot: Snapshot): AttentionItem[] {
  const unconsumed = listedQueues(snapshot.queues)
    .filter(isUnconsumed)
    .sort((a, b) => b.ready - a.ready);
  const worst = unconsumed[0];
  if (worst === undefined) return [];
  return [
    {
      severity: "warning",
      text: `${plural(unconsumed.length, "queue has", "queues have")} ready messages and no consumer: ${names(unconsumed)}.`,
      queue: { namespace: worst.namespace, name: worst.name },
    },
  ];
}

function oldMessageItems(snapshot: Snapshot): AttentionItem[] {
  const old = snapshot.queues
    .filter((queue) => (queue.oldestReadyAgeMs ?? 0) > OLD_READY_MESSAGE_MS)
    .sort((a, b) => (b.oldestReadyAgeMs ?? 0) - (a.oldestReadyAgeMs ?? 0));
  const worst = old[0];
  if (worst === undefined) return [];
  const minutes = Math.floor((worst.oldestReadyAgeMs ?? 0) / 60_000);
  return [
    {
      severity: "warning",
      text: `The oldest ready message has waited ${minutes} min, in ${qualifiedName(worst.namespace, worst.name)}${old.length > 1 ? ` (${old.length} queues hold messages over ${OLD_READY_MESSAGE_MS / 60_000} min old)` : ""}.`,
      queue: { namespace: worst.namespace, name: worst.name },
    },
  ];
}

function names(queues: ReadonlyArray<{ namespace: string; name: string }>): string {
  const shown = queues.slice(0, NAMED_QUEUES).map((queue) => qualifiedName(queue.namespace, queue.name));
  const more = queues.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}

/** `orders` in the default namespace, `/shop orders` elsewhere. */
export function qualifiedName(namespace: string, name: string): string {
  return namespace === "/" ? name : `${namespace} ${name}`;
}

export function plural(count: number, one: string, many: string): string {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}
