/**
 * The HTTP API of docs/protocol.md §6 as one Fastify plugin: the queue, room and cluster routes, their
 * OpenAPI document and UI, and the error and not-found handlers that give every failure the contract's
 * shape. Routes are schema-first: one TypeBox schema per part validates it (as strictly as the Socket.IO
 * commands), types the handler and documents it. Each route declares the right it needs in
 * `config.right` (declared with the auth hook, auth/http-auth.ts). `GET /` points at the docs
 * (api-index.ts). `/healthz` and `/readyz` live apart (health-routes.ts); `/metrics` is not here.
 *
 * The Fastify instance must be created with `httpApiServerOptions` (router and framework-error options
 * that only the root takes). Lifecycle: when the server closes, waiting receives end at once (long-poll.ts), so a drain is not held
 * up by them.
 * @example
 * app.register(httpApi, { engine, registry, io, settings: config, broadcastsFlow: () => store.broadcastsFlow(),
 *   nodeEngine: store.engine, dispatcher, reporter });
 */
import type { Duplex } from "node:stream";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { NodeConfig } from "../../config.js";
import { LongPolls } from "../../delivery/long-poll.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { QueueEngine } from "../../engines/queue-engine.js";
import type { RoomHistory } from "../../engines/room-history.js";
import type { LimitReporter } from "../../metrics/limit-reporter.js";
import type { OverviewSources } from "../../operations/cluster-overview.js";
import type { SettlingDispatcher } from "../../operations/settlement.js";
import type { MailroomServer } from "../../socket-types.js";
import { apiIndexRoute } from "./api-index.js";
import { clusterRoutes } from "./cluster-routes.js";
import { httpErrorHandler, notFoundHandler } from "./http-errors.js";
import { registerOpenApi } from "./openapi.js";
import { overviewRoutes } from "./overview-routes.js";
import { queueRoutes } from "./queue-routes.js";
import { roomRoutes } from "./room-routes.js";
import { refuseAdminUiNamespace } from "./route-params.js";
import { validatorCompiler } from "./validation.js";

/** The longest path parameter routed: longer than any valid name, so an over-long name is `INVALID_NAME`. */
const MAX_PATH_PARAM_CHARS = 1024;

/**
 * What the Fastify instance itself must be created with for this API, since Fastify takes these at its
 * root only: path parameters long enough for every valid name (its default, 100, is shorter than the
 * longest queue and room names), and the contract's error shape for URLs refused before routing.
 * @example
 * const app = Fastify({ logger, ...httpApiServerOptions });
 */
export const httpApiServerOptions = {
  routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
  frameworkErrors: httpErrorHandler,
  clientErrorHandler: answerClientError,
} satisfies FastifyServerOptions;

/**
 * Requests that Node's HTTP parser refuses (an unknown method, a malformed line) or that time out never
 * reach a route: they are answered here, in the contract's shape, and the connection is closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
  const status = timedOut ? "408 Request Timeout" : "400 Bad Request";
  const message = timedOut ? "the request took too long" : "the request is not valid HTTP";
  const body = JSON.stringify({ error: { code: "BAD_REQUEST", message } });
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export interface HttpApiDeps {
  engine: QueueEngine;
  registry: ClusterRegistry;
  io: MailroomServer;
  /** The size bound, the defaults of a send and a lease, and how many receives may wait at once. */
  settings: Pick<NodeConfig, "maxMessageBytes" | "maxAttempts" | "visibilityMs" | "maxLongPolls">;
  /** Whether a publish can reach the other nodes now (always, with no Redis). */
  broadcastsFlow: () => boolean;
  /** Told of each publish sent (metrics). @default nobody */
  broadcasted?: (namespace: string) => void;
  /** This node's store ("redis" or "memory"), reported by `/v1/cluster`. @default undefined (not reported) */
  nodeEngine?: string | undefined;
  /**
   * The Socket.IO consumers' dispatcher: told of HTTP acks and nacks, so a socket consumer's delivery
   * settled over HTTP frees its prefetch slot at once, not at its lease's end. @default undefined
   */
  dispatcher?: SettlingDispatcher | undefined;
  /** Told of each receive refused for that limit. */
  reporter: Pick<LimitReporter, "exceeded">;
  /**
   * The admin UI's Socket.IO namespace while `--admin-ui` is on: no Mailroom namespace then, so a route
   * naming it is `INVALID_NAME` (checked after auth, before the body is read). @default undefined (off)
   */
  adminUiNamespace?: string | undefined;
  /** Rooms' histories (docs/protocol.md §10); undefined when history is off. @default undefined */
  history?: RoomHistory | undefined;
  /** What `/v1/namespaces` and `/v1/dashboard` read (§12); without it they are not served. @default undefined */
  overview?: OverviewSources | undefined;
}

export async function httpApi(app: FastifyInstance, deps: HttpApiDeps): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(httpErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await registerOpenApi(app);
  await app.register(apiIndexRoute);

  const polls = new LongPolls(deps.engine, app.log.child({ component: "http" }), {
    maxWaiting: deps.settings.maxLongPolls,
    reporter: deps.reporter,
  });
  app.addHook("preClose", async () => polls.close());
  const { adminUiNamespace } = deps;
  if (adminUiNamespace !== undefined) {
    app.addHook("preParsing", async (request) => refuseAdminUiNamespace(request.params, adminUiNamespace));
  }

  await app.register(queueRoutes, {
    engine: deps.engine,
    registry: deps.registry,
    dispatcher: deps.dispatcher,
    polls,
    settings: deps.settings,
  });
  await app.register(roomRoutes, {
    io: deps.io,
    registry: deps.registry,
    settings: deps.settings,
    broadcastsFlow: deps.broadcastsFlow,
    broadcasted: deps.broadcasted ?? (() => {}),
    history: deps.history,
  });
  await app.register(clusterRoutes, { registry: deps.registry, nodeEngine: deps.nodeEngine });
  if (deps.overview) await app.register(overviewRoutes, deps.overview);
}
