/**
 * A Redis Cluster of the bench's own: `masters` redis-server processes (no replicas) on free loopback
 * ports, each started like the bench's single server (no persistence) plus the cluster settings, in one
 * temporary directory for their `nodes-<port>.conf`. Built by hand, because `redis-cli --cluster create`
 * refuses fewer than 3 masters: distinct config epochs, `CLUSTER MEET`, then each master takes an equal,
 * contiguous share of the 16384 slots (`CLUSTER ADDSLOTSRANGE`, Redis 7), and the cluster is ready when
 * every master says `cluster_state:ok` with every slot served and every master known.
 *
 * Each master is a RedisServer, so its CPU and command counts are read as the single server's are.
 * A node listens for its peers on port + 10000 (the cluster bus), so both ports are picked free.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortPair } from "./free-port.js";
import { RedisServer } from "./redis-server.js";

/** Redis Cluster's fixed distance between a node's client port and its cluster bus port. */
const CLUSTER_BUS_PORT_OFFSET = 10_000;
/** The number of hash slots of every Redis Cluster. */
const SLOT_COUNT = 16_384;
/** Bound on the masters agreeing after the slots are assigned (gossip takes about a second). */
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
/** Attempts to start a node on fresh ports when another process took the picked ones first. */
const PORT_ATTEMPTS = 3;

/** The slots one master serves, both ends included. */
export interface SlotRange {
  first: number;
  last: number;
}

export class RedisCluster {
  private constructor(
    /** The masters, in slot order: `masters[i]` serves `slotRanges[i]`. */
    readonly masters: readonly RedisServer[],
    readonly slotRanges: readonly SlotRange[],
    private readonly directory: string,
  ) {}

  /** Every master's URL, comma-separated: the seeds of `mailroom serve --redis-mode cluster --redis`. */
  get seedUrls(): string {
    return this.masters.map((master) => master.url).join(",");
  }

  static async start(masterCount: number): Promise<RedisCluster> {
    if (!Number.isInteger(masterCount) || masterCount < 1)
      throw new Error(`a cluster needs ≥ 1 master, not ${masterCount}`);
    const directory = mkdtempSync(join(tmpdir(), "mailroom-bench-cluster-"));
    const masters: RedisServer[] = [];
    try {
      const taken = new Set<number>();
      for (let index = 0; index < masterCount; index += 1) masters.push(await startNode(directory, taken));
      // Distinct epochs before the nodes meet, as redis-cli does, so no collision has to be resolved.
      await Promise.all(
        masters.map((master, index) => master.command("CLUSTER", "SET-CONFIG-EPOCH", String(index + 1))),
      );
      const [first, ...others] = masters;
      for (const other of others) await first?.command("CLUSTER", "MEET", "127.0.0.1", String(other.port));
      const slotRanges = equalSlotRanges(masterCount);
      await Promise.all(
        masters.map((master, index) => {
          const range = slotRanges[index] as SlotRange;
          return master.command("CLUSTER", "ADDSLOTSRANGE", String(range.first), String(range.last));
        }),
      );
      await waitUntilReady(masters);
      return new RedisCluster(masters, slotRanges, directory);
    } catch (error) {
      await Promise.all(masters.map((master) => master.stop()));
      rmSync(directory, { recursive: true, force: true });
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.masters.map((master) => master.stop()));
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** `count` contiguous ranges covering every slot, their sizes differing by one at most. */
function equalSlotRanges(count: number): SlotRange[] {
  return Array.from({ length: count }, (_, index) => ({
    first: Math.floor((index * SLOT_COUNT) / count),
    last: Math.floor(((index + 1) * SLOT_COUNT) / count) - 1,
  }));
}

async function startNode(directory: string, taken: Set<number>): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
    const port = await freePortPair(CLUSTER_BUS_PORT_OFFSET, taken);
    taken.add(port).add(port + CLUSTER_BUS_PORT_OFFSET);
    try {
      return await RedisServer.start({
        port,
        extraArgs: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(directory, `nodes-${port}.conf`),
          "--dir",
          directory,
          // A node learns its own address only from a peer's MEET: alone (one master) it would tell clients
          // an empty host in CLUSTER SLOTS.
          "--cluster-announce-ip",
          "127.0.0.1",
        ],
      });
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`could not start a cluster node in ${PORT_ATTEMPTS} attempts: ${String(lastError)}`);
}

/** Waits until every master is ok, serves every slot and knows every master. */
async function waitUntilReady(masters: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const infos = await Promise.all(masters.map((master) => master.command("CLUSTER", "INFO")));
    last = infos.map(String).join("\n---\n");
    const ready = infos.every((info) => {
      const text = String(info);
      return (
        field(text, "cluster_state") === "ok" &&
        field(text, "cluster_slots_ok") === String(SLOT_COUNT) &&
        field(text, "cluster_known_nodes") === String(masters.length)
      );
    });
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(`the cluster of ${masters.length} masters was not ready within ${READY_TIMEOUT_MS} ms:\n${last}`);
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1];
}
