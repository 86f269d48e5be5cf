/**
 * Takes custom namespaces out of the node once nobody uses them (docs/protocol.md §15, "Between tenants").
 * Socket.IO creates a child namespace, with an adapter that (on Redis) subscribes to its channels and
 * pattern, for every handshake to a new name, before the middleware runs. Here a child goes:
 * - `NAMESPACE_IDLE_MS` after its last socket left (so a client that reconnects at once finds it);
 * - at once when it never had a socket (a refused or abandoned handshake, or made by `io.of`);
 * - the longest idle first whenever more than `MAX_IDLE_NAMESPACES` wait out their delay, so no pattern
 *   of connects and disconnects grows the node's subscriptions without bound.
 * Going means: out of the server's namespaces and its parent's children, and its adapter closed, which
 * for the Redis adapter is PUNSUBSCRIBE and UNSUBSCRIBE of what it subscribed (sent in order before any
 * later namespace of the same name subscribes again).
 *
 * Invariant: a namespace is only taken out while it has no socket, connected or still in the handshake,
 * and while it is the one registered under its name. Socket.IO's own `cleanupEmptyChildNamespaces` (left
 * off) checks neither: it closes a child whose last connected socket leaves while another socket is in
 * the handshake, which then connects into a namespace no longer registered, whose adapter no longer
 * hears other nodes; that socket's own departure later unregisters, by name, the namespace made after.
 *
 * It reads two private fields of socket.io 4.8 (`ParentNamespace.children`, `Namespace._preConnectSockets`)
 * and refuses to start if they are missing.
 */
import type { FastifyBaseLogger } from "fastify";
import type { MailroomNamespace, MailroomServer, MailroomSocket } from "../../socket-types.js";

/** An empty namespace stays this long after its last socket left: a reconnect within it costs no resubscribe. */
export const NAMESPACE_IDLE_MS = 5000;
/** How often empty namespaces are looked for. */
const SWEEP_INTERVAL_MS = 1000;
/** Empty namespaces waiting out their delay at most: each keeps its Redis subscriptions and a listener. */
const MAX_IDLE_NAMESPACES = 1000;

/** The private parts of socket.io's namespaces read here. */
interface NamespaceInternals {
  children?: Set<MailroomNamespace>;
  _preConnectSockets?: Map<string, MailroomSocket>;
}

export interface NamespaceReaperOptions {
  /** @default NAMESPACE_IDLE_MS */
  idleMs?: number;
  /** @default MAX_IDLE_NAMESPACES */
  maxIdle?: number;
}

export class NamespaceReaper {
  private readonly children: Set<MailroomNamespace>;
  /** Empty namespaces by when they became empty, oldest first. */
  private readonly idleSince = new Map<MailroomNamespace, number>();
  private readonly idleMs: number;
  private readonly maxIdle: number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: MailroomServer,
    parent: MailroomNamespace,
    private readonly logger: FastifyBaseLogger,
    options: NamespaceReaperOptions = {},
  ) {
    const children = (parent as unknown as NamespaceInternals).children;
    const connecting = (parent as unknown as NamespaceInternals)._preConnectSockets;
    if (!(children instanceof Set) || !(connecting instanceof Map)) {
      throw new Error(
        "this socket.io has no ParentNamespace.children or MailroomNamespace._preConnectSockets: update namespace-reaper.ts",
      );
    }
    this.children = children;
    this.idleMs = options.idleMs ?? NAMESPACE_IDLE_MS;
    this.maxIdle = options.maxIdle ?? MAX_IDLE_NAMESPACES;
  }

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  /** A socket connected: its namespace is in use until it is empty again. */
  connected(socket: MailroomSocket): void {
    const namespace = socket.nsp;
    if (!this.children.has(namespace)) return;
    this.idleSince.delete(namespace);
    socket.once("disconnect", () => this.socketLeft(namespace));
  }

  /** A handshake was refused: the namespace goes at once if nothing else uses it. */
  refused(socket: MailroomSocket): void {
    const namespace = socket.nsp;
    if (!this.children.has(namespace) || this.idleSince.has(namespace)) return;
    // Socket.IO drops the refused socket on the next tick; this runs after it.
    setImmediate(() => {
      if (this.isEmpty(namespace) && !this.idleSince.has(namespace)) this.reap(namespace);
    });
  }

  private socketLeft(namespace: MailroomNamespace): void {
    if (!this.children.has(namespace) || !this.isEmpty(namespace)) return;
    this.idleSince.delete(namespace);
    this.idleSince.set(namespace, performance.now());
    this.trimIdle();
  }

  private sweep(): void {
    const now = performance.now();
    for (const namespace of this.children) {
      if (!this.isEmpty(namespace)) {
        this.idleSince.delete(namespace);
        continue;
      }
      const since = this.idleSince.get(namespace);
      if (since === undefined || now - since >= this.idleMs) this.reap(namespace);
    }
  }

  /** Past the most idle namespaces kept, the longest idle go now. */
  private trimIdle(): void {
    for (const namespace of this.idleSince.keys()) {
      if (this.idleSince.size <= this.maxIdle) return;
      if (this.isEmpty(namespace)) this.reap(namespace);
      else this.idleSince.delete(namespace);
    }
  }

  private isEmpty(namespace: MailroomNamespace): boolean {
    const connecting = (namespace as unknown as NamespaceInternals)._preConnectSockets;
    return namespace.sockets.size === 0 && (connecting?.size ?? 0) === 0;
  }

  private reap(namespace: MailroomNamespace): void {
    this.idleSince.delete(namespace);
    this.children.delete(namespace);
    if (this.io._nsps.get(namespace.name) === namespace) this.io._nsps.delete(namespace.name);
    try {
      const closing = namespace.adapter.close();
      if (closing instanceof Promise) closing.catch((error: unknown) => this.closeFailed(namespace, error));
    } catch (error) {
      this.closeFailed(namespace, error);
    }
  }

  private closeFailed(namespace: MailroomNamespace, error: unknown): void {
    this.logger.warn({ err: error, namespace: namespace.name }, "could not close an idle namespace's adapter");
  }
}
