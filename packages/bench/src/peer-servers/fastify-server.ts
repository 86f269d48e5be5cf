/**
 * The HTTP peers: a raw Fastify 5 server with two routes of the shape of Mailroom's send.
 * `POST /hello` answers at once (the ceiling of Fastify on this machine); `POST
 * /v1/namespaces/:ns/queues/:queue/messages` LPUSHes the body's `data` to a Redis list and answers 201
 * `{ id, duplicate }`, as Mailroom does, without names, limits, ids or dedup. GET /healthz answers 200.
 * Usage: node fastify-server.js --port <port> --redis <url>
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { Redis } from "ioredis";
import { serverArgs } from "./server-args.js";

const { port, redisUrl } = serverArgs();
const redis = new Redis(redisUrl);
const app = Fastify({ logger: false });

app.get("/healthz", async () => ({ ok: true }));
app.post("/hello", async () => ({ ok: true }));
app.post<{ Params: { queue: string }; Body: { data: unknown } }>(
  "/v1/namespaces/:ns/queues/:queue/messages",
  async (request, reply) => {
    await redis.lpush(`bench-http:${request.params.queue}`, JSON.stringify(request.body.data));
    return reply.code(201).send({ id: randomUUID(), duplicate: false });
  },
);

await app.listen({ port, host: "127.0.0.1" });
process.on("SIGTERM", () => {
  app.close().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
