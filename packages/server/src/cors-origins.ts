/**
 * The `--cors-origins` setting (docs/protocol.md §16): which browser origins may call the HTTP API and
 * connect with Socket.IO. Unset, the HTTP API sends no CORS headers (and Socket.IO answers every origin:
 * docs/protocol.md, "Mailroom's choices"); `*` lets every origin in, never with credentials; a list lets in
 * exactly its origins. An origin is written as browsers send it in `Origin`: `scheme://host[:port]`, in
 * lowercase, with no path and no default port, so that a string comparison decides. This module reads and
 * checks the setting; the transports apply it (transports/http/cors.ts, transports/socketio/handshake-origins.ts).
 */

/** Every origin: `--cors-origins '*'`. */
export const ANY_ORIGIN = "*";

/** What the setting allows: every origin, or the origins of a list. */
export type AllowedOrigins = typeof ANY_ORIGIN | readonly string[];

/** `scheme://host[:port]` as a browser serializes it: a DNS name, an IPv4 address or a bracketed IPv6 one. */
const SERIALIZED_ORIGIN =
  /^[a-z][a-z0-9+.-]*:\/\/(?:[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::([1-9]\d{0,4}))?$/;
const HIGHEST_PORT = 65_535;
/** Ports a browser leaves out of `Origin`: an entry that names one would never match. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: "80", https: "443", ws: "80", wss: "443" };

const EXPECTED = "must be * or a comma-separated list of origins (scheme://host[:port])";

/** The origins a valid setting allows, or `undefined` when it is unset. */
export function allowedOrigins(setting: string | undefined): AllowedOrigins | undefined {
  if (setting === undefined) return undefined;
  const entries = entriesOf(setting);
  return entries.length === 1 && entries[0] === ANY_ORIGIN ? ANY_ORIGIN : entries;
}

/** Whether a request's `Origin` is let in. */
export function isOriginAllowed(allowed: AllowedOrigins, origin: string): boolean {
  return allowed === ANY_ORIGIN || allowed.includes(origin);
}

/** Why the setting cannot be used, without its name: `must be ..., got "..."`; `undefined` when it can. */
export function corsOriginsProblem(setting: string): string | undefined {
  const entries = entriesOf(setting);
  if (entries.every((entry) => entry === "")) {
    return `${EXPECTED}, got an empty value: leave it unset for no CORS headers`;
  }
  if (entries.includes(ANY_ORIGIN)) {
    return entries.length === 1 ? undefined : `${EXPECTED}, got * beside other origins: give * alone`;
  }
  for (const entry of entries) {
    const problem = originProblem(entry);
    if (problem !== undefined) return `${EXPECTED}, got ${JSON.stringify(entry)}: ${problem}`;
  }
  return undefined;
}

function entriesOf(setting: string): string[] {
  return setting.split(",").map((entry) => entry.trim());
}

/** What is wrong with one entry of the list, with the fix when there is one. */
function originProblem(entry: string): string | undefined {
  if (entry === "") return "an empty origin between commas";
  const match = SERIALIZED_ORIGIN.exec(entry);
  const port = match?.[1];
  if (match && (port === undefined || Number(port) <= HIGHEST_PORT)) {
    const scheme = entry.slice(0, entry.indexOf(":"));
    if (port === undefined || DEFAULT_PORTS[scheme] !== port) return undefined;
  }
  const written = serializedOrigin(entry);
  return written !== undefined && written !== entry
    ? `write it as a browser sends it, ${written}`
    : "not an origin (no path, no user, a port from 1 to 65535)";
}

/** The origin a browser would send for a page at `text`, when it is a URL with one. */
function serializedOrigin(text: string): string | undefined {
  try {
    const { origin } = new URL(text);
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}
