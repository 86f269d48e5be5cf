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
 */
export type {
  BroadcastMeta,
  ErrorCode,
  RoomMember,
  RoomMembersResult,
  RoomPublishResult,
} from "@mailroom/protocol";
export { MailroomError } from "@mailroom/protocol";
export { type ClientEvents, type ClientOptions, DEFAULT_TIMEOUT_MS, MailroomClient } from "./client.js";
export { type ConnectOptions, connect } from "./connect.js";
export type { MailroomSocket } from "./request.js";
export { type BroadcastHandler, type PublishOptions, Room, type RoomEvents } from "./room.js";
