/**
 * The size of a message's data as docs/protocol.md §5 counts it: the byte length of binary data, or of the
 * data's JSON text in UTF-8. Two shapes of data are refused (`BAD_REQUEST`), each found only when the JSON
 * text can hold it, so an everyday message costs one JSON.stringify and a scan of its text:
 * - nesting deeper than `MAX_DATA_DEPTH`: the Redis adapter's encoder recurses, and would overflow the stack
 *   on it (looked for when the text is long enough to hold that many brackets; data too deep for
 *   JSON.stringify itself, a RangeError, is refused the same way);
 * - binary anywhere but as the whole of `data` (§3): it would be stored as the JSON of a Buffer and come back
 *   as `{ "type": "Buffer", "data": [...] }`, no longer binary. Socket.IO gives a node every binary
 *   attachment as a Buffer, whose JSON text holds `BUFFER_JSON` (looked for when the text holds it).
 */
import { MailroomError } from "@mailroom/protocol";

/** Deepest nesting of arrays and objects accepted in data: far beyond real messages, far below the stack. */
export const MAX_DATA_DEPTH = 256;

/** What a Buffer's JSON text starts with (Buffer.prototype.toJSON). */
const BUFFER_JSON = '{"type":"Buffer","data":[';

export function isBinary(data: unknown): data is Buffer | ArrayBuffer | ArrayBufferView {
  return Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
}

export function payloadBytes(data: unknown): number {
  if (isBinary(data)) return data.byteLength;
  return Buffer.byteLength(dataJson(data), "utf8");
}

/** JSON data's text, whose UTF-8 length is its size (`BAD_REQUEST` when nested too deep or holding binary). */
export function dataJson(data: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(data) ?? "null";
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep();
    throw error;
  }
  // Nesting deeper than MAX_DATA_DEPTH takes an opening and a closing bracket per level.
  if (text.length > 2 * MAX_DATA_DEPTH || text.includes(BUFFER_JSON)) checkNesting(data);
  return text;
}

function tooDeep(): MailroomError {
  return new MailroomError("BAD_REQUEST", `data nests deeper than ${MAX_DATA_DEPTH} levels`);
}

/** Walks the data without recursion; `BAD_REQUEST` past `MAX_DATA_DEPTH` or at binary inside it. */
function checkNesting(data: unknown): void {
  const pending: [unknown, number][] = [[data, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (typeof value !== "object" || value === null) continue;
    if (isBinary(value)) {
      throw new MailroomError(
        "BAD_REQUEST",
        "binary data must be the whole of data (a Buffer, ArrayBuffer or typed array), not inside an object or array",
      );
    }
    if (depth > MAX_DATA_DEPTH) throw tooDeep();
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
}
