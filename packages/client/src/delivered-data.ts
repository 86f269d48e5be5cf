/**
 * What a node delivers as `data` (a room broadcast, a queue message), as the SDK hands it on: the same
 * value, except that binary becomes a `Uint8Array` everywhere. socket.io-client gives browsers an
 * `ArrayBuffer` and Node a `Buffer` (already a `Uint8Array`); only the top level of `data` is binary
 * (docs/protocol.md §3), so nothing deeper is touched. No Node-only API: this runs in browsers too.
 */

/** An `ArrayBuffer` becomes a `Uint8Array` view of it; anything else is returned as it is. */
export function asDelivered(data: unknown): unknown {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
