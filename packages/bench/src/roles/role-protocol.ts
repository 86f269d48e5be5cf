/**
 * How the bench drives a role process (the producer, consumer, publisher or socket holder of a run)
 * over Node's IPC channel: `setup` makes the role and is answered `ready` once it is connected;
 * `start` runs it and is answered `done` with its result; `close` ends it and the process exits.
 * A failure at any step is answered `failed`.
 */

export interface Role {
  /** Does the role's work; resolves with what the bench reports. */
  start(): Promise<unknown>;
  close(): Promise<void>;
}

export type ParentMessage = { type: "setup"; role: string; config: unknown } | { type: "start" } | { type: "close" };

export type ChildMessage = { type: "ready" } | { type: "done"; result: unknown } | { type: "failed"; error: string };
