/**
 * The state of a node's Redis as an operator reads it in the log (docs/protocol.md §16): connecting at start,
 * then one line at each change: ready, unreachable with the reason, back. The state is derived from both
 * connections: ready when both are, unreachable as soon as either fails or is lost. A reconnection
 * attempt that fails again logs nothing: an outage logs its first reason, and each other reason it shows
 * later once (a lost connection, then ECONNREFUSED while Redis restarts).
 *
 * A reason is an error's code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT) or the first line of Redis's refusal
 * (WRONGPASS, NOAUTH), with the password masked; never the command the error carries (a failed AUTH holds
 * the password). Redis is named by `host:port`, never by its URL. After `close` nothing more is logged:
 * the node closing its own connections is no outage.
 */
import type { FastifyBaseLogger } from "fastify";

export type ConnectionRole = "command" | "subscriber";

const ROLES: readonly ConnectionRole[] = ["command", "subscriber"];
/** Longest reason kept from an error's message: a refusal's first line is short. */
const MAX_REASON_CHARS = 200;
/** What an operator should know about Redis's refusals of a connection, by their first word. */
const REFUSAL_HINTS: Readonly<Record<string, string>> = {
  WRONGPASS: "Redis refused the password",
  NOAUTH: "Redis requires a password: give it in the URL, redis://:password@host:port",
};
/** ioredis wraps a refusal of its ready check (INFO) in this. */
const READY_CHECK_PREFIX = "Ready check failed: ";

export interface StoreStateOptions {
  /** Redis as `host:port`. */
  target: string;
  /** The password of the URL, masked in any reason that repeats it. */
  password: string | undefined;
  logger: FastifyBaseLogger;
}

type State = "connecting" | "ready" | "unreachable";

export class StoreState {
  private state: State = "connecting";
  private readonly readyRoles = new Set<ConnectionRole>();
  private beenReady = false;
  /** When the current outage began (this process's monotonic clock, ms). */
  private unreachableSince = 0;
  /** Reasons logged during the current outage. */
  private readonly reasonsLogged = new Set<string>();
  /** The last failure since a connection was last ready: what a lost connection reports. */
  private lastReason: string | undefined;
  private closed = false;

  constructor(private readonly options: StoreStateOptions) {}

  /** Logs the state at start: connecting. */
  connecting(): void {
    this.options.logger.info({ redis: this.options.target }, `Redis engine: connecting to ${this.options.target}`);
  }

  connectionReady(role: ConnectionRole): void {
    if (this.closed) return;
    this.readyRoles.add(role);
    this.lastReason = undefined;
    if (this.state === "ready" || !ROLES.every((each) => this.readyRoles.has(each))) return;
    const { logger, target } = this.options;
    if (this.beenReady) {
      const seconds = ((performance.now() - this.unreachableSince) / 1000).toFixed(1);
      logger.info({ redis: target, unreachableSeconds: Number(seconds) }, `Redis back at ${target} after ${seconds} s`);
    } else {
      logger.info({ redis: target }, `Redis ready at ${target}`);
    }
    this.state = "ready";
    this.beenReady = true;
  }

  connectionFailed(error: unknown): void {
    if (this.closed) return;
    const reason = failureReason(error, this.options.password);
    this.lastReason = reason;
    // A failure of a connection still ready is followed by its loss, which reports it.
    if (this.state !== "ready") this.unreachable(reason);
  }

  connectionLost(role: ConnectionRole): void {
    if (this.closed) return;
    this.readyRoles.delete(role);
    if (this.state === "ready") this.unreachable(this.lastReason ?? "connection lost");
  }

  /** The node is closing its connections: what follows is not logged. */
  close(): void {
    this.closed = true;
  }

  private unreachable(reason: string): void {
    if (this.state !== "unreachable") {
      this.state = "unreachable";
      this.unreachableSince = performance.now();
      this.reasonsLogged.clear();
    }
    if (this.reasonsLogged.has(reason)) return;
    this.reasonsLogged.add(reason);
    const { logger, target } = this.options;
    logger.error({ redis: target, reason }, `Redis unreachable at ${target}: ${reason}`);
  }
}

/** Why a connection failed, in words safe to log. */
function failureReason(error: unknown, password: string | undefined): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && code !== "") return code;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = (message.split("\n")[0] ?? "").replace(READY_CHECK_PREFIX, "").slice(0, MAX_REASON_CHARS);
  const masked = password ? firstLine.split(password).join("***") : firstLine;
  const word = /^[A-Z]+/.exec(masked)?.[0];
  const hint = word === undefined ? undefined : REFUSAL_HINTS[word];
  return hint === undefined ? masked : `${word} (${hint})`;
}
