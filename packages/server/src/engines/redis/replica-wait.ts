/**
 * Durability across a master's death (docs/protocol.md §14, `--redis-wait-replicas`): after a send, ack or
 * nack, Redis `WAIT`s until that many replicas hold the write, bounded by the command timeout; fewer in
 * time is `UNAVAILABLE` (the write happened on the master, so a retry of a send with its id is deduplicated).
 * WAIT counts the writes of the connection it runs on: on a cluster it goes to the connection of the
 * master that serves the queue's slot, the one the script ran on.
 */
import calculateSlot from "cluster-key-slot";
import type { Redis } from "ioredis";
import { isCluster, type RedisClient } from "./redis-clients.js";
import { replicasMissing } from "./store-errors.js";

/**
 * The share of the command timeout a WAIT may block for: the rest is left for its own round trip and the
 * commands written before it, so Redis answers (with how many replicas it has) before the client gives up on the
 * command or drops its socket as silent (`socketTimeout`).
 */
const WAIT_SHARE = 0.5;

export class ReplicaWait {
  constructor(
    private readonly client: RedisClient,
    private readonly replicas: number,
    private readonly commandTimeoutMs: number,
  ) {}

  /** Whether writes wait for replicas at all. */
  get enabled(): boolean {
    return this.replicas > 0;
  }

  /** Resolves once `replicas` replicas hold every write made so far for the key's slot; else throws UNAVAILABLE. */
  async confirm(key: string): Promise<void> {
    if (this.replicas === 0) return;
    const connection = this.connectionFor(key);
    const timeoutMs = Math.max(1, Math.floor(this.commandTimeoutMs * WAIT_SHARE));
    const confirmed = Number(await connection.call("WAIT", this.replicas, timeoutMs));
    if (confirmed < this.replicas) throw replicasMissing(this.replicas, confirmed);
  }

  private connectionFor(key: string): Redis {
    if (!isCluster(this.client)) return this.client;
    const [masterKey] = this.client.slots[calculateSlot(key)] ?? [];
    const master = this.client.nodes("master").find((node) => nodeKey(node) === masterKey);
    if (!master) throw new Error(`no master serves the slot of ${key} yet`);
    return master;
  }
}

/** ioredis's name for a cluster node: "host:port". */
function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}
