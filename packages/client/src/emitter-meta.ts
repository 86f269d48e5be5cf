/**
 * The `meta` argument for a broadcast sent around the nodes, with the stock `@socket.io/redis-emitter`
 * (docs/protocol.md §4), so that `@mailroom/client` room handlers receive it.
 *
 * Why the SDK does not deliver a broadcast without meta to room handlers: Socket.IO hands a broadcast to
 * a socket under its event name only, whatever room it was sent to, so `meta.room` is the only thing that
 * says which room a broadcast is for. A client in two rooms with handlers for the same event could not
 * tell whose it is, and even a client in one room could not tell a broadcast to that room from one sent to
 * the whole namespace or to its socket alone. Guessing would hand a handler broadcasts of another room, so
 * the SDK does not guess: a broadcast with no meta reaches `client.socket.on(event, ...)` listeners only.
 * An emitter that passes this meta reaches room handlers like a publish does.
 */
import type { BroadcastMeta } from "@mailroom/protocol";

export interface EmitterMetaOptions {
  /** The broadcast's id, as members receive it in `meta.id`. @default a random UUID */
  id?: string;
  /** Who sent it, as members receive it in `meta.from` (a node sets the publisher's `sub`). @default none */
  from?: string;
}

/**
 * The meta of a broadcast to `room`, sent with `@socket.io/redis-emitter`: `{ room, id, ts, from? }`, with
 * `ts` now (ms since the epoch). Pass it as the argument after the data, and send to the same room.
 * @example
 * import { Emitter } from "@socket.io/redis-emitter";
 * import { emitterMeta } from "@mailroom/client";
 *
 * const emitter = new Emitter(redis); // the Redis of the nodes (key "socket.io": see --adapter-key)
 * emitter.of("/ops").to("alerts").emit("alert", { level: "high" }, emitterMeta("alerts"));
 * // reaches client.room("alerts").on("alert", (data, meta) => ...) in namespace /ops, on every node
 */
export function emitterMeta(room: string, options: EmitterMetaOptions = {}): BroadcastMeta {
  const meta: BroadcastMeta = { room, id: options.id ?? globalThis.crypto.randomUUID(), ts: Date.now() };
  if (options.from !== undefined) meta.from = options.from;
  return meta;
}
