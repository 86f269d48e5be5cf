/**
 * `connect(url, options)`: makes a socket.io-client socket to one namespace of a Mailroom node and wraps
 * it in a `MailroomClient` (PROTOCOL.md §2). It does not wait for the connection (`client.ready()` does).
 * Options it does not know are socket.io-client's own and are passed through unchanged; Socket.IO's
 * reconnection stays on by default.
 */
import { MailroomError, namespaceNameProblem } from "@mailroom/protocol";
import { io, type ManagerOptions, type SocketOptions } from "socket.io-client";
import { type ClientOptions, MailroomClient } from "./client.js";
import type { MailroomSocket } from "./request.js";

export interface ConnectOptions extends ClientOptions, Partial<ManagerOptions & SocketOptions> {
  /** The namespace to connect to: `/` or `/` + 1-64 of `[A-Za-z0-9_-]`. @default "/" */
  namespace?: string;
  /** The JWT sent at the handshake as `auth: { token }`; give `auth` instead to compute it per attempt. @default undefined */
  token?: string;
}

/**
 * Connects to `url` (the node, or the load balancer in front of the cluster) and returns the client at
 * once. Throws `INVALID_NAME` for a namespace that breaks the name rule.
 * @example
 * const client = connect("http://localhost:3000", { namespace: "/orders", token: process.env.MAILROOM_TOKEN });
 * await client.ready();
 * @example
 * // Browsers without sticky sessions: WebSocket only.
 * const client = connect("https://mailroom.example.com", { transports: ["websocket"] });
 */
export function connect(url: string, options: ConnectOptions = {}): MailroomClient {
  const { namespace = "/", token, timeoutMs, ...socketOptions } = options;
  const problem = namespaceNameProblem(namespace);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
  if (token !== undefined && socketOptions.auth !== undefined) {
    throw new TypeError("give either token or auth, not both: token is short for auth: { token }");
  }
  if (token !== undefined) socketOptions.auth = { token };
  const socket: MailroomSocket = io(namespaceUrl(url, namespace), socketOptions);
  return new MailroomClient(socket, { timeoutMs });
}

/** socket.io-client reads the namespace from the URL's path. */
function namespaceUrl(url: string, namespace: string): string {
  return namespace === "/" ? url : `${url.replace(/\/+$/, "")}${namespace}`;
}
