/**
 * Turns a Socket.IO `connect_error` into a `MailroomError` (docs/protocol.md §2): a node refuses a handshake
 * with the message `unauthorized` (no or bad token), `forbidden` (no right to the namespace) or
 * `limit_exceeded` (the connection has opened its most namespaces, docs/protocol.md §15); anything
 * else (a node down, a network error, a handshake timeout) is `UNAVAILABLE`, which is worth retrying.
 */
import { type ErrorCode, MailroomError } from "@mailroom/protocol";

/** The `connect_error` messages by which a node refuses a handshake, and their codes. */
const REFUSALS: ReadonlyMap<string, ErrorCode> = new Map([
  ["unauthorized", "UNAUTHORIZED"],
  ["forbidden", "FORBIDDEN"],
  ["limit_exceeded", "LIMIT_EXCEEDED"],
]);

/** The `MailroomError` a failed handshake means, with the Socket.IO error as its cause. */
export function handshakeError(error: Error): MailroomError {
  const code = REFUSALS.get(error.message);
  if (code) return new MailroomError(code, `the node refused the connection: ${error.message}`, { cause: error });
  return new MailroomError("UNAVAILABLE", `could not connect: ${error.message}`, { cause: error });
}
