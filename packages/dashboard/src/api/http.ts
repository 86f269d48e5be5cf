/**
 * Requests from the page to the node that served it (same origin: the CSP's connect-src is 'self'), with
 * the stored token as `Authorization: Bearer`. Every failure becomes an `ApiError` carrying the contract's
 * `{ error: { code, message } }`, or code `UNREACHABLE` when no answer came, so views can say plainly what
 * went wrong. A 401 is also reported to the listeners of `onUnauthorized`, which ask for a token, unless the
 * token was replaced while the request ran.
 */
import { storedToken } from "./token-store.js";

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the node did not answer. */
    readonly status: number,
    /** The contract's error code (`UNAUTHORIZED`, `FORBIDDEN`, ...), or `UNREACHABLE`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type UnauthorizedListener = (error: ApiError) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Calls `listener` with each 401 a request gets; returns what stops it. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  /** Sent as JSON. */
  body?: unknown;
}

export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = storedToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "UNREACHABLE", `the node did not answer (${(error as Error).message})`);
  }
  const body = await response.json().catch(() => undefined);
  if (response.ok) return body as T;
  const error = errorOf(response, body);
  // A 401 for a token replaced while the request ran says nothing about the token now stored.
  if (error.status === 401 && storedToken() === token) for (const listener of unauthorizedListeners) listener(error);
  throw error;
}

function errorOf(response: Response, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : `HTTP_${response.status}`;
  const message = typeof error?.message === "string" ? error.message : response.statusText || "no message";
  return new ApiError(response.status, code, message);
}
