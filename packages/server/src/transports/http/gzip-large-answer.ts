/**
 * An `onSend` hook for routes whose answer grows with the cluster (the dashboard's rate history: megabytes of
 * JSON with 1,000 busy queues, about a twentieth of that gzipped): gzips a successful answer of at least
 * `GZIP_MIN_BYTES` when the request accepts gzip, and says that the answer varies by `Accept-Encoding`.
 * Smaller answers and errors go as they are. The work runs on libuv's thread pool, off the event loop.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";
import { acceptsGzip } from "./accepts-gzip.js";

/** Below this, gzip saves too little to be worth its time. */
export const GZIP_MIN_BYTES = 16 * 1024;

const gzipped = promisify(gzip);

export async function gzipLargeAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  const vary = reply.getHeader("vary");
  reply.header("vary", vary === undefined ? "Accept-Encoding" : `${String(vary)}, Accept-Encoding`);
  if (typeof payload !== "string" || payload.length < GZIP_MIN_BYTES || reply.statusCode !== 200) return payload;
  if (!acceptsGzip(request.headers["accept-encoding"])) return payload;
  reply.header("content-encoding", "gzip");
  return gzipped(payload);
}
