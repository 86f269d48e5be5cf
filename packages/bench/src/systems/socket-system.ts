/**
 * What the room and socket scenarios need from a Socket.IO server, Mailroom or raw Socket.IO with the
 * Redis adapter: connect one socket, join a room, listen to a room's event, publish to a room (resolving
 * on the server's acknowledgement), close. Sockets use the WebSocket transport only, each its own
 * connection (`forceNew`), as separate users' would be.
 */

export type BroadcastListener = (data: unknown) => void;

export interface BenchSocket {
  join(room: string): Promise<void>;
  onBroadcast(room: string, event: string, listener: BroadcastListener): void;
  publish(room: string, event: string, data: unknown): Promise<void>;
  close(): void;
}

export interface SocketSystem {
  /** Resolves once the socket is connected. */
  connect(url: string): Promise<BenchSocket>;
}
