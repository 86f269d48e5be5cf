/**
 * The name rules of docs/protocol.md §1, one checker per kind of name.
 * Each returns `undefined` for a valid name, or the message of the `INVALID_NAME` (or `RESERVED_EVENT`)
 * error that refuses it. "Chars" are Unicode code points; control characters are category Cc.
 */

const NAMESPACE_PATTERN = /^\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const QUEUE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,123}$/;
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const GROUP_PATTERN = MESSAGE_ID_PATTERN;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
/** A lone UTF-16 surrogate: a string with one has no UTF-8 form, so it is no valid name. */
const LONE_SURROGATE = /\p{Cs}/u;

const MAX_ROOM_BYTES = 256;
const MAX_EVENT_CHARS = 128;

/** Socket.IO's own event names, which a publish may never use. */
const SOCKET_IO_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);
const RESERVED_EVENT_PREFIXES = ["queue:", "room:", "mailroom:"];

/** Custom namespaces as a pattern, for Socket.IO's dynamic namespace (the default `/` is apart). */
export const CUSTOM_NAMESPACE_PATTERN = NAMESPACE_PATTERN;

export function namespaceNameProblem(name: string): string | undefined {
  if (name === "/" || NAMESPACE_PATTERN.test(name)) return undefined;
  return "namespace must be / or / followed by 1-64 of [A-Za-z0-9_-], the first alphanumeric";
}

export function queueNameProblem(name: string): string | undefined {
  if (QUEUE_PATTERN.test(name)) return undefined;
  return "queue must be 1-124 of [A-Za-z0-9_.:-], the first alphanumeric";
}

export function roomNameProblem(name: string): string | undefined {
  const bytes = utf8ByteLength(name);
  if (bytes >= 1 && bytes <= MAX_ROOM_BYTES && !CONTROL_CHARACTER.test(name) && !LONE_SURROGATE.test(name)) {
    return undefined;
  }
  return "room must be 1-256 UTF-8 bytes with no control characters";
}

export function messageIdProblem(id: string): string | undefined {
  if (MESSAGE_ID_PATTERN.test(id)) return undefined;
  return "id must be 1-128 of [A-Za-z0-9_.:-]";
}

/** §11: a message group's name. */
export function groupNameProblem(group: string): string | undefined {
  if (GROUP_PATTERN.test(group)) return undefined;
  return "group must be 1-128 of [A-Za-z0-9_.:-]";
}

/** An event name that breaks the character rule: `INVALID_NAME`. */
export function eventNameProblem(name: string): string | undefined {
  const chars = [...name].length;
  if (chars >= 1 && chars <= MAX_EVENT_CHARS && !CONTROL_CHARACTER.test(name) && !LONE_SURROGATE.test(name)) {
    return undefined;
  }
  return "event must be 1-128 characters with no control characters";
}

/** Whether a valid event name is one that publishes may not use: `RESERVED_EVENT`. */
export function isReservedEvent(name: string): boolean {
  return SOCKET_IO_EVENTS.has(name) || RESERVED_EVENT_PREFIXES.some((prefix) => name.startsWith(prefix));
}

const encoder = new TextEncoder();

/** The UTF-8 byte length of a string, in browsers and Node alike. */
export function utf8ByteLength(text: string): number {
  return encoder.encode(text).length;
}
