/**
 * A static file served from memory, as the SDK's browser build and the dashboard are: read and gzipped once,
 * answered with a weak ETag (a 304 when the browser holds it), gzipped when the request accepts it.
 * Callers choose the caching: how long a path keeps the same content is theirs to know.
 * @example
 * const file = await readServedFile(path, "text/javascript; charset=utf-8");
 * return sendServedFile(request, reply, file, "public, max-age=300");
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";
import { acceptsGzip } from "./accepts-gzip.js";

/** Hex digits of the content's SHA-256 in its ETag: plenty to tell two builds apart. */
const ETAG_HEX_DIGITS = 20;

export interface ServedFile {
  readonly identity: Buffer;
  readonly gzipped: Buffer;
  /** Weak: one ETag for both encodings of the same content. */
  readonly etag: string;
  readonly contentType: string;
}

export async function readServedFile(path: string, contentType: string): Promise<ServedFile> {
  const identity = await readFile(path);
  const digest = createHash("sha256").update(identity).digest("hex").slice(0, ETAG_HEX_DIGITS);
  return { identity, gzipped: await promisify(gzip)(identity), etag: `W/"${digest}"`, contentType };
}

export function sendServedFile(request: FastifyRequest, reply: FastifyReply, file: ServedFile, cacheControl: string) {
  reply.header("cache-control", cacheControl).header("etag", file.etag).header("vary", "Accept-Encoding");
  if (etagMatches(request.headers["if-none-match"], file.etag)) return reply.code(304).send();
  reply.type(file.contentType);
  if (!acceptsGzip(request.headers["accept-encoding"])) return reply.send(file.identity);
  return reply.header("content-encoding", "gzip").send(file.gzipped);
}

/** `If-None-Match` names the ETag (weakly compared, as for a GET), or is `*`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}
