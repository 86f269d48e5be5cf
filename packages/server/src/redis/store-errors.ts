/**
 * Maps failures of Redis to the contract's codes, in one place: a connection that is down, closed or too
 * slow is `UNAVAILABLE` (safe to retry); a reply error from Redis itself (a bug in a script, a wrong type)
 * is `INTERNAL`.
 */
import { MailroomError } from "@mailroom/protocol";
import { ReplyError } from "ioredis";

export function storeError(error: unknown): MailroomError {
  if (error instanceof MailroomError) return error;
  if (error instanceof ReplyError) {
    return new MailroomError("INTERNAL", "the store refused a command", { cause: error });
  }
  return new MailroomError("UNAVAILABLE", "the store is unreachable: retry", { cause: error });
}

/** Runs a store operation, translating its failure. */
export async function inStore<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw storeError(error);
  }
}
