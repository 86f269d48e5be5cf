/**
 * Maps failures of Redis to the contract's codes, in one place: a connection that is down, closed or too
 * slow is `UNAVAILABLE` (safe to retry), and so are the refusals of a Redis that cannot take writes now
 * (full under `noeviction`, loading its data after a restart, a read-only replica, busy with a script) and
 * those of a Redis Cluster in motion (a slot moved or moving that a redirection did not follow, e.g. one
 * that moved again meanwhile; a WAIT cut short by a failover);
 * any other reply error from Redis itself (a bug in a script, a wrong type) is `INTERNAL`.
 */
import { MailroomError } from "@mailroom/protocol";
import { ReplyError } from "ioredis";

/** Reply errors that say "not now" rather than "never": their prefix, and what to tell the client. */
const TEMPORARY_REFUSALS: ReadonlyArray<readonly [string, string]> = [
  ["OOM", "is full (Redis maxmemory reached)"],
  ["LOADING", "is loading its data"],
  ["READONLY", "is a read-only replica"],
  ["BUSY", "is busy running a script"],
  ["MASTERDOWN", "has lost its primary"],
  ["TRYAGAIN", "asks to try again"],
  ["CLUSTERDOWN", "cluster is down"],
  ["MOVED", "cluster moved a slot"],
  ["ASK", "cluster is moving a slot"],
  ["UNBLOCKED", "changed its master while waiting"],
  ["ERR WAIT cannot be used with replica instances", "changed its master while waiting"],
  ["NOREPLICAS", "has too few replicas"],
];

/** The store is up but did not copy a write to as many replicas as `--redis-wait-replicas` asks, in time. */
export function replicasMissing(wanted: number, confirmed: number): MailroomError {
  return new MailroomError(
    "UNAVAILABLE",
    `the store confirmed the write on ${confirmed} of ${wanted} replicas in time: it may be lost in a failover; retry`,
  );
}

export function storeError(error: unknown): MailroomError {
  if (error instanceof MailroomError) return error;
  if (error instanceof ReplyError) {
    const message = String((error as Error).message);
    const reason = TEMPORARY_REFUSALS.find(([prefix]) => message.startsWith(prefix));
    if (reason) return new MailroomError("UNAVAILABLE", `the store ${reason[1]}: retry`, { cause: error });
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
