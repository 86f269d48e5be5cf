/**
 * The size of a message's data as PROTOCOL.md §5 counts it: the byte length of binary data, or of the
 * data's JSON text in UTF-8.
 */

export function isBinary(data: unknown): data is Buffer | ArrayBuffer | ArrayBufferView {
  return Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
}

export function payloadBytes(data: unknown): number {
  if (isBinary(data)) return data.byteLength;
  return Buffer.byteLength(JSON.stringify(data) ?? "null", "utf8");
}
