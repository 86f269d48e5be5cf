/**
 * A Mailroom node: one Fastify instance and one Socket.IO server on the same port, over a store
 * (Redis for a cluster, memory for a single node). `createNode` wires config → store → app → handlers;
 * `start` listens; `close` drains (draining.ts): readiness fails and new connections are refused at once,
 * deliveries stop, unacked ones get `drainDelayMs` to be acked and then return to the head of their
 * queues, and after the delay the node leaves the cluster, closes the transports (clients reconnect
 * elsewhere), finishes in-flight HTTP requests and closes the store. A key or setting the node cannot use
 * throws a `ConfigError` from `createNode`, before anything is made. Its logs hold no secret
 * (log-redaction.ts); the store logs its own state (for Redis: connecting, ready, unreachable, back), so
 * the start banner says the node listens, not that its store is ready.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { Server } from "socket.io";
import { createTokenVerifier } from "./auth/token-verifier.js";
import { type NodeConfig, type NodeOptions, resolveConfig } from "./config.js";
import { allowedOrigins } from "./cors-origins.js";
import { ConsumerDispatcher } from "./delivery/consumer-dispatcher.js";
import { RoomFeeds } from "./delivery/room-feeds.js";
import { Draining } from "./draining.js";
import { createMemoryStore } from "./engines/memory/memory-store.js";
import type { LocalNode, NodeStore } from "./engines/node-store.js";
import { RATE_HISTORY_MS } from "./engines/rate-samples.js";
import { createRedisStore } from "./engines/redis/redis-store.js";
import { redisPasswords } from "./engines/redis/redis-url.js";
import { nodeLoggerOptions } from "./log-redaction.js";
import { EventLoopLag } from "./metrics/event-loop-lag.js";
import { LimitReporter } from "./metrics/limit-reporter.js";
import { NodeMetrics } from "./metrics/node-metrics.js";
import { observedEngine } from "./metrics/observed-engine.js";
import { type OverviewSources, queueTotals } from "./operations/cluster-overview.js";
import { RateSampler } from "./operations/rate-sampler.js";
import type { MailroomServer } from "./socket-types.js";
import { httpApi, httpApiServerOptions } from "./transports/http/api.js";
import { browserClientRoutes } from "./transports/http/browser-client.js";
import { httpCorsOptions } from "./transports/http/cors.js";
import { dashboardRoutes } from "./transports/http/dashboard-route.js";
import { healthRoutes } from "./transports/http/health-routes.js";
import { installHttpAuth } from "./transports/http/http-auth.js";
import { metricsRoute } from "./transports/http/metrics-route.js";
import { httpRateLimitOptions } from "./transports/http/rate-limit.js";
import { ADMIN_UI_NAMESPACE, attachAdminUi } from "./transports/socketio/admin-ui.js";
import { handleConnection } from "./transports/socketio/connection.js";
import { ConnectionLimits } from "./transports/socketio/connection-limits.js";
import { coalesceFrames } from "./transports/socketio/frame-coalescing.js";
import { socketIoOriginOptions } from "./transports/socketio/handshake-origins.js";
import { InFlightCommands } from "./transports/socketio/in-flight-commands.js";
import { guardSocketLifecycle } from "./transports/socketio/listener-guards.js";
import { NamespaceReaper } from "./transports/socketio/namespace-reaper.js";
import { mountNamespaces } from "./transports/socketio/namespaces.js";
import { queueCommands } from "./transports/socketio/queue-commands.js";
import { roomCommands } from "./transports/socketio/room-commands.js";
import { authorizeSocket, disconnectAtTokenExpiry, socketAuth } from "./transports/socketio/socket-auth.js";
import { unsentBytes } from "./transports/socketio/unsent-bytes.js";

/** Room for Socket.IO's framing around the largest message, so an oversize one is answered, not dropped. */
const PACKET_HEADROOM_BYTES = 64 * 1024;
/** A connection with no byte moving either way this long is closed: above Socket.IO's 25 s polling interval. */
const IDLE_CONNECTION_TIMEOUT_MS = 60_000;
/** An idle keep-alive connection is closed after this: above load balancers' usual 60 s, so they close first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** How often Node looks for requests past their timeout (its default, 30 s, would let them live that much longer). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000;
/** HTTP connections still open this long after a drain began are cut, to exit within the contract's 10 s. */
const FORCE_CLOSE_AFTER_MS = 7000;
/** A socket holding this many maximum-size messages unsent gets no more deliveries (docs/protocol.md §15)... */
const UNSENT_BYTES_PER_MAX_MESSAGE = 4;
/** ...or 4 MiB, whichever is more. */
const MIN_UNSENT_BYTES = 4 * 1_048_576;
/** How long a drain waits for running Socket.IO commands to answer before it closes the transports. */
const IN_FLIGHT_GRACE_MS = 2000;

export interface MailroomNode {
  readonly id: string;
  readonly config: NodeConfig;
  readonly app: FastifyInstance;
  readonly io: MailroomServer;
  readonly store: NodeStore;
  readonly metrics: NodeMetrics;
  /** Listens; resolves with the node's URL. */
  start(): Promise<string>;
  /** Drains and closes (see the header); calling it again returns the same promise. */
  close(): Promise<void>;
}

export function createNode(options: NodeOptions = {}): MailroomNode {
  const config = resolveConfig(options);
  const verifier = createTokenVerifier(config);
  const id = randomBytes(6).toString("hex");
  const startedAt = Date.now();
  let url = config.publicUrl ?? `http://${config.host}:${config.port}`;

  const app = Fastify({
    logger: nodeLoggerOptions({
      level: config.logLevel,
      secrets: [config.jwtSecret, ...redisPasswords(config.redisUrl ?? "")],
    }),
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: config.httpRequestTimeoutMs,
    trustProxy: config.trustProxy === "true" ? true : config.trustProxy,
    connectionTimeout: IDLE_CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Headers get the same time: Node applies the shorter of the two to the headers and the longer to
    // the whole request, so its 60 s headers default would let a body trickle in for a minute.
    http: { headersTimeout: config.httpRequestTimeoutMs, connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS },
    ...httpApiServerOptions,
  });
  const draining = new Draining();
  // Two samplers: the dashboard reads one per snapshot, the heartbeat the other per beat.
  const eventLoopLag = new EventLoopLag();
  const heartbeatLag = new EventLoopLag();
  const origins = allowedOrigins(config.corsOrigins);
  const io: MailroomServer = new Server(app.server, {
    // Its `cors`, and an `allowRequest` that checks the handshake's origin, then refuses it while draining.
    ...socketIoOriginOptions(origins, draining.allowRequest),
    maxHttpBufferSize: config.maxMessageBytes + PACKET_HEADROOM_BYTES,
    // Empty namespaces are taken out by the NamespaceReaper, which Socket.IO's own cleanup would race.
    cleanupEmptyChildNamespaces: false,
    // The SDK's browser build is served instead (browserClientRoutes).
    serveClient: false,
  });

  coalesceFrames(io);

  const localNode: LocalNode = {
    id,
    url: () => url,
    startedAt,
    connections: () => io.engine.clientsCount,
    namespaceSockets: () => socketsPerNamespace(io),
    health: () => ({ draining: draining.active, eventLoopLagMs: heartbeatLag.read() }),
  };
  const logger = app.log.child({ node: id });
  const socketLogger = logger.child({ component: "sockets" });
  // First, so every namespace made after (the admin UI's, a user's) has its sockets' ends guarded too.
  guardSocketLifecycle(io, socketLogger);
  const metrics = new NodeMetrics({ maxQueueLabels: config.metricsMaxQueues, defaultLabels: { node: id }, io });
  const store = createStore(config, localNode, logger, metrics);
  metrics.observe({
    queueStats: (address) => store.queues.stats(address),
    dataLossDetected: () => store.dataLoss().detected,
  });
  store.attach(io);
  const engine = observedEngine(store.queues, metrics);
  const broadcastsFlow = () => store.broadcastsFlow();
  const broadcasted = (namespace: string) => metrics.broadcasted(namespace);

  // Rooms' histories (docs/protocol.md §10): off with a size of 0.
  const history = config.roomHistorySize > 0 ? store.history : undefined;
  const feeds = history
    ? new RoomFeeds(
        history,
        { recoveryMax: config.roomRecoveryMax },
        {
          joined: (namespace, outcome) => metrics.roomJoined(namespace, outcome),
          gapRepaired: (namespace, count) => metrics.gapRepaired(namespace, count),
          historyRead: (namespace) => metrics.historyRead(namespace),
        },
        logger.child({ component: "rooms" }),
      )
    : undefined;
  const overview: OverviewSources = {
    nodeId: id,
    store,
    engine,
    registry: store.registry,
    eventLoopLagMs: () => eventLoopLag.read(),
    rateSamples: store.rateSamples,
    sampleIntervalMs: config.dashboardSampleMs,
  };
  const rateSampler = new RateSampler({
    samples: store.rateSamples,
    totals: (only) => queueTotals(overview, only),
    intervalMs: config.dashboardSampleMs,
    logger: logger.child({ component: "dashboard" }),
  });
  const dispatcher = new ConsumerDispatcher(engine, store.registry, logger.child({ component: "consumers" }), {
    maxUnsentBytes: Math.max(config.maxMessageBytes * UNSENT_BYTES_PER_MAX_MESSAGE, MIN_UNSENT_BYTES),
    unsentBytes,
  });
  if (verifier) installHttpAuth(app, verifier);
  const reporter = new LimitReporter({
    logger: logger.child({ component: "limits" }),
    maxima: {
      namespaces_per_connection: config.maxNamespacesPerConnection,
      consumers_per_connection: config.maxConsumersPerConnection,
      rooms_per_connection: config.maxRoomsPerConnection,
      long_polls: config.maxLongPolls,
      commands_per_second: config.commandsPerSecond,
    },
    counted: (limit, namespace) => metrics.limitExceeded(limit, namespace),
  });
  const limits = new ConnectionLimits(
    {
      namespaces: config.maxNamespacesPerConnection,
      consumers: config.maxConsumersPerConnection,
      rooms: config.maxRoomsPerConnection,
    },
    reporter,
  );
  const commands = {
    ...roomCommands({
      registry: store.registry,
      settings: config,
      broadcastsFlow,
      broadcasted,
      limits,
      history: history && feeds ? { store: history, feeds } : undefined,
    }),
    ...queueCommands({ engine, dispatcher, registry: store.registry, settings: config, limits }),
  };
  const inFlight = new InFlightCommands();
  // Before Mailroom's namespaces: made after their dynamic parent, `/admin` would be one of its children.
  if (config.adminUi) {
    attachAdminUi(io, {
      serverId: id,
      mode: config.adminUiMode,
      verifier,
      logger: logger.child({ component: "admin-ui" }),
    });
  }
  // Auth runs first, so a refused handshake holds no place and the limit's report knows the token's sub.
  const { parent } = mountNamespaces(io, {
    middleware: verifier ? [socketAuth(verifier, socketLogger), limits.admit] : [limits.admit],
    onConnection: (socket) => {
      reaper.connected(socket);
      disconnectAtTokenExpiry(socket);
      handleConnection(socket, {
        commands,
        authorize: verifier ? authorizeSocket : undefined,
        commandsPerSecond: config.commandsPerSecond,
        inFlight,
        registry: store.registry,
        dispatcher,
        feeds,
        logger: socketLogger,
        reporter,
      });
    },
    onRefused: (socket) => reaper.refused(socket),
    logger: socketLogger,
  });
  const reaper = new NamespaceReaper(io, parent, socketLogger);
  // CORS first: the refusals of the hooks after it (drain, rate limit, auth) carry its headers.
  if (origins) app.register(cors, httpCorsOptions(origins));
  if (config.httpRequestsPerMinute > 0) app.register(rateLimit, httpRateLimitOptions(config.httpRequestsPerMinute));
  draining.install(app);
  app.register(healthRoutes, draining.readiness(store.readiness));
  app.register(metricsRoute, metrics);
  app.register(browserClientRoutes);
  app.register(dashboardRoutes);
  app.register(httpApi, {
    engine,
    registry: store.registry,
    io,
    settings: config,
    broadcastsFlow,
    broadcasted,
    nodeEngine: store.engine,
    dispatcher,
    reporter,
    adminUiNamespace: config.adminUi ? ADMIN_UI_NAMESPACE : undefined,
    history,
    overview,
  });

  // Closing the transports (not a Socket.IO disconnect) lets stock clients reconnect to another node.
  app.addHook("preClose", async () => {
    io.engine.close();
  });

  /** What a drain closes once the consumers' leases are back, in this order (see the header). */
  const closers: Array<[part: string, close: () => unknown]> = [
    // Every command gets its answer before the transports close: later ones are refused UNAVAILABLE.
    ["running commands", () => inFlight.close(IN_FLIGHT_GRACE_MS)],
    ["namespace reaper", () => reaper.close()],
    ["limit reporter", () => reporter.close()],
    ["dashboard rate sampler", () => rateSampler.close()],
    ["cluster membership", () => store.registry.close()],
    ["HTTP", () => app.close()],
    ["Socket.IO", () => io.close()],
    ["store", () => store.close()],
    [
      "event-loop samplers",
      () => {
        eventLoopLag.close();
        heartbeatLag.close();
      },
    ],
  ];
  const starters: Array<() => unknown> = [
    () => store.start(),
    () => dispatcher.start(),
    () => reaper.start(),
    () => reporter.start(),
    () => rateSampler.start(),
  ];

  const drainAndClose = async () => {
    draining.begin();
    const began = performance.now();
    logger.info({ delayMs: config.drainDelayMs }, "draining: no new connections or deliveries");
    const cut = setTimeout(() => app.server.closeAllConnections(), FORCE_CLOSE_AFTER_MS);
    cut.unref();
    try {
      const returned = await dispatcher.drain(config.drainDelayMs);
      logger.info({ returned }, "draining: unacked deliveries returned to their queues");
      const left = config.drainDelayMs - (performance.now() - began);
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      for (const [part, close] of closers) {
        logger.debug({ part }, "closing");
        await close();
      }
    } finally {
      clearTimeout(cut);
    }
  };
  let closing: Promise<void> | undefined;

  return {
    id,
    config,
    app,
    io,
    store,
    metrics,
    async start() {
      for (const start of starters) await start();
      const address = await app.listen({ port: config.port, host: config.host });
      const port = app.server.address();
      if (config.publicUrl === undefined && port !== null && typeof port === "object") {
        url = `http://${reachableHost(config.host)}:${port.port}`;
      }
      const adminUi = config.adminUi ? config.adminUiMode : "off";
      logger.info(
        { url, engine: store.engine, auth: verifier ? "on" : "off", adminUi },
        engineBanner(store.engine, url),
      );
      return config.publicUrl ?? address;
    },
    close() {
      closing ??= drainAndClose();
      return closing;
    },
  };
}

/** The node's store: Redis when a URL is configured (a cluster of nodes), else memory (one node). */
function createStore(config: NodeConfig, node: LocalNode, logger: FastifyBaseLogger, metrics: NodeMetrics): NodeStore {
  const historySettings = { size: config.roomHistorySize, ttlMs: config.roomHistoryTtlMs };
  const rateSampling = { intervalMs: config.dashboardSampleMs, keepMs: RATE_HISTORY_MS };
  if (config.redisUrl === undefined) {
    return createMemoryStore(node, {
      dedupWindowMs: config.dedupWindowMs,
      history: historySettings,
      outcomes: metrics,
      rateSampling,
    });
  }
  return createRedisStore({
    mode: config.redisMode,
    url: config.redisUrl,
    sentinelMaster: config.redisSentinelMaster,
    prefix: config.redisPrefix,
    adapter: config.adapter,
    adapterKey: config.adapterKey,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    nodeTimeoutMs: config.nodeTimeoutMs,
    dedupWindowMs: config.dedupWindowMs,
    history: historySettings,
    node,
    rateSampling,
    logger: logger.child({ component: "redis" }),
    outcomes: metrics,
    scriptTiming: (script, seconds) => metrics.redisCommand(script, seconds),
  });
}

/** The host other nodes and operators reach: the machine's name when listening on every address (as in a container). */
function reachableHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "[::]") return hostname();
  return host.includes(":") ? `[${host}]` : host;
}

/** Says what the node knows at start: it listens. On Redis, whether Redis is ready is the store's to log. */
function engineBanner(engine: NodeStore["engine"], url: string): string {
  return engine === "redis"
    ? `Mailroom node listening at ${url} on the Redis engine (cluster mode)`
    : "Mailroom node ready on the memory engine: one node, nothing durable across restarts. " +
        "Start with --redis redis://host:6379 (or REDIS_URL) to run a cluster on Redis.";
}

/** Connected sockets per namespace on this node (Mailroom's: the admin UI's namespace is left out). */
function socketsPerNamespace(io: MailroomServer): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, namespace] of io._nsps) {
    if (name === ADMIN_UI_NAMESPACE || namespace.sockets.size === 0) continue;
    counts[name] = namespace.sockets.size;
  }
  return counts;
}
