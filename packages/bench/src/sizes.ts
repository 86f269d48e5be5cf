/**
 * How big each scenario is in each mode. `full` is the run whose figures go into BENCHMARKS.md (under
 * ten minutes on the 2-core machine); `quick` takes about a minute; `smoke` only shows every part works.
 */

export type Mode = "full" | "quick" | "smoke";

export interface Sizes {
  /** Rounds of the rate scenarios (queue throughput, room fan-out); each system's best is reported. */
  rounds: number;
  /** Messages through each queue system at saturation. */
  throughputMessages: number;
  /** Messages per send batch (addBulk, sendBatch, a pipeline) and batches awaiting acceptance at once. */
  sendBatch: number;
  sendWindow: number;
  /**
   * Single sends in flight at once at saturation, for a client that does not batch (the stock
   * socket.io-client): PRODUCT.md's Socket.IO emit-and-ack peer keeps 64.
   */
  singleSendWindow: number;
  /**
   * queue-groups: the groups its grouped run deals `throughputMessages` to, in turn (issue 17 asks for
   * 1,000; the smoke run takes fewer, so that each group still gets several messages to order).
   */
  messageGroups: number;
  /**
   * queue-groups: rounds of the ungrouped and grouped runs side by side at saturation. The cost ratio is the
   * median of the rounds' own ratios: one run's Redis µs per message moves by a tenth from run to run on
   * a shared machine, and a pair of runs next to each other shares most of that.
   */
  groupRounds: number;
  /** Mailroom prefetch and RabbitMQ prefetch; BullMQ worker concurrency and raw-list workers. */
  prefetch: number;
  workerConcurrency: number;
  /** The latency run: an open-loop sender at this rate, for this long, the first warm-up seconds left out. */
  latencyRate: number;
  latencySeconds: number;
  latencyWarmupSeconds: number;
  /** Room fan-out: members across the two servers, publishes, publishes awaiting their ack at once. */
  fanoutMembers: number;
  fanoutPublishes: number;
  fanoutWindow: number;
  /** Idle sockets held on one server, and how many open at once. */
  idleSockets: number;
  connectBatch: number;
  /** How long the server is left alone before each memory reading, so start-up or connection work settles. */
  idleSettleMs: number;
  /** HTTP sends: autocannon's duration and connections, after a warm-up. */
  httpSeconds: number;
  httpWarmupSeconds: number;
  httpConnections: number;
  /**
   * Redis Cluster: the numbers of masters run in turn (a fresh cluster and two fresh nodes for each), the
   * queues the producer sends to in turn, and the messages of each run over all of them.
   */
  clusterMasters: number[];
  clusterQueues: number;
  clusterMessages: number;
}

const FULL: Sizes = {
  rounds: 2,
  throughputMessages: 50_000,
  sendBatch: 100,
  sendWindow: 4,
  singleSendWindow: 64,
  messageGroups: 1000,
  groupRounds: 5,
  prefetch: 100,
  workerConcurrency: 50,
  latencyRate: 2000,
  latencySeconds: 12,
  latencyWarmupSeconds: 2,
  fanoutMembers: 1000,
  fanoutPublishes: 300,
  fanoutWindow: 8,
  idleSockets: 10_000,
  connectBatch: 250,
  idleSettleMs: 2000,
  httpSeconds: 10,
  httpWarmupSeconds: 2,
  httpConnections: 50,
  clusterMasters: [1, 2, 3],
  clusterQueues: 64,
  clusterMessages: 100_000,
};

export const SIZES: Record<Mode, Sizes> = {
  full: FULL,
  quick: {
    ...FULL,
    rounds: 1,
    groupRounds: 1,
    throughputMessages: 10_000,
    latencySeconds: 2.5,
    latencyWarmupSeconds: 0.5,
    fanoutPublishes: 40,
    idleSockets: 1000,
    idleSettleMs: 1000,
    httpSeconds: 2,
    httpWarmupSeconds: 1,
    clusterMessages: 20_000,
  },
  smoke: {
    ...FULL,
    rounds: 1,
    groupRounds: 1,
    throughputMessages: 300,
    messageGroups: 20,
    latencyRate: 400,
    latencySeconds: 1,
    latencyWarmupSeconds: 0.25,
    fanoutMembers: 20,
    fanoutPublishes: 10,
    idleSockets: 50,
    connectBatch: 25,
    idleSettleMs: 200,
    httpSeconds: 0.5,
    httpWarmupSeconds: 0,
    httpConnections: 4,
    clusterMasters: [1, 2],
    clusterQueues: 4,
    clusterMessages: 400,
  },
};
