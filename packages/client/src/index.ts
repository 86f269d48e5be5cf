/**
 * @mailroom/client: the typed Mailroom SDK over socket.io-client, for Node and browsers.
 * @example
 * import { connect, MailroomError } from "@mailroom/client";
 *
 * const client = connect("http://localhost:3000", { token });
 * const room = client.room("chat/general");
 * room.on("message", (data, meta) => console.log(meta.id, data));
 * await room.join();
 * await room.publish("message", { text: "hello" });
 *
 * const orders = client.queue("orders");
 * await orders.consume(async (message) => console.log(message.attempt, message.data));
 * await orders.send({ sku: "A-1" }, { headers: { "trace-id": "t-1" } });
 */
export type {
  AckResult,
  BroadcastMeta,
  DeadLetterReason,
  ErrorCode,
  NackResult,
  PurgeResult,
  QueueStats,
  RedriveResult,
  RoomJoinResult,
  RoomMember,
  RoomMembersResult,
  RoomPosition,
  RoomPublishResult,
  SendResult,
} from "@mailroom/protocol";
export { isErrorCode, MailroomError } from "@mailroom/protocol";
export { type ClientEvents, type ClientOptions, DEFAULT_TIMEOUT_MS, MailroomClient } from "./client.js";
export { type ConnectOptions, connect } from "./connect.js";
export {
  type ConsumeFailure,
  type ConsumeOperation,
  type ConsumeOptions,
  Consumption,
  type MessageHandler,
} from "./consumption.js";
export { type EmitterMetaOptions, emitterMeta } from "./emitter-meta.js";
export type { PositionStorage } from "./position-storage.js";
export { type BatchMessage, type NackOptions, Queue, type SendOptions } from "./queue.js";
export type { ReceivedMessage } from "./received-message.js";
export type { MailroomSocket } from "./request.js";
export {
  type AnyBroadcastHandler,
  type BroadcastHandler,
  type JoinOptions,
  type PublishOptions,
  type ResetHandler,
  Room,
  type RoomEvents,
} from "./room.js";
