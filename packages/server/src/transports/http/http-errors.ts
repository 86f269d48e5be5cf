/**
 * Every HTTP error as the contract writes it (docs/protocol.md §6, §8): `{ "error": { "code", "message" } }`
 * with the status of its code in the error catalogue. Mailroom's own errors keep their code; Fastify's
 * are mapped: a failed schema check is `BAD_REQUEST`, an oversize body `PAYLOAD_TOO_LARGE`, an
 * unsupported or malformed body or URL `BAD_REQUEST`, a path name too long to route `INVALID_NAME`;
 * anything else is `INTERNAL`, logged with its cause. `httpErrorHandler` also serves as Fastify's
 * `frameworkErrors` (bad URLs are refused before any route or plugin is chosen).
 * A temporary error (`UNAVAILABLE`, `RATE_LIMITED`) also says when to retry (`Retry-After`), unless the
 * reply already says so.
 */
import { type ErrorCode, MailroomError } from "@mailroom/protocol";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** Seconds a client should wait before retrying a temporary error: the store usually returns by then. */
const RETRY_AFTER_SECONDS = 1;
/** The longest part of a URL repeated in a "no route" message. */
const MAX_ECHOED_URL_CHARS = 256;

/** Fastify's own error statuses, mapped onto the catalogue; other 4xx are `BAD_REQUEST`. */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  429: "RATE_LIMITED",
  503: "UNAVAILABLE",
};

export function httpErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const failure = asMailroomError(error, request);
  if (failure.code === "INTERNAL") {
    request.log.error({ err: error, method: request.method, url: request.url }, "request failed");
  }
  return sendError(reply, failure);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const url =
    request.url.length > MAX_ECHOED_URL_CHARS ? `${request.url.slice(0, MAX_ECHOED_URL_CHARS)}…` : request.url;
  return sendError(reply, new MailroomError("NOT_FOUND", `no route ${request.method} ${url}`));
}

function sendError(reply: FastifyReply, error: MailroomError) {
  // The rate limit sets its own: the seconds until its window ends.
  if (error.temporary && !reply.hasHeader("retry-after")) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
  return reply.code(error.status).send({ error: error.toBody() });
}

function asMailroomError(error: FastifyError | Error, request: FastifyRequest): MailroomError {
  if (error instanceof MailroomError) return error;
  const { code, statusCode, validation } = error as Partial<FastifyError>;
  if (validation) return new MailroomError("BAD_REQUEST", error.message);
  if (code === "FST_ERR_MAX_PARAM_LENGTH") {
    return new MailroomError("INVALID_NAME", "a name in the path is longer than any valid name");
  }
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return new MailroomError(
      "PAYLOAD_TOO_LARGE",
      `the request body is over this route's limit of ${request.routeOptions.bodyLimit} bytes`,
    );
  }
  if (code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    // Fastify's parser refuses `__proto__` and `constructor.prototype` keys with the same error as bad syntax.
    return new MailroomError(
      "BAD_REQUEST",
      "the body is not valid JSON, or holds a __proto__ or constructor.prototype key (refused: prototype poisoning)",
    );
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new MailroomError(CODE_OF_STATUS[statusCode] ?? "BAD_REQUEST", error.message);
  }
  if (statusCode === 503) return new MailroomError("UNAVAILABLE", error.message);
  return new MailroomError("INTERNAL", "internal error", { cause: error });
}
