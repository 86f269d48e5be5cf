/**
 * The node's Socket.IO types, typed by the protocol's event maps (packages/protocol/src/events.ts), so a
 * field added to a command or a delivery is one edit that the compiler carries to the server, the SDK
 * and the tests. Every layer that touches a socket uses these, never socket.io's untyped defaults.
 */
import type { ClientToServerEvents, ServerToClientEvents } from "@mailroom/protocol";
import type { Namespace, Server, Socket } from "socket.io";

/** Events between nodes through the adapter: Mailroom sends none of its own. */
type InterServerEvents = Record<string, never>;

/**
 * What the node puts in `socket.data`: copies for tools that show it (the admin UI, `fetchSockets`),
 * never read back (transports/socketio/socket-state.ts keeps the node's own state).
 */
export interface MailroomSocketData {
  /** The token's `sub`; absent with auth off or a token without one. */
  user?: string;
}

export type MailroomServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, MailroomSocketData>;
export type MailroomNamespace = Namespace<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  MailroomSocketData
>;
export type MailroomSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, MailroomSocketData>;
