/**
 * A node's two Redis clients (redis-clients.ts: one server, Sentinel's master, or a Redis Cluster) and what
 * it asks of them beyond commands.
 * - `command`: fails fast while Redis is away (no offline queue, a command timeout, no retry of a command
 *   caught by a disconnect), so callers answer `UNAVAILABLE` instead of hanging or lying.
 * - `subscriber`: Socket.IO's adapter and our own channels; it keeps reconnecting and re-subscribes
 *   (subscriptions.ts keeps what is wanted, so a subscribe that failed is made again). On a cluster our own
 *   channels are sharded (SSUBSCRIBE, one channel per command: channels of several slots in one command
 *   fail), each heard from the master of its slot.
 * Both reconnect forever. Their state is logged as the store's (store-state.ts): once per change, not at
 * every retry, and never with the URL or the password. `close` takes at most `QUIT_TIMEOUT_MS`, even when
 * Redis never answered.
 */
import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { Cluster } from "ioredis";
import type { RedisMode } from "../../config.js";
import { createRedisClients, isCluster, type RedisClient } from "./redis-clients.js";
import { redisPassword } from "./redis-url.js";
import { type ConnectionRole, StoreState } from "./store-state.js";
import { Subscriptions } from "./subscriptions.js";

/** Redis Cluster's number of hash slots. */
const CLUSTER_SLOTS = 16384;
/** How long a close waits for Redis to answer QUIT before it drops the connection: a drain has 10 s in all. */
const QUIT_TIMEOUT_MS = 1000;

export interface RedisConnectionOptions {
  mode: RedisMode;
  url: string;
  sentinelMaster: string;
  commandTimeoutMs: number;
  logger: FastifyBaseLogger;
}

/** Hears a channel's messages, and `undefined` when messages may have been missed (see `listen`). */
export type ChannelListener = (message?: Buffer) => void;

export class RedisConnections {
  readonly command: RedisClient;
  readonly subscriber: RedisClient;
  /** Whether Mailroom's own channels are sharded (on a Redis Cluster). */
  readonly sharded: boolean;
  private readonly logger: FastifyBaseLogger;
  private readonly state: StoreState;
  private readonly subscriptions: Subscriptions;
  private readonly probeReplies = new Map<string, () => void>();
  private probeChannel: string | undefined;
  private readonly channelListeners = new Map<string, Set<ChannelListener>>();

  constructor({ mode, url, sentinelMaster, commandTimeoutMs, logger }: RedisConnectionOptions) {
    this.logger = logger;
    const clients = createRedisClients({ mode, url, sentinelMaster, commandTimeoutMs });
    const password = redisPassword(url.split(",")[0] ?? "");
    this.state = new StoreState({ target: clients.targets.join(","), password, logger });
    this.command = clients.command;
    this.subscriber = clients.subscriber;
    this.sharded = mode === "cluster";
    // Messages published while a subscription was missing were lost: its listeners look again once it stands.
    this.subscriptions = new Subscriptions(this.subscriber, logger, () => this.wakeAllListeners());
    this.watch(this.command, "command");
    this.watch(this.subscriber, "subscriber");
    // Wake-ups published while a connection was away are lost, and pulls made meanwhile failed: when
    // either connection is back, every listener hears one wake-up, so consumers pull at once rather than
    // at their next poll.
    for (const client of [this.command, this.subscriber]) {
      let readyBefore = false;
      client.on("ready", () => {
        if (readyBefore) this.wakeAllListeners();
        readyBefore = true;
      });
    }
    // Buffers: a push carries message bodies as they are (queue-send.lua).
    this.subscriber.on(this.sharded ? "smessageBuffer" : "messageBuffer", (channelBytes: Buffer, message: Buffer) => {
      const channel = channelBytes.toString();
      if (channel === this.probeChannel) this.probeReplies.get(message.toString())?.();
      const listeners = this.channelListeners.get(channel);
      if (listeners) for (const listener of listeners) listener(message);
    });
  }

  /** Publishes on one of Mailroom's own channels (SPUBLISH on a cluster). */
  publish(channel: string, message: string): Promise<number> {
    if (this.sharded) return this.command.spublish(channel, message).then(Number);
    return this.command.publish(channel, message);
  }

  /** Starts connecting; resolves at once, since a node may start before its Redis does. */
  connect(): void {
    this.state.connecting();
    for (const client of [this.command, this.subscriber]) client.connect().catch(() => {});
  }

  /** Calls `listener` each time the command connection becomes ready, the first time included. */
  onReady(listener: () => void): void {
    this.command.on("ready", listener);
  }

  /**
   * A client for Socket.IO's adapter to publish with: the adapter does not handle a failed publish, so
   * this one logs it instead of leaving an unhandled rejection (a broadcast during an outage is lost,
   * as Socket.IO's own are).
   */
  adapterPublisher(): RedisClient {
    const logger = this.logger;
    return new Proxy(this.command, {
      get(target, property, receiver) {
        if (property !== "publish" && property !== "spublish") return Reflect.get(target, property, receiver);
        return (channel: string, message: string | Buffer) =>
          target[property](channel, message).catch((error: unknown) => {
            logger.warn({ err: error, channel }, "a broadcast could not reach Redis");
            return 0;
          });
      },
    });
  }

  /** The subscriber for Socket.IO's adapter: a (un)subscribe that fails is handled (subscriptions.ts). */
  adapterSubscriber(): RedisClient {
    return this.subscriptions.forAdapter();
  }

  /**
   * Calls `listener` with each message on `channel` (subscribed while it has a listener; re-subscribed by
   * ioredis after a reconnect), and once with none when a new subscription is in place, or a connection
   * came back: a message published before then was missed, so a listener that looked at the channel's
   * subject before then looks again. Returns the function that stops listening.
   */
  listen(channel: string, listener: ChannelListener): () => void {
    let listeners = this.channelListeners.get(channel);
    if (!listeners) {
      const subscribed = new Set<ChannelListener>();
      listeners = subscribed;
      this.channelListeners.set(channel, listeners);
      void this.subscribeOwn(channel).then((confirmed) => {
        if (confirmed) for (const each of subscribed) each();
      });
    }
    listeners.add(listener);
    return () => {
      const current = this.channelListeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.channelListeners.delete(channel);
      void (this.sharded ? this.subscriptions.sunsubscribe(channel) : this.subscriptions.unsubscribe(channel));
    };
  }

  private subscribeOwn(channel: string): Promise<boolean> {
    return this.sharded ? this.subscriptions.ssubscribe(channel) : this.subscriptions.subscribe(channel);
  }

  private wakeAllListeners(): void {
    for (const listeners of this.channelListeners.values()) for (const listener of listeners) listener();
  }

  /** Subscribes the channel that `probe` uses (once Redis is reachable); call once. */
  listenForProbes(channel: string): void {
    this.probeChannel = channel;
    void this.subscribeOwn(channel);
  }

  /**
   * Whether both connections work end to end: a command answers, and a message published now reaches
   * our subscriber within `timeoutMs` (a subscriber that lost its subscription fails this). On a cluster,
   * every master must also answer a PING: each holds some queues and rooms.
   */
  async probe(timeoutMs: number): Promise<boolean> {
    const channel = this.probeChannel;
    if (!channel || this.command.status !== "ready" || this.subscriber.status !== "ready") return false;
    if (isCluster(this.command) && !(await mastersAnswer(this.command, timeoutMs))) return false;
    const nonce = randomUUID();
    const received = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.probeReplies.set(nonce, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    try {
      await this.publish(channel, nonce);
      return await received;
    } catch {
      return false;
    } finally {
      this.probeReplies.delete(nonce);
    }
  }

  /**
   * Quits both connections, within `QUIT_TIMEOUT_MS`. A connection that is not ready is dropped at once: a
   * QUIT would wait in its offline queue for a Redis that may never answer. Commands still waiting fail.
   */
  async close(): Promise<void> {
    this.state.close();
    await Promise.all([this.command, this.subscriber].map(closeConnection));
  }

  private watch(client: RedisClient, role: ConnectionRole): void {
    let connected = false;
    client.on("ready", () => {
      connected = true;
      this.logger.debug({ role }, "Redis connection ready");
      this.state.connectionReady(role);
    });
    client.on("error", (error: Error) => this.state.connectionFailed(error));
    client.on("close", () => {
      if (connected) this.logger.debug({ role }, "Redis connection lost; reconnecting");
      connected = false;
      this.state.connectionLost(role);
    });
  }
}

/**
 * Whether every slot of the cluster has a master in this node's pool, and each of those masters answers
 * a PING within `timeoutMs`. A master that died is still named by the slot map until the cluster
 * promotes its replica, so the outage shows for as long as it lasts.
 */
async function mastersAnswer(cluster: Cluster, timeoutMs: number): Promise<boolean> {
  const known = new Map(cluster.nodes("master").map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const needed = new Set<string>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot += 1) {
    const master = cluster.slots[slot]?.[0];
    if (master === undefined) return false;
    needed.add(master);
  }
  // A master's connection opens at its first command: the PING opens it, and fails for a dead master.
  const masters = [...needed].map((key) => known.get(key));
  if (masters.length === 0 || masters.some((master) => master === undefined)) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const pings = Promise.all(masters.map((master) => master?.ping())).then(
    () => true,
    () => false,
  );
  const answered = await Promise.race([pings, timeout]);
  clearTimeout(timer);
  return answered;
}

async function closeConnection(client: RedisClient): Promise<void> {
  if (client.status === "ready") {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
    });
    await Promise.race([client.quit().catch(() => {}), timeout]);
    clearTimeout(timer);
  }
  client.disconnect();
}
