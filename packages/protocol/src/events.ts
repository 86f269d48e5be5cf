/**
 * The typed event maps shared by the server and the SDK (docs/protocol.md §3 and §4).
 * Every command takes one object argument and an acknowledgement that receives a `Reply`.
 */
import type { ErrorBody } from "./errors.js";
import type {
  AckResult,
  ConsumeResult,
  NackResult,
  PurgeResult,
  QueueMessage,
  QueueStats,
  RedriveResult,
  SendBatchResult,
  SendResult,
} from "./queues.js";
import {
  QueueAckArgs,
  QueueCancelArgs,
  QueueConsumeArgs,
  QueueExtendArgs,
  QueueNackArgs,
  QueueNameArgs,
  QueueSendArgs,
  QueueSendBatchArgs,
} from "./queues.js";
import type { BroadcastMeta, RoomJoinResult, RoomMembersResult, RoomPublishResult } from "./rooms.js";
import { RoomJoinArgs, RoomLeaveArgs, RoomMembersArgs, RoomPublishArgs } from "./rooms.js";

/** A command's acknowledgement: `{ ok: true, ...result }` or `{ ok: false, error }`. */
export type Reply<Result extends object = Record<string, never>> =
  | ({ ok: true } & Result)
  | { ok: false; error: ErrorBody };

export type Acknowledge<Result extends object = Record<string, never>> = (reply: Reply<Result>) => void;

/** Each command: its argument and its result on success. */
export interface Commands {
  "room:join": { args: RoomJoinArgs; result: RoomJoinResult };
  "room:leave": { args: RoomLeaveArgs; result: Record<string, never> };
  "room:publish": { args: RoomPublishArgs; result: RoomPublishResult };
  "room:members": { args: RoomMembersArgs; result: RoomMembersResult };
  "queue:send": { args: QueueSendArgs; result: SendResult };
  "queue:sendBatch": { args: QueueSendBatchArgs; result: SendBatchResult };
  "queue:consume": { args: QueueConsumeArgs; result: ConsumeResult };
  "queue:cancel": { args: QueueCancelArgs; result: Record<string, never> };
  "queue:ack": { args: QueueAckArgs; result: AckResult };
  "queue:nack": { args: QueueNackArgs; result: NackResult };
  "queue:extend": { args: QueueExtendArgs; result: Record<string, never> };
  "queue:stats": { args: QueueNameArgs; result: QueueStats };
  "queue:purge": { args: QueueNameArgs; result: PurgeResult };
  "queue:redrive": { args: QueueNameArgs; result: RedriveResult };
}

export type CommandName = keyof Commands;

/**
 * The commands that settle leases. The node runs them even when the connection closes right after them,
 * and the SDK's `close()` waits for their answers before it disconnects.
 */
export const SETTLING_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(["queue:ack", "queue:nack"]);

/**
 * The schema of each command's argument, at run time: the node validates with it, and its static type is
 * `Commands[Name]["args"]` (a test keeps the two equal).
 */
export const COMMAND_ARGS = {
  "room:join": RoomJoinArgs,
  "room:leave": RoomLeaveArgs,
  "room:publish": RoomPublishArgs,
  "room:members": RoomMembersArgs,
  "queue:send": QueueSendArgs,
  "queue:sendBatch": QueueSendBatchArgs,
  "queue:consume": QueueConsumeArgs,
  "queue:cancel": QueueCancelArgs,
  "queue:ack": QueueAckArgs,
  "queue:nack": QueueNackArgs,
  "queue:extend": QueueExtendArgs,
  "queue:stats": QueueNameArgs,
  "queue:purge": QueueNameArgs,
  "queue:redrive": QueueNameArgs,
} as const satisfies Record<CommandName, unknown>;

export type ClientToServerEvents = {
  [Name in CommandName]: (args: Commands[Name]["args"], ack: Acknowledge<Commands[Name]["result"]>) => void;
};

/**
 * What a node sends a client without being asked: `mailroom:error` answers a command sent without an
 * acknowledgement callback (there is nothing else to answer it with). Room broadcasts arrive under their
 * publisher's event name as `(data, meta)`.
 */
export interface ServerToClientEvents {
  "mailroom:error": (report: { event: string; error: ErrorBody }) => void;
  "queue:message": (message: QueueMessage) => void;
  /** Several deliveries at once, to consumers registered with `batch: true` (an addition to the contract). */
  "queue:messages": (messages: QueueMessage[]) => void;
  // biome-ignore lint/suspicious/noExplicitAny: broadcasts carry whatever data the publisher sent
  [broadcast: string]: (data: any, meta: BroadcastMeta) => void;
}
