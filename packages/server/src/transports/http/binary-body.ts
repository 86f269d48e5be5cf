/**
 * Binary messages over HTTP (docs/protocol.md §6): a `messages` POST with `Content-Type:
 * application/octet-stream` carries the raw bytes as the message's data, and its options in request
 * headers: `Mailroom-Id`, `Mailroom-Delay-Ms`, `Mailroom-Ttl-Ms`, `Mailroom-Max-Attempts`, `Mailroom-Group`,
 * `Mailroom-Priority` (§11), and message
 * headers as `Mailroom-Header-<name>` (names lowercased, as HTTP header names are case-insensitive).
 *
 * The parser turns such a request into the same object a JSON body holds, so one schema checks both
 * (a number header that is no integer is `BAD_REQUEST` like a JSON field of the wrong type). Any other
 * `Mailroom-*` header is refused, as an unknown JSON field is: a misspelt option must not pass unnoticed.
 * Install it only in the scope of the route that accepts binary bodies.
 */
import type { IncomingHttpHeaders } from "node:http";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";

export const BINARY_CONTENT_TYPE = "application/octet-stream";

const HEADER_PREFIX = "mailroom-";
const MESSAGE_HEADER_PREFIX = "mailroom-header-";
const ID_HEADER = "mailroom-id";
const GROUP_HEADER = "mailroom-group";
/** Request headers that carry a number option, and the message field each sets. */
const NUMBER_HEADERS: Readonly<Record<string, string>> = {
  "mailroom-delay-ms": "delayMs",
  "mailroom-ttl-ms": "ttlMs",
  "mailroom-max-attempts": "maxAttempts",
  "mailroom-priority": "priority",
};
const INTEGER_TEXT = /^-?\d+$/;

/** The option headers a binary send reads (message headers come as `Mailroom-Header-<name>` besides). */
export const BINARY_OPTION_HEADERS: readonly string[] = [ID_HEADER, GROUP_HEADER, ...Object.keys(NUMBER_HEADERS)];

/** Documents the headers above, for the OpenAPI description of the binary form. */
export const BINARY_HEADERS_DESCRIPTION =
  "With Content-Type application/octet-stream the body is the message's data, as bytes; its options come from " +
  "the headers Mailroom-Id, Mailroom-Delay-Ms, Mailroom-Ttl-Ms, Mailroom-Max-Attempts, Mailroom-Group and " +
  "Mailroom-Priority, and its headers from " +
  "`Mailroom-Header-<name>` (names lowercased).";

export function installBinaryBodyParser(scope: FastifyInstance): void {
  scope.addContentTypeParser(
    BINARY_CONTENT_TYPE,
    { parseAs: "buffer" },
    async (request: FastifyRequest, body: Buffer) => messageFromBinaryRequest(request.headers, body),
  );
}

/** The message a binary request describes, in the shape of a JSON `messages` body (not yet checked). */
export function messageFromBinaryRequest(headers: IncomingHttpHeaders, body: Buffer): Record<string, unknown> {
  const message: Record<string, unknown> = { data: body };
  const messageHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(HEADER_PREFIX) || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (name.startsWith(MESSAGE_HEADER_PREFIX)) {
      const headerName = name.slice(MESSAGE_HEADER_PREFIX.length);
      if (headerName === "") throw new MailroomError("BAD_REQUEST", `${name}: a message header needs a name`);
      messageHeaders[headerName] = text;
    } else if (name === ID_HEADER) {
      message.id = text;
    } else if (name === GROUP_HEADER) {
      message.group = text;
    } else if (Object.hasOwn(NUMBER_HEADERS, name)) {
      // A number the schema then checks for range; any other text is left for it to refuse as no integer.
      message[NUMBER_HEADERS[name] as string] = INTEGER_TEXT.test(text) ? Number(text) : text;
    } else {
      throw new MailroomError("BAD_REQUEST", `${name}: no such header option`);
    }
  }
  if (Object.keys(messageHeaders).length > 0) message.headers = messageHeaders;
  return message;
}
