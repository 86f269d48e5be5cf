/**
 * The size of a message's data as docs/protocol.md §5 counts it: the byte length of binary data, or of the
 * data's JSON text in UTF-8. Data nested deeper than `MAX_DATA_DEPTH` is refused (`BAD_REQUEST`): the Redis
 * adapter's encoder recurses, and would overflow the stack on it. The nesting is walked only when the JSON
 * text is long enough to hold that many brackets, so an everyday message costs one JSON.stringify and
 * nothing more; data too deep for JSON.stringify itself (a RangeError) is refused the same way.
 */
import { MailroomError } from "@mailroom/protocol";

/** Deepest nesting of arrays and objects accepted in data: far beyond real messages, far below the stack. */
export const MAX_DATA_DEPTH = 256;

export function isBinary(data: unknown): data is Buffer | ArrayBuffer | ArrayBufferView {
  return Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
}

export function payloadBytes(data: unknown): number {
  if (isBinary(data)) return data.byteLength;
  return Buffer.byteLength(dataJson(data), "utf8");
}

/** JSON data's text, whose UTF-8 length is its size (`BAD_REQUEST` when nested too deep). */
export function dataJson(data: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(data) ?? "null";
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep();
    throw error;
  }
  // Nesting deeper than MAX_DATA_DEPTH takes an opening and a closing bracket per level.
  if (text.length > 2 * MAX_DATA_DEPTH) checkDepth(data);
  return text;
}

function tooDeep(): MailroomError {
  return new MailroomError("BAD_REQUEST", `data nests deeper than ${MAX_DATA_DEPTH} levels`);
}

/** Walks the data without recursion; `BAD_REQUEST` past `MAX_DATA_DEPTH`. */
function checkDepth(data: unknown): void {
  const pending: [unknown, number][] = [[data, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (typeof value !== "object" || value === null || isBinary(value)) continue;
    if (depth > MAX_DATA_DEPTH) throw tooDeep();
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
}
