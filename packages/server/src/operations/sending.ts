/**
 * A send as both transports run it, checks in the contract's order: every message's headers and data (with
 * the shape, `BAD_REQUEST`), then the names (`INVALID_NAME`: the queue, resolved by the caller's own rule for
 * where the name comes from, then each producer id), then the size of all the data together
 * (`PAYLOAD_TOO_LARGE`); only then the store, all messages or none.
 */
import type { OutgoingMessage, SendResult } from "@mailroom/protocol";
import type { NodeConfig } from "../config.js";
import type { QueueAddress, QueueEngine } from "../engines/queue-engine.js";
import {
  checkDistinctBinary,
  checkHeaderLimits,
  checkSize,
  type EncodedContent,
  encodeContent,
  prepareMessage,
} from "./outgoing-messages.js";

/** The settings a send needs: the size bound, and the attempts of a message that names none. */
export type SendSettings = Pick<NodeConfig, "maxMessageBytes" | "maxAttempts">;

/** Checks and stores `messages`; `what` names their data in a `PAYLOAD_TOO_LARGE` message. */
export async function sendMessages(
  engine: QueueEngine,
  resolveAddress: () => QueueAddress,
  messages: OutgoingMessage[],
  settings: SendSettings,
  what: string,
): Promise<SendResult[]> {
  checkHeaderLimits(messages);
  checkDistinctBinary(messages);
  const contents = messages.map(encodeContent);
  const address = resolveAddress();
  const prepared = messages.map((message, index) =>
    prepareMessage(message, contents[index] as EncodedContent, settings.maxAttempts),
  );
  checkSize(
    contents.reduce((total, content) => total + content.bytes, 0),
    settings.maxMessageBytes,
    what,
  );
  const duplicates = await engine.send(address, prepared);
  return prepared.map((message, index) => ({ id: message.id, duplicate: duplicates[index] === true }));
}

/** One message, as `queue:send` and the single-message HTTP route take it. */
export async function sendMessage(
  engine: QueueEngine,
  resolveAddress: () => QueueAddress,
  message: OutgoingMessage,
  settings: SendSettings,
): Promise<SendResult> {
  const [result] = await sendMessages(engine, resolveAddress, [message], settings, "data");
  return result as SendResult;
}
