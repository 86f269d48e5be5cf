/**
 * Delivers the publications of rooms with history to this node's members (docs/protocol.md §10): in
 * offset order, each offset once, with no gap that the history can fill.
 *
 * A room with members here has a feed: it listens to the room's publications (engines/room-history.ts)
 * and remembers the last offset it delivered. A publication that jumps ahead (a pub/sub message lost,
 * the subscriber reconnecting) makes the feed read what it missed from the history and deliver it first
 * (gap repair, within `recoveryMax`); a subscription that may have missed messages reads after its last
 * offset. Deliveries of a feed run one after the other.
 *
 * A joining socket (`attach`, then `recover`): its live publications are buffered from before the join
 * takes effect; the history is read (after `since`, or the last `rewind`); the missed ones are emitted to
 * it, then the buffered ones it did not get from the history; it then gets live publications through the
 * room's broadcast once the feed has delivered everything it has seen (until then, one by one).
 */
import type { BroadcastMeta, RoomJoinResult, RoomPosition } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import { roomRef } from "../engines/refs.js";
import type { HeardPublication, HistoryRead, RoomHistory, StoredPublication } from "../engines/room-history.js";
import type { MailroomSocket } from "../socket-types.js";
import { HistoryReads } from "./history-reads.js";
import { selfRoom } from "./private-rooms.js";

export interface RoomFeedSettings {
  /** The most publications one recovery replays and one gap repair delivers. */
  recoveryMax: number;
}

/** What the feeds tell the metrics. */
export interface RoomFeedEvents {
  /** A join with `since` was answered; `replayed` publications were emitted to it (with `rewind` too). */
  joined(namespace: string, outcome: { recovered: boolean | undefined; replayed: number }): void;
  /** A feed delivered `publications` it had missed, read from the history. */
  gapRepaired(namespace: string, publications: number): void;
  /** A read of a room's history reached the store (merged reads count once). */
  historyRead(namespace: string): void;
}

/** What a socket asks of its join (docs/protocol.md §10). */
export interface JoinRequest {
  since?: RoomPosition | undefined;
  rewind?: number | undefined;
}

/** A socket whose join is under way: what it has been given so far. */
interface Joiner {
  socket: MailroomSocket;
  /** Live publications held while its history is read; undefined once it catches up one by one. */
  buffer: HeardPublication[] | undefined;
  epoch: string | undefined;
  last: number;
}

interface Feed {
  namespace: string;
  room: string;
  /** The namespace here: what broadcasts to the room's local members. */
  nsp: MailroomSocket["nsp"];
  /** Ids of the attached sockets. */
  members: Set<string>;
  joiners: Map<string, Joiner>;
  /** The epoch and last offset delivered; undefined until the first publication or read. */
  epoch: string | undefined;
  last: number;
  /** The deliveries and repairs, one after the other. */
  work: Promise<void>;
  ready: Promise<void>;
  stop: () => void;
}

export class RoomFeeds {
  private readonly feeds = new Map<string, Feed>();
  private readonly reads: HistoryReads;

  constructor(
    private readonly history: RoomHistory,
    private readonly settings: RoomFeedSettings,
    private readonly events: RoomFeedEvents,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.reads = new HistoryReads(history, (namespace) => events.historyRead(namespace));
  }

  /**
   * Starts a socket's join: from now on the room's publications are held for it. Then `socket.join`, and
   * `recover` (or `detach` when the join fails).
   */
  attach(socket: MailroomSocket, room: string): { recover: (request: JoinRequest) => Promise<RoomJoinResult> } {
    const feed = this.feedOf(socket, room);
    feed.members.add(socket.id);
    const joiner: Joiner = { socket, buffer: [], epoch: undefined, last: 0 };
    feed.joiners.set(socket.id, joiner);
    return { recover: (request) => this.recover(feed, joiner, request) };
  }

  /** The socket left the room (or its join failed, or it disconnected). */
  detach(socket: MailroomSocket, room: string): void {
    const ref = roomRef(socket.nsp.name, room);
    const feed = this.feeds.get(ref);
    if (!feed) return;
    feed.members.delete(socket.id);
    feed.joiners.delete(socket.id);
    if (feed.members.size > 0) return;
    this.feeds.delete(ref);
    feed.stop();
  }

  /** The room's place, for a socket already in it (its join changes nothing). */
  async placeOf(socket: MailroomSocket, room: string, since: RoomPosition | undefined): Promise<RoomJoinResult> {
    const read = await this.reads.read(socket.nsp.name, room, {});
    const result: RoomJoinResult = { epoch: read.epoch, offset: read.offset };
    if (since) result.recovered = since.epoch === read.epoch && since.offset === read.offset;
    return result;
  }

  private feedOf(socket: MailroomSocket, room: string): Feed {
    const namespace = socket.nsp.name;
    const ref = roomRef(namespace, room);
    const existing = this.feeds.get(ref);
    if (existing) return existing;
    const feed: Feed = {
      namespace,
      room,
      nsp: socket.nsp,
      members: new Set(),
      joiners: new Map(),
      epoch: undefined,
      last: 0,
      work: Promise.resolve(),
      ready: Promise.resolve(),
      stop: () => {},
    };
    const listening = this.history.listen(namespace, room, (publication) => {
      feed.work = feed.work
        .then(() => (publication ? this.take(feed, publication) : this.catchUp(feed)))
        .catch((error: unknown) =>
          this.logger.warn({ err: error, room }, "a room's publication could not be delivered"),
        );
    });
    feed.ready = listening.ready;
    feed.stop = listening.stop;
    this.feeds.set(ref, feed);
    return feed;
  }

  private async recover(feed: Feed, joiner: Joiner, { since, rewind }: JoinRequest): Promise<RoomJoinResult> {
    await feed.ready;
    const read = await this.reads.read(feed.namespace, feed.room, { after: since?.offset, tail: rewind });
    if (feed.epoch === undefined) {
      feed.epoch = read.epoch;
      feed.last = read.offset;
    }
    const recovered = since ? recoverable(since, read, this.settings.recoveryMax) : undefined;
    let replay: StoredPublication[] = [];
    if (since && recovered) replay = read.publications.filter((publication) => publication.offset > since.offset);
    else if (rewind) replay = read.publications.filter((publication) => publication.offset > read.offset - rewind);
    const { socket } = joiner;
    for (const publication of replay) {
      if (publication.except === socket.id) continue;
      socket.emit(publication.event, publication.data, metaOf(feed.room, { ...publication, epoch: read.epoch }));
    }
    joiner.epoch = read.epoch;
    joiner.last = read.offset;
    const buffered = joiner.buffer ?? [];
    joiner.buffer = undefined;
    for (const publication of buffered) this.giveJoiner(joiner, publication, metaOf(feed.room, publication));
    this.goLiveIfCaughtUp(feed, joiner);
    if (since !== undefined || rewind) this.events.joined(feed.namespace, { recovered, replayed: replay.length });
    const result: RoomJoinResult = { epoch: joiner.epoch, offset: joiner.last };
    if (recovered !== undefined) result.recovered = recovered;
    return result;
  }

  /** A publication heard live: delivered after what is missing before it. */
  private async take(feed: Feed, publication: HeardPublication): Promise<void> {
    if (feed.epoch === publication.epoch) {
      if (publication.offset <= feed.last) return;
      if (publication.offset > feed.last + 1) await this.repair(feed, publication.epoch, publication.offset - 1);
    } else if (feed.epoch !== undefined) {
      // The room's history was lost and started again: what came before this one in the new epoch.
      feed.epoch = publication.epoch;
      feed.last = 0;
      if (publication.offset > 1) await this.repair(feed, publication.epoch, publication.offset - 1);
    }
    this.deliver(feed, publication);
  }

  /** The subscription may have missed publications: whatever the history holds after the last one. */
  private async catchUp(feed: Feed): Promise<void> {
    if (feed.epoch === undefined || feed.members.size === 0) return;
    const read = await this.reads.read(feed.namespace, feed.room, { after: feed.last });
    if (read.epoch !== feed.epoch) {
      feed.epoch = read.epoch;
      feed.last = 0;
    }
    this.deliverMissed(feed, read, read.offset);
  }

  /** Reads and delivers the publications after the feed's last, up to `upTo`, of that epoch. */
  private async repair(feed: Feed, epoch: string, upTo: number): Promise<void> {
    let read: HistoryRead;
    try {
      read = await this.reads.read(feed.namespace, feed.room, { after: feed.last });
    } catch (error) {
      this.logger.debug({ err: error, room: feed.room }, "a gap in a room's publications could not be read");
      return;
    }
    if (read.epoch === epoch) this.deliverMissed(feed, read, upTo);
  }

  private deliverMissed(feed: Feed, read: HistoryRead, upTo: number): void {
    const missed = read.publications.filter(
      (publication) => publication.offset > feed.last && publication.offset <= upTo,
    );
    const delivered = missed.slice(Math.max(0, missed.length - this.settings.recoveryMax));
    for (const publication of delivered) this.deliver(feed, { ...publication, epoch: read.epoch });
    if (delivered.length > 0) this.events.gapRepaired(feed.namespace, delivered.length);
  }

  /** To every member here: by the room's broadcast, but one by one to sockets still joining. */
  private deliver(feed: Feed, publication: HeardPublication): void {
    const meta = metaOf(feed.room, publication);
    const excluded = [selfRoom(feed.room)];
    if (publication.except !== undefined) excluded.push(publication.except);
    for (const [socketId, joiner] of feed.joiners) {
      excluded.push(socketId);
      if (socketId !== publication.except) this.giveJoiner(joiner, publication, meta);
    }
    feed.nsp.local.to(feed.room).except(excluded).emit(publication.event, publication.data, meta);
    feed.epoch = publication.epoch;
    feed.last = publication.offset;
    for (const joiner of feed.joiners.values()) this.goLiveIfCaughtUp(feed, joiner);
  }

  private giveJoiner(joiner: Joiner, publication: HeardPublication, meta: BroadcastMeta): void {
    if (joiner.buffer) {
      joiner.buffer.push(publication);
      return;
    }
    if (publication.epoch === joiner.epoch && publication.offset <= joiner.last) return;
    joiner.socket.emit(publication.event, publication.data, meta);
    joiner.epoch = publication.epoch;
    joiner.last = publication.offset;
  }

  /** A joiner past its history read gets the broadcast once the feed delivered all it has seen. */
  private goLiveIfCaughtUp(feed: Feed, joiner: Joiner): void {
    if (joiner.buffer || feed.epoch !== joiner.epoch || feed.last < joiner.last) return;
    feed.joiners.delete(joiner.socket.id);
  }
}

/** Whether a read holds every publication after `since`, and at most `max` of them (§10). */
function recoverable(since: RoomPosition, read: HistoryRead, max: number): boolean {
  if (since.epoch !== read.epoch || since.offset > read.offset) return false;
  const missed = read.offset - since.offset;
  if (missed === 0) return true;
  if (missed > max) return false;
  const first = read.publications[0];
  return first !== undefined && first.offset <= since.offset + 1;
}

function metaOf(room: string, publication: HeardPublication): BroadcastMeta {
  const meta: BroadcastMeta = {
    room,
    id: publication.id,
    ts: publication.ts,
    offset: publication.offset,
    epoch: publication.epoch,
  };
  if (publication.from !== undefined) meta.from = publication.from;
  return meta;
}
