/**
 * A peeked message's data as text for the page: JSON as JSON, binary (`{ $binary: base64 }`) as its size
 * and first bytes in hex, so a glance tells what a message holds without dumping megabytes into the table.
 */

/** Characters of a preview before it is cut. */
const PREVIEW_CHARS = 160;
/** Bytes of binary data shown in hex. */
const PREVIEW_BYTES = 32;

export function isBinary(data: unknown): data is { $binary: string } {
  return (
    typeof data === "object" &&
    data !== null &&
    Object.keys(data).length === 1 &&
    typeof (data as { $binary?: unknown }).$binary === "string"
  );
}

export function dataPreview(data: unknown): string {
  if (isBinary(data)) {
    const raw = atob(data.$binary);
    const hex = Array.from(raw.slice(0, PREVIEW_BYTES), (char) => char.charCodeAt(0).toString(16).padStart(2, "0"));
    return `binary, ${raw.length} bytes: ${hex.join(" ")}${raw.length > PREVIEW_BYTES ? " …" : ""}`;
  }
  const text = JSON.stringify(data) ?? "null";
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)} …` : text;
}

/** The whole data, pretty-printed; binary as its base64. */
export function dataInFull(data: unknown): string {
  if (isBinary(data)) return `base64: ${data.$binary}`;
  return JSON.stringify(data, null, 2) ?? "null";
}
