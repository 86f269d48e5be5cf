/**
 * Binary data in JSON bodies (docs/protocol.md §6): `{ "$binary": "<base64>" }`, an object whose only key is
 * `$binary`, stands for bytes both ways. On the way in it becomes a Buffer, so the message is stored as
 * binary and a Socket.IO consumer receives binary; on the way out a Buffer becomes that object again.
 * Only the top level of `data` is considered, as binary data is in Socket.IO payloads (§3).
 */
import { BINARY_JSON_KEY, MailroomError } from "@mailroom/protocol";

/** Base64 of RFC 4648 §4: the alphabet, then at most two padding characters. */
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
/** Base64 groups are 4 characters; unpadded text may end with 2 or 3 of a group, never 1. */
const BASE64_GROUP = 4;

/** Data from a JSON body: a `$binary` object becomes its bytes; anything else stays as it is. */
export function fromJsonData(data: unknown, where: string): unknown {
  if (!isBinaryJson(data)) return data;
  const text = data[BINARY_JSON_KEY];
  if (typeof text !== "string" || !isBase64(text)) {
    throw new MailroomError("BAD_REQUEST", `${where}.${BINARY_JSON_KEY}: must be a base64 string`);
  }
  return Buffer.from(text, "base64");
}

/** Data for a JSON response: bytes become a `$binary` object; anything else stays as it is. */
export function toJsonData(data: unknown): unknown {
  if (Buffer.isBuffer(data)) return { [BINARY_JSON_KEY]: data.toString("base64") };
  return data;
}

function isBinaryJson(data: unknown): data is Record<typeof BINARY_JSON_KEY, unknown> {
  if (typeof data !== "object" || data === null || Array.isArray(data) || Buffer.isBuffer(data)) return false;
  const keys = Object.keys(data);
  return keys.length === 1 && keys[0] === BINARY_JSON_KEY;
}

function isBase64(text: string): boolean {
  if (!BASE64_TEXT.test(text)) return false;
  const padded = text.endsWith("=");
  return padded ? text.length % BASE64_GROUP === 0 : text.length % BASE64_GROUP !== 1;
}
