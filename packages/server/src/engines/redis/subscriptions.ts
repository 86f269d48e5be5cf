/**
 * What a node's subscriber connection should be subscribed to, whoever asked: Socket.IO's adapter (its
 * channels and its pattern), the queues' wake-up channels, the readiness probe. ioredis subscribes again
 * after a reconnection to what Redis had confirmed, but a subscribe still waiting when the connection
 * fails for good (Redis refusing the password rejects everything that waits) is rejected and forgotten,
 * and the adapter leaves that rejection unhandled. Here no call rejects: a failure is logged at debug
 * (its error without the command's arguments, see log-redaction.ts), and every wanted channel and pattern
 * is subscribed again the next time the connection is ready, and `restored` is told once that stands.
 * Subscribing twice is harmless in Redis. Sharded channels (SSUBSCRIBE, on a Redis Cluster: the sharded
 * adapter's and our own) are (un)subscribed one per command, whatever the caller passes: a command naming
 * channels of several slots fails (socket.io-redis-adapter#500), and ioredis's cluster subscriber follows
 * each channel's slot to its master, also after a failover or a migration.
 */
import type { FastifyBaseLogger } from "fastify";
import type { RedisClient } from "./redis-clients.js";

/** The subscriber's methods that Socket.IO's adapter calls and that go through here instead. */
const ADAPTER_CALLS = new Set<PropertyKey>([
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "punsubscribe",
  "ssubscribe",
  "sunsubscribe",
]);

type Call = "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe";

export class Subscriptions {
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  /** Sharded channels (SSUBSCRIBE, on a cluster): subscribed one per command, each in its own slot. */
  private readonly shardChannels = new Set<string>();
  /** A subscribe failed: what is wanted is subscribed again when the connection is next ready. */
  private incomplete = false;

  /** @param restored called when subscriptions that had failed are in place again */
  constructor(
    private readonly subscriber: RedisClient,
    private readonly logger: FastifyBaseLogger,
    private readonly restored: () => void = () => {},
  ) {
    subscriber.on("ready", () => {
      if (this.incomplete) void this.restore();
    });
  }

  /** Subscribes channels; resolves true once Redis confirms, false once a failure is noted (never rejects). */
  subscribe(...channels: string[]): Promise<boolean> {
    for (const channel of channels) this.channels.add(channel);
    return this.send("subscribe", channels);
  }

  unsubscribe(...channels: string[]): Promise<boolean> {
    for (const channel of channels) this.channels.delete(channel);
    return this.send("unsubscribe", channels);
  }

  psubscribe(...patterns: string[]): Promise<boolean> {
    for (const pattern of patterns) this.patterns.add(pattern);
    return this.send("psubscribe", patterns);
  }

  punsubscribe(...patterns: string[]): Promise<boolean> {
    for (const pattern of patterns) this.patterns.delete(pattern);
    return this.send("punsubscribe", patterns);
  }

  ssubscribe(...channels: string[]): Promise<boolean> {
    for (const channel of channels) this.shardChannels.add(channel);
    return this.eachAlone("ssubscribe", channels);
  }

  sunsubscribe(...channels: string[]): Promise<boolean> {
    for (const channel of channels) this.shardChannels.delete(channel);
    return this.eachAlone("sunsubscribe", channels);
  }

  /**
   * The subscriber as Socket.IO's adapter should hold it: its (un)subscribe calls (a channel, several, or
   * an array of them) go through here; everything else reaches the connection itself.
   */
  forAdapter(): RedisClient {
    return new Proxy(this.subscriber, {
      get: (target, property, receiver) => {
        if (!ADAPTER_CALLS.has(property)) return Reflect.get(target, property, receiver);
        const call = property as Call;
        return (...names: Array<string | string[]>) => this[call](...names.flat());
      },
    });
  }

  /** A sharded (un)subscribe per channel: channels of several slots in one command fail on a cluster. */
  private async eachAlone(call: "ssubscribe" | "sunsubscribe", channels: string[]): Promise<boolean> {
    const done = await Promise.all(channels.map((channel) => this.send(call, [channel])));
    return done.every(Boolean);
  }

  private async send(call: Call, names: string[]): Promise<boolean> {
    if (names.length === 0) return true;
    try {
      await this.subscriber[call](...names);
      return true;
    } catch (error) {
      if (call === "subscribe" || call === "psubscribe" || call === "ssubscribe") this.incomplete = true;
      this.logger.debug(
        { err: error, call },
        "a subscription change could not reach Redis; made again when it is back",
      );
      return false;
    }
  }

  private async restore(): Promise<void> {
    this.incomplete = false;
    const done = await Promise.all([
      this.send("subscribe", [...this.channels]),
      this.send("psubscribe", [...this.patterns]),
      this.eachAlone("ssubscribe", [...this.shardChannels]),
    ]);
    if (done.every(Boolean)) this.restored();
  }
}
