/**
 * `connect(url, options)`: makes a socket.io-client socket to one namespace of a Mailroom node and wraps
 * it in a `MailroomClient` (docs/protocol.md §2). It does not wait for the connection (`client.ready()` does).
 * Options it does not know are socket.io-client's own and are passed through unchanged; Socket.IO's
 * reconnection stays on by default. Given several node URLs (no load balancer in front), each reconnection
 * attempt moves to the next one, so a client whose node stops or dies carries on on another.
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
 * Connects to `url` (the node, or the load balancer in front of the cluster), or to the first of several
 * node URLs, and returns the client at once. Throws `INVALID_NAME` for a namespace that breaks the name rule.
 * @example
 * const client = connect("http://localhost:3000", { namespace: "/orders", token: process.env.MAILROOM_TOKEN });
 * await client.ready();
 * @example
 * // Browsers without sticky sessions: WebSocket only.
 * const client = connect("https://mailroom.example.com", { transports: ["websocket"] });
 * @example
 * // No load balancer: the client moves to the next node when its own goes away.
 * const client = connect(["http://node-1:3000", "http://node-2:3000", "http://node-3:3000"]);
 */
export function connect(url: string | readonly string[], options: ConnectOptions = {}): MailroomClient {
  const { namespace = "/", token, timeoutMs, positionStorage, ...socketOptions } = options;
  const problem = namespaceNameProblem(namespace);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
  if (token !== undefined && socketOptions.auth !== undefined) {
    throw new TypeError("give either token or auth, not both: token is short for auth: { token }");
  }
  if (token !== undefined) socketOptions.auth = { token };
  const urls = typeof url === "string" ? [url] : [...url];
  const [first] = urls;
  if (first === undefined) throw new TypeError("connect needs at least one URL");
  // A shared Manager would carry another client's rotation: several URLs get a manager of their own.
  if (urls.length > 1) socketOptions.forceNew = true;
  const socket: MailroomSocket = io(namespaceUrl(first, namespace), socketOptions);
  if (urls.length > 1) rotateOnReconnect(socket, urls, namespace);
  return new MailroomClient(socket, { timeoutMs, positionStorage });
}

/** Each reconnection attempt of the socket's manager opens its transport to the next URL, in turn. */
function rotateOnReconnect(socket: MailroomSocket, urls: string[], namespace: string): void {
  let current = 0;
  socket.io.on("reconnect_attempt", () => {
    current = (current + 1) % urls.length;
    // socket.io-client 4's Manager opens each new transport to its `uri` (private in its types; the
    // failover test fails if that changes).
    (socket.io as unknown as { uri: string }).uri = namespaceUrl(urls[current] as string, namespace);
  });
}

/** socket.io-client reads the namespace from the URL's path. */
function namespaceUrl(url: string, namespace: string): string {
  return namespace === "/" ? url : `${url.replace(/\/+$/, "")}${namespace}`;
}
