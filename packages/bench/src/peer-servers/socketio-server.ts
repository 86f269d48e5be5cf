/**
 * The raw Socket.IO peer: a Socket.IO 4 server with @socket.io/redis-adapter, and the two events a room
 * benchmark needs. `join` puts the socket in a room; `publish` broadcasts `(data, meta)` to a room's
 * members on every server, except the publisher, as Mailroom's `room:publish` does. A third, `ack`, is the
 * relay's (systems/socketio-relay-queue.ts): one Redis command, then the answer, as the least an ack that
 * reaches storage costs. GET /healthz answers 200 once it listens. Its adapter key differs from
 * Mailroom's, so the two never hear each other.
 * Usage: node socketio-server.js --port <port> --redis <url>
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { serverArgs } from "./server-args.js";

const ADAPTER_KEY = "bench-socket.io";
/** The counter the relay's acks increment: a Redis round trip per ack, nothing kept per message. */
const ACKS_KEY = "bench-socket.io:acks";

interface PublishArgs {
  room: string;
  event: string;
  data: unknown;
}

const { port, redisUrl } = serverArgs();
const http = createServer((request, response) => {
  response.writeHead(request.url === "/healthz" ? 200 : 404).end();
});
const publisher = new Redis(redisUrl);
const subscriber = publisher.duplicate();
const io = new Server(http, { adapter: createAdapter(publisher, subscriber, { key: ADAPTER_KEY }) });

io.on("connection", (socket) => {
  socket.on("join", (room: string, ack: (reply: object) => void) => {
    socket.join(room);
    ack({ ok: true });
  });
  socket.on("publish", ({ room, event, data }: PublishArgs, ack: (reply: object) => void) => {
    const meta = { room, id: randomUUID(), ts: Date.now() };
    io.to(room).except(socket.id).emit(event, data, meta);
    ack({ ok: true, id: meta.id });
  });
  socket.on("ack", (_receipt: string, ack: (reply: object) => void) => {
    publisher.incr(ACKS_KEY).then(
      () => ack({ ok: true }),
      (error: Error) => ack({ ok: false, error: { code: "UNAVAILABLE", message: error.message } }),
    );
  });
});

http.listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  io.close();
  publisher.disconnect();
  subscriber.disconnect();
  process.exit(0);
});
