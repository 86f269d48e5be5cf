/**
 * What the dashboard and `GET /v1/namespaces` read (docs/protocol.md §12): the cluster in one snapshot,
 * taken from what the store and the registry already keep, never from other nodes directly. A snapshot is
 * bounded whatever the cluster holds (`MAX_QUEUES` queues, `MAX_ROOMS` rooms, each list saying when it was
 * cut), and the routes serve one snapshot per second however many dashboards poll. The rate sampler
 * (rate-sampler.ts) reads the queues' totals through the same listing (`queueTotals`).
 */
import type { ClusterRegistry, NodeRecord, RoomCount } from "../engines/cluster-registry.js";
import type { NodeStore } from "../engines/node-store.js";
import type { ListedQueue, QueueAddress, QueueEngine } from "../engines/queue-engine.js";
import type { QueueTotals, RateSamples } from "../engines/rate-samples.js";

/** Queues a snapshot lists at most, the worst first (see `byAttention`). */
export const MAX_QUEUES = 1000;
/** Rooms a snapshot lists at most, the most members first. */
export const MAX_ROOMS = 100;
/** Queues, the worst first, whose oldest ready message's age a snapshot reads (a peek of one each). */
export const OLDEST_AGE_QUEUES = 20;

export interface NamespaceSummary {
  name: string;
  /** Queues the namespace's queue list shows now. */
  queues: number;
  /** Connected sockets on every live node. */
  sockets: number;
}

export interface DashboardSnapshot {
  /** When it was taken (ms since the epoch, this node's clock). */
  at: number;
  /** The node that took it. */
  node: string;
  nodes: Array<Omit<NodeRecord, "namespaces"> & { self: boolean }>;
  store: {
    engine: "redis" | "memory";
    ready: boolean;
    problem?: string;
    dataLossDetected: number;
    usedMemoryBytes?: number;
    maxMemoryBytes?: number;
  };
  /** This node's event-loop delay (ms, mean of the last second). */
  eventLoopLagMs: number;
  namespaces: NamespaceSummary[];
  /**
   * With running totals `sent` and `acked` (a dashboard draws rates from two snapshots), and for the
   * `OLDEST_AGE_QUEUES` worst with ready messages, how long their oldest ready message has waited (ms).
   */
  queues: Array<ListedQueue & { namespace: string; oldestReadyAgeMs?: number }>;
  rooms: Array<{ namespace: string; name: string; members: number }>;
  truncated: { queues: boolean; rooms: boolean };
}

export interface OverviewSources {
  nodeId: string;
  /** The dashboard's rate samples, and how often the cluster takes one (ms): `GET /v1/dashboard/history`. */
  rateSamples: Pick<RateSamples, "read">;
  sampleIntervalMs: number;
  store: Pick<NodeStore, "engine" | "readiness" | "dataLoss" | "memoryUse">;
  engine: Pick<QueueEngine, "queueNamespaces" | "listQueues" | "peek" | "stats">;
  registry: Pick<ClusterRegistry, "nodes" | "rooms" | "queueConsumerCounts">;
  eventLoopLagMs: () => number;
}

/** The namespaces with queues or connected sockets now, by name. */
export async function namespaceSummaries(sources: OverviewSources): Promise<NamespaceSummary[]> {
  const [nodes, listed] = await Promise.all([sources.registry.nodes(), queuesByNamespace(sources)]);
  return summarize(nodes, listed);
}

/**
 * The running totals of the queues `only` names, or of every listed queue, read as the snapshot reads them
 * (the queue list of each namespace): what the dashboard's rate samples compare (rate-sampler.ts).
 */
export async function queueTotals(sources: OverviewSources, only?: QueueAddress[]): Promise<QueueTotals[]> {
  if (only) {
    return Promise.all(
      only.map(async (address) => {
        const { sent, acked } = await sources.engine.stats(address);
        return { ...address, sent, acked };
      }),
    );
  }
  const listed = await queuesByNamespace(sources);
  return [...listed].flatMap(([namespace, listing]) =>
    listing.queues.map(({ name, sent, acked }) => ({ namespace, queue: name, sent, acked })),
  );
}

export async function dashboardSnapshot(sources: OverviewSources): Promise<DashboardSnapshot> {
  const { store, registry, nodeId } = sources;
  const [nodes, listed, rooms, problem, memory] = await Promise.all([
    registry.nodes(),
    queuesByNamespace(sources),
    registry.rooms(MAX_ROOMS + 1),
    store.readiness.problem(),
    store.memoryUse(),
  ]);
  const queues = [...listed].flatMap(([namespace, listing]) =>
    listing.queues.map((queue) => ({ ...queue, namespace })),
  );
  queues.sort(byAttention);
  const listedQueues = queues.slice(0, MAX_QUEUES);
  await readOldestAges(sources.engine, listedQueues);
  const snapshot: DashboardSnapshot = {
    at: Date.now(),
    node: nodeId,
    nodes: nodes.map(({ namespaces: _namespaces, ...node }) => ({ ...node, self: node.id === nodeId })),
    store: { engine: store.engine, ready: problem === undefined, dataLossDetected: store.dataLoss().detected },
    eventLoopLagMs: sources.eventLoopLagMs(),
    namespaces: summarize(nodes, listed),
    queues: listedQueues,
    rooms: rooms.slice(0, MAX_ROOMS).map(roomOf),
    truncated: {
      queues: queues.length > MAX_QUEUES || [...listed.values()].some((listing) => listing.truncated),
      rooms: rooms.length > MAX_ROOMS,
    },
  };
  if (problem !== undefined) snapshot.store.problem = problem;
  if (memory?.usedBytes !== undefined) snapshot.store.usedMemoryBytes = memory.usedBytes;
  if (memory?.maxBytes !== undefined) snapshot.store.maxMemoryBytes = memory.maxBytes;
  return snapshot;
}

/** Sets `oldestReadyAgeMs` on the first `OLDEST_AGE_QUEUES` queues that have ready messages. */
async function readOldestAges(
  engine: Pick<QueueEngine, "peek">,
  queues: Array<ListedQueue & { namespace: string; oldestReadyAgeMs?: number }>,
): Promise<void> {
  const now = Date.now();
  const waiting = queues.filter((queue) => queue.ready > 0).slice(0, OLDEST_AGE_QUEUES);
  await Promise.all(
    waiting.map(async (queue) => {
      const [oldest] = await engine.peek({ namespace: queue.namespace, queue: queue.name }, "ready", 1);
      if (oldest) queue.oldestReadyAgeMs = Math.max(0, now - oldest.enqueuedAt);
    }),
  );
}

/** The worst first: dead letters, then messages with no consumer, then the deepest. */
function byAttention(first: ListedQueue, second: ListedQueue): number {
  return attention(second) - attention(first) || second.ready - first.ready;
}

function attention(queue: ListedQueue): number {
  let score = 0;
  if (queue.deadLettered > 0) score += 2;
  if (queue.ready > 0 && queue.consumers === 0) score += 1;
  return score;
}

async function queuesByNamespace(sources: OverviewSources) {
  const { engine, registry } = sources;
  const namespaces = await engine.queueNamespaces();
  const listings = await Promise.all(
    namespaces.map((namespace) =>
      engine.listQueues(namespace, (ns, queues) => registry.queueConsumerCounts(ns, queues)),
    ),
  );
  return new Map(namespaces.map((namespace, index) => [namespace, listings[index] as Awaited<(typeof listings)[0]>]));
}

function summarize(nodes: NodeRecord[], listed: Map<string, { queues: unknown[] }>): NamespaceSummary[] {
  const sockets = new Map<string, number>();
  for (const node of nodes) {
    for (const [name, count] of Object.entries(node.namespaces)) sockets.set(name, (sockets.get(name) ?? 0) + count);
  }
  const names = new Set([...sockets.keys()]);
  for (const [name, listing] of listed) if (listing.queues.length > 0) names.add(name);
  return [...names]
    .sort()
    .map((name) => ({ name, queues: listed.get(name)?.queues.length ?? 0, sockets: sockets.get(name) ?? 0 }));
}

function roomOf({ namespace, room, members }: RoomCount) {
  return { namespace, name: room, members };
}
