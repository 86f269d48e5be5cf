/**
 * A real Redis Cluster of the test's own (3 masters with one replica each by default): `redis-server`
 * processes on free ports, joined by `redis-cli --cluster create`, every node in a directory of its own
 * under one temporary directory. Killed (SIGKILL) and the directory removed after the test.
 *
 * Binaries only, no Docker: a cluster in containers must announce host-reachable addresses
 * (`cluster-announce-ip/port/bus-port`) or clients follow MOVED redirections to container addresses they
 * cannot reach; the binaries on 127.0.0.1 need none of that and run wherever `redis-server` is installed.
 * `.ci/run` installs Debian's redis-server, which brings `redis-cli`; a missing binary fails with what to install.
 *
 * Each node's `nodes-<port>.conf` survives `kill`, so `restart` brings the node back on the same port with
 * the same id and it rejoins the cluster (a master that was failed over in the meantime comes back as a
 * replica of its successor). Without `appendfsync` a restarted node comes back without data: restart a
 * killed master only after its replica took over, or the replica resyncs from the empty master.
 * A node listens for its peers on port + 10000 (the cluster bus), so both ports are picked free.
 * Questions about the cluster (`masterFor`, `mastersNow`, `replicaOf`) take the view of the first live
 * node; after a kill call `waitHealthy` first, which waits until every live node shares one view.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { onCleanup } from "./cleanup.js";
import { freePortPair } from "./ports.js";
import {
  ask,
  connectOnce,
  infoField,
  launchRedisServer,
  type RedisProcess,
  requireBinaries,
  roleOf,
} from "./redis-processes.js";
import { waitFor } from "./wait.js";

/** Redis Cluster's fixed distance between a node's client port and its cluster bus port. */
const CLUSTER_BUS_PORT_OFFSET = 10_000;
/** The number of hash slots of every Redis Cluster. */
const SLOT_COUNT = 16_384;
/** How long a node may be unreachable before it is failing: short, so a failover takes seconds. */
const NODE_TIMEOUT_MS = 1000;
/** Bound on the cluster settling after a creation, failover or kill (failover itself takes 2–4 s). */
const HEALTHY_TIMEOUT_MS = 30_000;
/** Bound on `redis-cli --cluster create`, which polls the joining nodes once a second. */
const CREATE_TIMEOUT_MS = 60_000;
/** Keys moved by one MIGRATE while moving a slot. */
const KEYS_PER_MIGRATE = 100;
/** How long one MIGRATE may wait for the target node. */
const MIGRATE_TIMEOUT_MS = 5000;
/** Attempts to start a node on a fresh port when another process took the picked one first. */
const PORT_ATTEMPTS = 3;

export interface RedisClusterOptions {
  /** Masters, each holding an equal share of the slots; redis-cli creates no cluster of fewer than 3. @default 3 */
  masters?: number;
  /** Replicas of each master. @default 1 */
  replicasPerMaster?: number;
  /**
   * Keep an append-only file per node, fsynced at every write (`always`) or once a second (`everysec`), so a
   * restarted node reloads its data. @default no persistence
   */
  appendfsync?: "always" | "everysec";
  /** Stop it after the current test (false: the caller stops it, e.g. in `afterAll`). @default true */
  stopAfterTest?: boolean;
}

export type ClusterRole = "master" | "replica";

export interface ClusterNode {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  /** The node's cluster id (CLUSTER MYID), the same after a restart. */
  readonly id: string;
  /** What the node says it is now (ROLE); fails while it is killed or paused. */
  role(): Promise<ClusterRole>;
  /** Whether the process runs and is not paused. */
  live(): boolean;
  /** Stops the node at once (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same directory and cluster config, so it rejoins. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered, peers see it fail. */
  pause(): void;
  /** Lets a paused process run again (SIGCONT). */
  resume(): void;
}

export interface RedisCluster {
  /** Every node, masters and replicas as created, sorted by port. */
  readonly nodes: readonly ClusterNode[];
  /** redis://127.0.0.1:port of every node, for a cluster client's startup nodes. */
  readonly seedUrls: readonly string[];
  /** The hash slot of `key` (CLUSTER KEYSLOT, so hash tags count as Redis counts them). */
  slotOf(key: string): Promise<number>;
  /** The master the cluster assigns `key`'s slot to now. */
  masterFor(key: string): Promise<ClusterNode>;
  /** The masters that hold slots now, as the cluster sees them (a just-killed one until it is failed over). */
  mastersNow(): Promise<ClusterNode[]>;
  /** A live replica of `master`; fails if it has none. */
  replicaOf(master: ClusterNode): Promise<ClusterNode>;
  /**
   * Promotes `replica` (CLUSTER FAILOVER) and waits until it reports master and the cluster is healthy.
   * Plain mode needs its master up; `FORCE` does without the master, `TAKEOVER` without any agreement.
   */
  failover(replica: ClusterNode, mode?: "FORCE" | "TAKEOVER"): Promise<void>;
  /**
   * Waits until every live node reports cluster_state:ok, all live nodes agree which master holds each of
   * the 16384 slots, every such master is live, every live replica's link to its master is up, and every
   * live node sees every other live node as that node sees itself (not failing, same role, same master).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Moves `slot` with its keys to the master `to` (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE in batches,
   * SETSLOT NODE), then waits until the cluster is healthy. Clients that follow ASK and MOVED lose no key
   * written meanwhile: a key missing from the source during the move is served by the target.
   */
  migrateSlot(slot: number, to: ClusterNode): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 1, appendfsync, stopAfterTest = true } = options;
  if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, not ${masters}`);
  requireBinaries(["redis-server", "redis-cli"]);
  const directory = mkdtempSync(join(tmpdir(), "mailroom-redis-cluster-"));
  const nodes: ManagedNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(directory, { recursive: true, force: true });
  };
  if (stopAfterTest) onCleanup(stop);
  try {
    await startNodes(nodes, masters * (1 + replicasPerMaster), directory, appendfsync);
    await createCluster(nodes, replicasPerMaster);
    const cluster = new ManagedCluster(nodes, stop);
    await cluster.waitHealthy();
    for (const node of nodes) node.id = String(await ask(node.port, "CLUSTER", "MYID"));
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts `count` nodes, all at once, each on a port pair free when picked; every started one lands in `nodes`. */
async function startNodes(
  nodes: ManagedNode[],
  count: number,
  directory: string,
  appendfsync: RedisClusterOptions["appendfsync"],
): Promise<void> {
  const taken = new Set<number>();
  const startOne = async () => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePortPair(CLUSTER_BUS_PORT_OFFSET, taken);
      taken.add(port).add(port + CLUSTER_BUS_PORT_OFFSET);
      const node = new ManagedNode(port, nodeArguments(port, directory, appendfsync));
      try {
        await node.launch();
        nodes.push(node);
        return;
      } catch (error) {
        if (attempt === PORT_ATTEMPTS || !String(error).includes("Address already in use")) throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: count }, startOne));
  const failure = results.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
  nodes.sort((a, b) => a.port - b.port);
}

function nodeArguments(port: number, directory: string, appendfsync: RedisClusterOptions["appendfsync"]): string[] {
  const nodeDirectory = join(directory, String(port));
  mkdirSync(nodeDirectory);
  return [
    ...["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", nodeDirectory],
    ...["--cluster-enabled", "yes", "--cluster-config-file", join(nodeDirectory, `nodes-${port}.conf`)],
    ...["--cluster-node-timeout", String(NODE_TIMEOUT_MS)],
    // A replica may take over however long it lost touch with its master: tests kill masters at will.
    ...["--cluster-replica-validity-factor", "0"],
    ...["--cluster-allow-reads-when-down", "no"],
    // Redis 7 waits 5 s for more replicas before a full sync; a test has no time to wait.
    ...["--repl-diskless-sync-delay", "0"],
    ...["--save", ""],
    ...(appendfsync ? ["--appendonly", "yes", "--appendfsync", appendfsync] : ["--appendonly", "no"]),
  ];
}

async function createCluster(nodes: readonly ManagedNode[], replicasPerMaster: number): Promise<void> {
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  const args = ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"];
  try {
    await promisify(execFile)("redis-cli", args, { timeout: CREATE_TIMEOUT_MS });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`redis-cli ${args.join(" ")} failed: ${stdout}${stderr}`, { cause: error });
  }
}

class ManagedNode implements ClusterNode {
  readonly url: string;
  id = "";
  private process: RedisProcess | undefined;
  private paused = false;

  constructor(
    readonly port: number,
    private readonly args: readonly string[],
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async launch(): Promise<void> {
    this.process = await launchRedisServer(this.args);
    this.paused = false;
  }

  role(): Promise<ClusterRole> {
    return roleOf(this.port) as Promise<ClusterRole>;
  }

  live(): boolean {
    return this.process?.running() === true && !this.paused;
  }

  async kill(): Promise<void> {
    await this.process?.kill();
    this.process = undefined;
    this.paused = false;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  pause(): void {
    this.running().signal("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.running().signal("SIGCONT");
    this.paused = false;
  }

  private running(): RedisProcess {
    if (!this.process?.running()) throw new Error(`cluster node ${this.port} is not running`);
    return this.process;
  }
}

/** One line of CLUSTER NODES, the fields the helper uses. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  /** The id of the master this node replicates, for a replica. */
  masterId: string | undefined;
}

function parseNodeLines(reply: unknown): NodeLine[] {
  return String(reply)
    .trim()
    .split("\n")
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-"] = line.split(" ");
      return {
        id,
        port: Number(address.split("@")[0]?.split(":").pop()),
        flags: flags.split(","),
        masterId: master === "-" ? undefined : master,
      };
    });
}

/** One range of CLUSTER SLOTS: its first and last slot and the port of the master holding it. */
interface SlotRange {
  first: number;
  last: number;
  masterPort: number;
}

function parseSlotRanges(reply: unknown): SlotRange[] {
  return (reply as [number, number, [string, number, ...unknown[]], ...unknown[]][])
    .map(([first, last, [, masterPort]]) => ({ first, last, masterPort }))
    .sort((a, b) => a.first - b.first);
}

class ManagedCluster implements RedisCluster {
  readonly seedUrls: readonly string[];

  constructor(
    readonly nodes: readonly ManagedNode[],
    readonly stop: () => Promise<void>,
  ) {
    this.seedUrls = nodes.map((node) => node.url);
  }

  async slotOf(key: string): Promise<number> {
    return Number(await this.askAnyLive("CLUSTER", "KEYSLOT", key));
  }

  async masterFor(key: string): Promise<ClusterNode> {
    const slot = await this.slotOf(key);
    const ranges = parseSlotRanges(await this.askAnyLive("CLUSTER", "SLOTS"));
    const range = ranges.find(({ first, last }) => first <= slot && slot <= last);
    if (!range) throw new Error(`no master holds slot ${slot} of ${key}`);
    return this.nodeOn(range.masterPort);
  }

  async mastersNow(): Promise<ClusterNode[]> {
    const ranges = parseSlotRanges(await this.askAnyLive("CLUSTER", "SLOTS"));
    const ports = [...new Set(ranges.map((range) => range.masterPort))].sort((a, b) => a - b);
    return ports.map((port) => this.nodeOn(port));
  }

  async replicaOf(master: ClusterNode): Promise<ClusterNode> {
    const lines = parseNodeLines(await this.askAnyLive("CLUSTER", "NODES"));
    const replica = lines
      .filter((line) => line.masterId === master.id && !line.flags.includes("fail"))
      .map((line) => this.nodeOn(line.port))
      .find((node) => node.live());
    if (!replica) throw new Error(`master ${master.port} has no live replica`);
    return replica;
  }

  async failover(replica: ClusterNode, mode?: "FORCE" | "TAKEOVER"): Promise<void> {
    await ask(replica.port, "CLUSTER", "FAILOVER", ...(mode ? [mode] : []));
    await waitFor(async () => (await replica.role()) === "master", {
      timeoutMs: HEALTHY_TIMEOUT_MS,
      what: `replica ${replica.port} to become master`,
    });
    await this.waitHealthy();
  }

  async waitHealthy(timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
    await waitFor(
      async () => {
        const problem = await this.healthProblem();
        if (problem) throw new Error(problem);
        return true;
      },
      { timeoutMs, intervalMs: 100, what: "a healthy Redis Cluster (the cause names what was still wrong)" },
    );
  }

  async migrateSlot(slot: number, to: ClusterNode): Promise<void> {
    const ranges = parseSlotRanges(await this.askAnyLive("CLUSTER", "SLOTS"));
    const from = this.nodeOn(ranges.find(({ first, last }) => first <= slot && slot <= last)?.masterPort ?? -1);
    if (from === to) return;
    await ask(to.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", from.id);
    await ask(from.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", to.id);
    const source = await connectOnce(from.port);
    try {
      for (;;) {
        const keys = (await source.callBuffer("CLUSTER", "GETKEYSINSLOT", slot, KEYS_PER_MIGRATE)) as Buffer[];
        if (keys.length === 0) break;
        await source.callBuffer("MIGRATE", "127.0.0.1", to.port, "", 0, MIGRATE_TIMEOUT_MS, "KEYS", ...keys);
      }
    } finally {
      source.disconnect();
    }
    // The new owner first, then the old one, then everyone else, as redis-cli does.
    const others = (await this.mastersNow()).filter((master) => master !== from && master !== to && master.live());
    for (const node of [to, from, ...others]) await ask(node.port, "CLUSTER", "SETSLOT", slot, "NODE", to.id);
    await this.waitHealthy();
  }

  private nodeOn(port: number): ManagedNode {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node of this cluster listens on port ${port}`);
    return node;
  }

  /** Sends a command to the first live node that answers it. */
  private async askAnyLive(command: string, ...args: (string | number)[]): Promise<unknown> {
    let lastError: unknown = new Error("no node of the cluster is live");
    for (const node of this.nodes.filter((candidate) => candidate.live())) {
      try {
        return await ask(node.port, command, ...args);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** What keeps the cluster from being healthy now, or undefined. */
  private async healthProblem(): Promise<string | undefined> {
    const live = this.nodes.filter((node) => node.live());
    const livePorts = new Set(live.map((node) => node.port));
    let agreedSlots: string | undefined;
    const views = new Map<number, NodeLine[]>();
    for (const node of live) {
      const info = await ask(node.port, "CLUSTER", "INFO");
      const state = infoField(info, "cluster_state");
      if (state !== "ok") return `node ${node.port} reports cluster_state:${state}`;
      const knownNodes = Number(infoField(info, "cluster_known_nodes"));
      if (knownNodes !== this.nodes.length) return `node ${node.port} knows ${knownNodes} of ${this.nodes.length}`;
      const ranges = parseSlotRanges(await ask(node.port, "CLUSTER", "SLOTS"));
      const coverage = slotCoverageProblem(ranges);
      if (coverage) return `node ${node.port}: ${coverage}`;
      const down = ranges.find((range) => !livePorts.has(range.masterPort));
      if (down) return `node ${node.port} puts slot ${down.first} on ${down.masterPort}, which is not live`;
      const slots = JSON.stringify(ranges);
      if (agreedSlots !== undefined && slots !== agreedSlots) return `node ${node.port} sees other slot owners`;
      agreedSlots = slots;
      const replication = await ask(node.port, "INFO", "replication");
      if (infoField(replication, "role") === "slave") {
        const masterPort = Number(infoField(replication, "master_port"));
        if (!livePorts.has(masterPort)) return `replica ${node.port} follows ${masterPort}, which is not live`;
        const link = infoField(replication, "master_link_status");
        if (link !== "up") return `replica ${node.port} has master_link_status:${link}`;
      }
      views.set(node.port, parseNodeLines(await ask(node.port, "CLUSTER", "NODES")));
    }
    return viewsDisagreement(views);
  }
}

/**
 * Whether some live node's view (its CLUSTER NODES, by port) still flags another live node failing, or gives
 * it another role or master than that node gives itself: gossip lags behind a failover or a restart.
 */
function viewsDisagreement(views: ReadonlyMap<number, readonly NodeLine[]>): string | undefined {
  const ownLines = [...views.values()].map((lines) => lines.find((line) => line.flags.includes("myself")));
  for (const [viewer, lines] of views) {
    for (const own of ownLines) {
      const seen = lines.find((line) => line.id === own?.id);
      if (!own || !seen) return `node ${viewer} does not know node ${own?.port}`;
      if (seen.flags.some((flag) => flag === "fail" || flag === "fail?")) {
        return `node ${viewer} still flags ${own.port} ${seen.flags.join(",")}`;
      }
      if (roleFlag(seen) !== roleFlag(own) || seen.masterId !== own.masterId) {
        return `node ${viewer} sees ${own.port} as ${roleFlag(seen)} of ${seen.masterId ?? "none"}`;
      }
    }
  }
  return undefined;
}

function roleFlag(line: NodeLine): "master" | "slave" | undefined {
  return line.flags.find((flag): flag is "master" | "slave" => flag === "master" || flag === "slave");
}

/** Whether `ranges`, sorted, hold every slot exactly once. */
function slotCoverageProblem(ranges: readonly SlotRange[]): string | undefined {
  let next = 0;
  for (const { first, last } of ranges) {
    if (first !== next) return `slot ${next} is not covered`;
    next = last + 1;
  }
  return next === SLOT_COUNT ? undefined : `slot ${next} is not covered`;
}
