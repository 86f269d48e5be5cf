/**
 * A room publication as one byte string in the store's history and on its channels: the message codec's
 * form (message-codec.ts, so binary data needs no base64), the publication's fields in its headers.
 * On a room's channel, the store puts `<offset>|<epoch>|` before it (room-publish.lua).
 */
import { decodeMessage, encodeMessage } from "./message-codec.js";
import type { HeardPublication, NewPublication } from "./room-history.js";

export function encodePublication(publication: NewPublication): Buffer {
  const fields: Record<string, string> = { i: publication.id, e: publication.event, t: String(publication.ts) };
  if (publication.from !== undefined) fields.f = publication.from;
  if (publication.except !== undefined) fields.x = publication.except;
  return encodeMessage(publication.data, fields);
}

export function decodePublication(body: Buffer): NewPublication {
  const { data, headers } = decodeMessage(body);
  const publication: NewPublication = { id: headers.i ?? "", event: headers.e ?? "", data, ts: Number(headers.t) };
  if (headers.f !== undefined) publication.from = headers.f;
  if (headers.x !== undefined) publication.except = headers.x;
  return publication;
}

const SEPARATOR = 0x7c; // "|"

/** A publication heard on a room's channel: `<offset>|<epoch>|<encoded publication>`. */
export function decodeHeardPublication(message: Buffer): HeardPublication {
  const offsetEnd = message.indexOf(SEPARATOR);
  const epochEnd = message.indexOf(SEPARATOR, offsetEnd + 1);
  if (offsetEnd < 1 || epochEnd < 0) throw new Error("not a room publication");
  const offset = Number(message.subarray(0, offsetEnd).toString());
  const epoch = message.subarray(offsetEnd + 1, epochEnd).toString();
  return { ...decodePublication(message.subarray(epochEnd + 1)), offset, epoch };
}
