/**
 * The room commands of docs/protocol.md §3 and the room broadcast of §4: argument schemas and result types.
 * Shapes only: name rules live in names.ts.
 */
import { type Static, Type } from "@sinclair/typebox";

const strict = { additionalProperties: false } as const;

export const RoomJoinArgs = Type.Object({ room: Type.String() }, strict);
export type RoomJoinArgs = Static<typeof RoomJoinArgs>;

export const RoomLeaveArgs = RoomJoinArgs;
export type RoomLeaveArgs = RoomJoinArgs;

export const RoomMembersArgs = RoomJoinArgs;
export type RoomMembersArgs = RoomJoinArgs;

export const RoomPublishArgs = Type.Object(
  {
    room: Type.String(),
    event: Type.String(),
    data: Type.Unknown(),
    echo: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type RoomPublishArgs = Static<typeof RoomPublishArgs>;

/** At most this many members are listed by `room:members`; `count` is always the whole room. */
export const MAX_LISTED_MEMBERS = 1000;

export interface RoomMember {
  socket: string;
  user?: string;
}

export interface RoomMembersResult {
  count: number;
  members: RoomMember[];
}

export interface RoomPublishResult {
  id: string;
}

/** The second argument of every room broadcast a member receives. */
export interface BroadcastMeta {
  room: string;
  id: string;
  ts: number;
  from?: string;
}
