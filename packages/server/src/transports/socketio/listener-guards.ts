/**
 * Keeps an exception in a Socket.IO listener from killing the node. Socket.IO calls listeners inside its
 * network callbacks: one that throws there is an uncaught exception, which ends the process, and it also
 * stops Socket.IO's own work after the emit (a throwing `disconnecting` listener leaves the socket
 * half-closed, in its namespace for good; a throwing `disconnect` listener skips the listeners after it,
 * such as the one that takes the socket's rooms out of the registry).
 *
 * - `guarded` wraps a listener of the node's own: an exception (or a rejected promise) is logged.
 * - `guardSocketLifecycle` covers every listener, the node's or not (a user's, a tool's such as
 *   `@socket.io/admin-ui`), of the two events of a socket's end, `disconnecting` and `disconnect`, on every
 *   socket of every namespace: each listener runs on its own, an exception is logged, the others still run
 *   and the socket closes as usual. It overrides each socket's `emitReserved`, the protected method by which
 *   socket.io 4 emits them (dist/socket.js `_onclose`), and refuses to start if it is missing.
 *
 * Not covered: other events' listeners that are not the node's (they are their owner's to write); no
 * process-wide `uncaughtException` handler swallows anything.
 */
import type { FastifyBaseLogger } from "fastify";
import { Socket } from "socket.io";
import type { MailroomNamespace, MailroomServer, MailroomSocket } from "../../socket-types.js";

/** The events of a socket's end, whose listeners run guarded. */
const LIFECYCLE_EVENTS: ReadonlySet<string> = new Set(["disconnecting", "disconnect"]);

type Listener = (...args: unknown[]) => unknown;
type EmitReserved = (event: string, ...args: unknown[]) => boolean;

/** The listener, made to log its exception (or its promise's rejection) as `what failed` instead of throwing. */
export function guarded<Args extends unknown[]>(
  logger: FastifyBaseLogger,
  what: string,
  listener: (...args: Args) => unknown,
): (...args: Args) => void {
  return (...args) => {
    try {
      const result = listener(...args);
      if (result instanceof Promise) result.catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
    } catch (error) {
      logger.error({ err: error }, `${what} failed`);
    }
  };
}

/** From now on, the `disconnecting` and `disconnect` listeners of every socket of `io` run guarded. */
export function guardSocketLifecycle(io: MailroomServer, logger: FastifyBaseLogger): void {
  if (typeof (Socket.prototype as unknown as { emitReserved?: unknown }).emitReserved !== "function") {
    throw new Error("this socket.io has no Socket.emitReserved: update listener-guards.ts");
  }
  const guardNamespace = (namespace: MailroomNamespace) =>
    namespace.prependListener("connection", (socket: MailroomSocket) => guardSocket(socket, logger));
  for (const namespace of io._nsps.values()) guardNamespace(namespace);
  io.on("new_namespace", guardNamespace);
}

function guardSocket(socket: MailroomSocket, logger: FastifyBaseLogger): void {
  const target = socket as unknown as { emitReserved: EmitReserved };
  const emitReserved = target.emitReserved;
  target.emitReserved = (event, ...args) => {
    if (!LIFECYCLE_EVENTS.has(event)) return emitReserved.call(socket, event, ...args);
    // rawListeners: a `once` listener is its wrapper, which removes itself when called, as emit would.
    const listeners = socket.rawListeners(event) as Listener[];
    for (const listener of listeners) {
      try {
        listener.apply(socket, args);
      } catch (error) {
        logger.error(
          { err: error, event, socket: socket.id, namespace: socket.nsp.name },
          `a ${event} listener threw; the socket closes as usual`,
        );
      }
    }
    return listeners.length > 0;
  };
}
