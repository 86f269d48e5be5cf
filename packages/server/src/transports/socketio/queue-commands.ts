/**
 * The queue commands of docs/protocol.md §3: send, sendBatch, consume, cancel, ack, nack, extend, stats,
 * purge and redrive. Checks shape, then names, then sizes; the engine stores, the dispatcher delivers.
 * A connection's live consumers, its namespaces together, are counted (sockets/connection-limits.ts):
 * a consume past the limit is `LIMIT_EXCEEDED` and registers nothing; a cancel, or the socket's
 * disconnect, gives its consumers back.
 */

import { QUEUE_DEFAULTS } from "@mailroom/protocol";
import type { NodeConfig } from "../../config.js";
import type { ConsumerDispatcher } from "../../delivery/consumer-dispatcher.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { QueueAddress, QueueEngine } from "../../engines/queue-engine.js";
import { queueAddress } from "../../operations/outgoing-messages.js";
import { queueStats } from "../../operations/queue-stats.js";
import { sendMessage, sendMessages } from "../../operations/sending.js";
import { ackAndSettle, nackAndSettle } from "../../operations/settlement.js";
import type { MailroomSocket } from "../../socket-types.js";
import type { CommandTable } from "./commands.js";
import type { ConnectionLimits } from "./connection-limits.js";

export interface QueueCommandDeps {
  engine: QueueEngine;
  dispatcher: ConsumerDispatcher;
  registry: ClusterRegistry;
  /** The size bound and the defaults of a send and a lease. */
  settings: Pick<NodeConfig, "maxMessageBytes" | "maxAttempts" | "visibilityMs">;
  limits: Pick<ConnectionLimits, "claim" | "free">;
}

export function queueCommands(deps: QueueCommandDeps): CommandTable {
  const { engine, dispatcher, registry, limits, settings } = deps;
  return {
    "queue:send": {
      requirement: "send",
      run: async ({ queue, ...message }, socket) => {
        return sendMessage(engine, () => addressOf(socket, queue), message, settings);
      },
    },

    "queue:sendBatch": {
      requirement: "send",
      run: async ({ queue, messages }, socket) => ({
        results: await sendMessages(engine, () => addressOf(socket, queue), messages, settings, "the batch's data"),
      }),
    },

    "queue:consume": {
      requirement: "consume",
      run: async ({ queue, ...options }, socket) => {
        const address = addressOf(socket, queue);
        const prefetch = options.prefetch ?? QUEUE_DEFAULTS.prefetch;
        const visibilityMs = options.visibilityMs ?? settings.visibilityMs;
        limits.claim(socket, "consumers");
        try {
          const consumer = dispatcher.consume(socket, address, prefetch, visibilityMs, options.batch === true);
          return { consumer, prefetch, visibilityMs };
        } catch (error) {
          limits.free(socket, "consumers");
          throw error;
        }
      },
    },

    "queue:cancel": {
      requirement: "consume",
      run: async ({ consumer }, socket) => {
        dispatcher.cancel(socket, consumer);
        limits.free(socket, "consumers");
        return {};
      },
    },

    "queue:ack": {
      requirement: "consume",
      run: async (args, socket) => {
        const address = addressOf(socket, args.queue);
        const receipts = "receipts" in args ? args.receipts : [args.receipt];
        return ackAndSettle(engine, dispatcher, address, receipts);
      },
    },

    "queue:nack": {
      requirement: "consume",
      run: async ({ queue, receipt, requeue, delayMs }, socket) => {
        const address = addressOf(socket, queue);
        return nackAndSettle(engine, dispatcher, address, receipt, { requeue, delayMs });
      },
    },

    "queue:extend": {
      requirement: "consume",
      run: async ({ queue, receipt, visibilityMs }, socket) => {
        await engine.extend(addressOf(socket, queue), receipt, visibilityMs);
        dispatcher.extended(receipt, visibilityMs);
        return {};
      },
    },

    "queue:stats": {
      requirement: "any",
      run: async ({ queue }, socket) => {
        return queueStats(engine, registry, addressOf(socket, queue));
      },
    },

    "queue:purge": {
      requirement: "admin",
      run: async ({ queue }, socket) => ({
        purged: await engine.purge(addressOf(socket, queue)),
      }),
    },

    "queue:redrive": {
      requirement: "admin",
      run: async ({ queue }, socket) => ({
        moved: await engine.redrive(addressOf(socket, queue)),
      }),
    },
  };
}

function addressOf(socket: MailroomSocket, queue: string): QueueAddress {
  return queueAddress(socket.nsp.name, queue);
}
