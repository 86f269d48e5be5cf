/**
 * One consumer of one queue on this node: its socket, its prefetch and lease length, and the deliveries it
 * holds (receipt -> when this node stops counting it against the prefetch: receive time + visibility,
 * never before the store ends the lease).
 */
import type { QueueAddress } from "../engines/queue-engine.js";
import type { MailroomSocket } from "../socket-types.js";

export class Consumer {
  readonly deliveries = new Map<string, number>();
  cancelled = false;

  constructor(
    readonly id: string,
    readonly socket: MailroomSocket,
    readonly address: QueueAddress,
    readonly prefetch: number,
    readonly visibilityMs: number,
    /** Whether its deliveries of one pull go as one `queue:messages` event. */
    readonly batch: boolean,
  ) {}

  freeSlots(): number {
    if (this.cancelled || this.socket.disconnected) return 0;
    return this.prefetch - this.deliveries.size;
  }
}
