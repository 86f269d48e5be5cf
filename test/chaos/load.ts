/**
 * Steady producer load for the chaos scenarios: stock socket.io-client sockets (reconnecting, WebSocket
 * only) send `queue:send` with unique ids at a fixed rate, spread over the sockets that are connected,
 * and record each send in the History: `ok`, an error answer (`failed`, with its code), or no answer
 * within the timeout or a connection closed first (`indeterminate`). It never retries: a retry is a new
 * attempt with the same id, which would blur what the node answered. `stop()` waits for every answer.
 */
import { io, type Socket } from "socket.io-client";
import { onCleanup } from "../helpers/cleanup.js";
import type { History } from "./checker.js";

/** How often the producer wakes to send what the rate owes. */
const TICK_MS = 10;
/** A send with no answer after this long is indeterminate: above the node's 2 s Redis command timeout. */
const SEND_TIMEOUT_MS = 5000;

export interface LoadOptions {
  /** One producer socket per URL (a node, or a balancer). */
  urls: readonly string[];
  queue: string;
  messagesPerSecond: number;
  history: History;
  /** Prefix of the ids, unique per run. @default "m" */
  idPrefix?: string;
  /** Extra fields of each send, e.g. `{ maxAttempts: 3 }`. @default {} */
  sendOptions?: Record<string, unknown>;
  /**
   * The group of the message with this sequence number (docs/protocol.md §11), or none. A group's sends
   * all go through one producer socket, in order, so their send order is their acceptance order; a send
   * whose socket is away is skipped. @default no groups
   */
  groupOf?: (sequence: number) => string | undefined;
}

export interface Load {
  /** Sends invoked so far. */
  sent(): number;
  /** Answer times of every answered send (ms), for latency figures. */
  answerTimes(): number[];
  /** Stops sending and resolves once every send has its outcome. */
  stop(): Promise<void>;
}

/** The producer socket a group's sends all go through. */
function pinnedSocket(group: string, count: number): number {
  let hash = 0;
  for (const char of group) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) % 1_000_003;
  return hash % count;
}

export function producerSocket(url: string): Socket {
  const socket = io(url, {
    forceNew: true,
    transports: ["websocket"],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  onCleanup(() => {
    socket.disconnect();
  });
  return socket;
}

export function startLoad(options: LoadOptions): Load {
  const { queue, history, messagesPerSecond, idPrefix = "m", sendOptions = {}, groupOf } = options;
  const sockets = options.urls.map(producerSocket);
  const pending = new Set<Promise<void>>();
  const answerTimes: number[] = [];
  let sequence = 0;
  /** Sends the rate owed while no socket was connected: skipped, not sent in a burst later. */
  let skipped = 0;
  let turn = 0;
  const startedAt = performance.now();

  const sendOne = (socket: Socket, group?: string) => {
    const id = `${idPrefix}-${sequence}`;
    const invokedAt = performance.now();
    history.invoke(id, Date.now(), group);
    const fields = group === undefined ? sendOptions : { ...sendOptions, group };
    const sending = socket
      .timeout(SEND_TIMEOUT_MS)
      .emitWithAck("queue:send", { queue, id, data: { sequence }, ...fields })
      .then(
        (reply: { ok: boolean; error?: { code: string } }) => {
          answerTimes.push(performance.now() - invokedAt);
          if (reply.ok) history.ok(id);
          else history.failed(id, reply.error?.code ?? "?");
        },
        () => history.indeterminate(id),
      )
      .finally(() => pending.delete(sending));
    pending.add(sending);
  };

  const timer = setInterval(() => {
    const owed = Math.floor(((performance.now() - startedAt) / 1000) * messagesPerSecond) - sequence - skipped;
    const connected = sockets.filter((socket) => socket.connected);
    if (connected.length === 0) {
      skipped += Math.max(owed, 0);
      return;
    }
    for (let index = 0; index < owed; index += 1) {
      sequence += 1;
      const group = groupOf?.(sequence);
      if (group === undefined) {
        turn = (turn + 1) % connected.length;
        sendOne(connected[turn] as Socket);
        continue;
      }
      const pinned = sockets[pinnedSocket(group, sockets.length)] as Socket;
      if (pinned.connected) {
        sendOne(pinned, group);
      } else {
        // Not sent: the number goes to the next send.
        sequence -= 1;
        skipped += 1;
      }
    }
  }, TICK_MS);

  return {
    sent: () => sequence,
    answerTimes: () => answerTimes,
    async stop() {
      clearInterval(timer);
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
