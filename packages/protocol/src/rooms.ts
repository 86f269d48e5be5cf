/**
 * The room commands of docs/protocol.md §3 and the room broadcast of §4: argument schemas and result types.
 * Shapes only: name rules live in names.ts.
 */
import { type Static, Type } from "@sinclair/typebox";

const strict = { additionalProperties: false } as const;

/** The most publications `room:join` replays with `rewind` (docs/protocol.md §10). */
export const MAX_REWIND = 100;

/** A position in a room's history: the last publication a client has seen (§10). */
export const RoomPositionSchema = Type.Object(
  { epoch: Type.String({ maxLength: 64 }), offset: Type.Integer({ minimum: 0 }) },
  strict,
);
export type RoomPosition = Static<typeof RoomPositionSchema>;

export const RoomJoinArgs = Type.Object(
  {
    room: Type.String(),
    since: Type.Optional(RoomPositionSchema),
    rewind: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_REWIND })),
  },
  strict,
);
export type RoomJoinArgs = Static<typeof RoomJoinArgs>;

const RoomOnlyArgs = Type.Object({ room: Type.String() }, strict);

export const RoomLeaveArgs = RoomOnlyArgs;
export type RoomLeaveArgs = Static<typeof RoomOnlyArgs>;

export const RoomMembersArgs = RoomOnlyArgs;
export type RoomMembersArgs = Static<typeof RoomOnlyArgs>;

/**
 * What `room:join` answers: the room's position when the join took effect, and with `since`, whether the
 * missed publications were replayed (§10). Empty on a node whose history is off (`--room-history-size 0`).
 */
export interface RoomJoinResult {
  epoch?: string;
  offset?: number;
  recovered?: boolean;
}

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
  /** The publication's place in the room's history (absent when the node keeps no history). */
  offset?: number;
  epoch?: string;
}

/** The second argument of every room broadcast a member receives. */
export interface BroadcastMeta {
  room: string;
  id: string;
  ts: number;
  from?: string;
  /** The publication's number in the room's history, 1, 2, 3 … within the epoch (§10; absent for an emitter's broadcast). */
  offset?: number;
  /** The room's epoch: changes whenever the store lost the room's history (§10). */
  epoch?: string;
}

/** One publication of a room's history, as the HTTP history route lists it (§10). */
export interface HistoryPublication {
  offset: number;
  id: string;
  event: string;
  data: unknown;
  ts: number;
  from?: string;
}

export interface RoomHistoryResult {
  epoch: string;
  offset: number;
  publications: HistoryPublication[];
}
