/**
 * The checks of a room publish, as `room:publish` and the HTTP publish route run them in the contract's
 * order: the data's shape (`BAD_REQUEST`: `payloadBytes`, before the room's name), then after the room's
 * name the event's name (`INVALID_NAME`), a reserved event (`RESERVED_EVENT`), the data's size
 * (`PAYLOAD_TOO_LARGE`), then whether a broadcast can reach the cluster now (`UNAVAILABLE`).
 */
import { eventNameProblem, isReservedEvent, MailroomError } from "@mailroom/protocol";
import { checkSize } from "./outgoing-messages.js";

export interface PublishLimits {
  maxMessageBytes: number;
  /** Whether a publish can reach the other nodes now (always, with no Redis). */
  broadcastsFlow: () => boolean;
}

/** The checks after the room's name; `bytes` is what `payloadBytes` (payload-size.ts) said of the data. */
export function checkPublish(event: string, bytes: number, limits: PublishLimits): void {
  const eventProblem = eventNameProblem(event);
  if (eventProblem) throw new MailroomError("INVALID_NAME", eventProblem);
  if (isReservedEvent(event)) throw new MailroomError("RESERVED_EVENT", `${event} is a reserved event name`);
  checkSize(bytes, limits.maxMessageBytes, "data");
  if (!limits.broadcastsFlow())
    throw new MailroomError("UNAVAILABLE", "broadcasts cannot reach the cluster now: retry");
}
