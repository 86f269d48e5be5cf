/**
 * A message's data and headers as one byte string in the store, so binary data needs no base64:
 * `J` + JSON of `{ d, h }` for JSON data, or `B` + 4-byte header length + headers JSON + the raw bytes.
 */

const JSON_MARK = 0x4a; // "J"
const BINARY_MARK = 0x42; // "B"

export interface MessageContent {
  data: unknown;
  headers: Record<string, string>;
}

export function encodeMessage(data: unknown, headers: Record<string, string>): Buffer {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const bytes = Buffer.isBuffer(data)
      ? data
      : data instanceof ArrayBuffer
        ? Buffer.from(data)
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const headerJson = Buffer.from(JSON.stringify(headers));
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = BINARY_MARK;
    prefix.writeUInt32BE(headerJson.length, 1);
    return Buffer.concat([prefix, headerJson, bytes]);
  }
  return encodeJsonMessage(JSON.stringify(data) ?? "null", headers);
}

/** The JSON form from data already in JSON text (a send has it from measuring the data), without a second stringify. */
export function encodeJsonMessage(dataJson: string, headers: Record<string, string>): Buffer {
  return Buffer.from(`J{"d":${dataJson},"h":${JSON.stringify(headers)}}`);
}

export function decodeMessage(body: Buffer): MessageContent {
  if (body[0] === BINARY_MARK) {
    const headerLength = body.readUInt32BE(1);
    const headers = JSON.parse(body.subarray(5, 5 + headerLength).toString()) as Record<string, string>;
    return { data: body.subarray(5 + headerLength), headers };
  }
  if (body[0] !== JSON_MARK) throw new Error("unknown message encoding");
  const { d, h } = JSON.parse(body.subarray(1).toString()) as { d: unknown; h: Record<string, string> };
  return { data: d, headers: h };
}
