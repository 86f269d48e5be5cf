/**
 * The one thing the CLI asks over HTTP (docs/protocol.md §6) because the Socket.IO contract has no command for
 * it: the list of a namespace's queues with their stats (`GET /v1/namespaces/{ns}/queues`). Same URL, same
 * token (`Authorization: Bearer`) as the socket. Errors become `MailroomError`s with the contract's code;
 * a node that cannot be reached, or does not answer within the SDK's command timeout, is `UNAVAILABLE`.
 */
import { DEFAULT_TIMEOUT_MS, isErrorCode, MailroomError, type QueueStats } from "@mailroom/client";
import { type ConnectionFlags, parseNodeUrl } from "./connection.js";

export interface ListedQueue extends QueueStats {
  name: string;
}

export interface QueueList {
  queues: ListedQueue[];
  /** Whether the namespace holds more queues than the node lists. */
  truncated: boolean;
}

/** The queues of the namespace that hold messages, have consumers or were sent to within 24 hours, with their stats. */
export async function listQueues(flags: ConnectionFlags): Promise<QueueList> {
  const url = new URL(
    `v1/namespaces/${encodeURIComponent(namespaceSegment(flags.namespace))}/queues`,
    httpBase(flags.url),
  );
  const headers: Record<string, string> = { accept: "application/json" };
  if (flags.token !== undefined) headers.authorization = `Bearer ${flags.token}`;
  const timeoutMs = DEFAULT_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new MailroomError("UNAVAILABLE", `cannot reach ${flags.url}: ${fetchFailureReason(error, timeoutMs)}`, {
      cause: error,
    });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw httpError(response.status, body);
  return body as QueueList;
}

/** `/` is written `_` in a route; any other namespace without its slash. */
function namespaceSegment(namespace: string): string {
  return namespace === "/" ? "_" : namespace.replace(/^\//, "");
}

/** The node's HTTP origin and path, ending in `/`, from an http(s) or ws(s) URL. */
function httpBase(nodeUrl: string): URL {
  const base = parseNodeUrl(nodeUrl);
  if (base.protocol === "ws:") base.protocol = "http:";
  if (base.protocol === "wss:") base.protocol = "https:";
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  return base;
}

function httpError(status: number, body: unknown): MailroomError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === "string" ? error.message : `the node answered HTTP ${status}`;
  if (isErrorCode(error?.code)) return new MailroomError(error.code, message);
  return new MailroomError(status >= 500 ? "UNAVAILABLE" : "INTERNAL", message);
}

function fetchFailureReason(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { message?: unknown } }).cause;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
