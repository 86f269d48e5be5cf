/**
 * Stock `socket.io-client` sockets for tests, connected and registered for cleanup, and small promises
 * over them: send a command and get its reply; wait for the next event.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { onCleanup } from "./cleanup.js";
import { within } from "./wait.js";

export type ClientSocket = Socket;

/** Connects to `url` + `namespace` and resolves once connected. */
export async function connectSocket(
  url: string,
  namespace = "/",
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<Socket> {
  const socket = io(`${url}${namespace === "/" ? "" : namespace}`, {
    forceNew: true,
    reconnection: false,
    transports: ["websocket"],
    ...options,
  });
  onCleanup(() => {
    socket.disconnect();
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (error) => reject(error));
    }),
    10_000,
    `a socket to connect to ${url}${namespace}`,
  );
  return socket;
}

/** Sends a command with an acknowledgement and resolves with the reply. */
// biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
export function command(socket: Socket, event: string, args: unknown): Promise<any> {
  return socket.timeout(10_000).emitWithAck(event, args);
}

/** Resolves with the arguments of the next `event` on the socket. */
export function nextEvent(socket: Socket, event: string, timeoutMs = 10_000): Promise<unknown[]> {
  return within(
    new Promise((resolve) => socket.once(event, (...args: unknown[]) => resolve(args))),
    timeoutMs,
    `event ${event}`,
  );
}

/** Collects every `event` the socket receives, for asserting what did not arrive. */
export function collect(socket: Socket, event: string): unknown[][] {
  const received: unknown[][] = [];
  socket.on(event, (...args: unknown[]) => received.push(args));
  return received;
}
