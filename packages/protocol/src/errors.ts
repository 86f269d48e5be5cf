/**
 * The error catalogue: every code a client can receive, in one flat table (docs/protocol.md §8).
 * Socket.IO acks and HTTP responses both map from it; `temporary` says whether retrying may succeed.
 * A test keeps the README's error table equal to this catalogue.
 */

export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, temporary: false, meaning: "wrong shape, type or range" },
  INVALID_NAME: {
    status: 400,
    temporary: false,
    meaning: "a namespace, queue, room, event or id breaks its rule",
  },
  RESERVED_EVENT: { status: 400, temporary: false, meaning: "a publish under a reserved event name" },
  PAYLOAD_TOO_LARGE: { status: 413, temporary: false, meaning: "over the size maximum" },
  UNAUTHORIZED: { status: 401, temporary: false, meaning: "no token, a bad one, or an expired one" },
  FORBIDDEN: { status: 403, temporary: false, meaning: "the token lacks the right" },
  NOT_FOUND: { status: 404, temporary: false, meaning: "no such receipt, consumer or route" },
  RATE_LIMITED: { status: 429, temporary: true, meaning: "too many commands or requests: retry later" },
  LIMIT_EXCEEDED: {
    status: 429,
    temporary: true,
    meaning: "a per-connection or per-node limit of §15 is reached (added in §15)",
  },
  UNAVAILABLE: {
    status: 503,
    temporary: true,
    meaning: "the store is unreachable or the node is draining: retry",
  },
  INTERNAL: { status: 500, temporary: false, meaning: "a bug: logged with its cause" },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** The error body of a failed command's acknowledgement and of a failed HTTP request. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CATALOGUE, value);
}

/**
 * The one error class of Mailroom, thrown by the server's handlers and by the SDK alike.
 * @example
 * throw new MailroomError("INVALID_NAME", "room must be 1-256 UTF-8 bytes");
 */
export class MailroomError extends Error {
  override readonly name = "MailroomError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The HTTP status that goes with this error's code. */
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  /** Whether the same request may succeed if retried later. */
  get temporary(): boolean {
    return ERROR_CATALOGUE[this.code].temporary;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}
