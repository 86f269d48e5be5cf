/**
 * The queue commands of PROTOCOL.md §3: send, sendBatch, consume, cancel, ack, nack, extend, stats,
 * purge and redrive. Checks shape, then names, then sizes; the engine stores, the dispatcher delivers.
 */
import {
  QUEUE_DEFAULTS,
  QueueAckArgs,
  QueueCancelArgs,
  QueueConsumeArgs,
  QueueExtendArgs,
  QueueNackArgs,
  QueueNameArgs,
  QueueSendArgs,
  QueueSendBatchArgs,
} from "@mailroom/protocol";
import type { Socket } from "socket.io";
import type { ClusterRegistry } from "../cluster/registry.js";
import { type CommandTable, command } from "../sockets/commands.js";
import type { ConsumerDispatcher } from "./consumer-dispatcher.js";
import { checkHeaderLimits, checkSize, prepareMessage, queueAddress } from "./outgoing-messages.js";
import type { QueueAddress, QueueEngine } from "./queue-engine.js";
import { ackAndSettle, nackAndSettle } from "./settlement.js";

export interface QueueCommandDeps {
  engine: QueueEngine;
  dispatcher: ConsumerDispatcher;
  registry: ClusterRegistry;
  maxMessageBytes: number;
  defaultMaxAttempts: number;
  defaultVisibilityMs: number;
}

export function queueCommands(deps: QueueCommandDeps): CommandTable {
  const { engine, dispatcher, registry } = deps;
  return {
    "queue:send": command(QueueSendArgs, "send", async ({ queue, ...message }, socket) => {
      checkHeaderLimits([message]);
      const address = addressOf(socket, queue);
      const prepared = prepareMessage(message, deps.defaultMaxAttempts);
      checkSize(prepared.bytes, deps.maxMessageBytes, "data");
      const [duplicate] = await engine.send(address, [prepared.message]);
      return { id: prepared.message.id, duplicate: duplicate === true };
    }),

    "queue:sendBatch": command(QueueSendBatchArgs, "send", async ({ queue, messages }, socket) => {
      checkHeaderLimits(messages);
      const address = addressOf(socket, queue);
      const prepared = messages.map((message) => prepareMessage(message, deps.defaultMaxAttempts));
      checkSize(
        prepared.reduce((total, entry) => total + entry.bytes, 0),
        deps.maxMessageBytes,
        "the batch's data",
      );
      const duplicates = await engine.send(
        address,
        prepared.map((entry) => entry.message),
      );
      return {
        results: prepared.map((entry, index) => ({ id: entry.message.id, duplicate: duplicates[index] === true })),
      };
    }),

    "queue:consume": command(QueueConsumeArgs, "consume", async ({ queue, ...options }, socket) => {
      const address = addressOf(socket, queue);
      const prefetch = options.prefetch ?? QUEUE_DEFAULTS.prefetch;
      const visibilityMs = options.visibilityMs ?? deps.defaultVisibilityMs;
      const consumer = dispatcher.consume(socket, address, prefetch, visibilityMs);
      return { consumer, prefetch, visibilityMs };
    }),

    "queue:cancel": command(QueueCancelArgs, "consume", async ({ consumer }, socket) => {
      dispatcher.cancel(socket, consumer);
      return {};
    }),

    "queue:ack": command(QueueAckArgs, "consume", async (args, socket) => {
      const address = addressOf(socket, args.queue);
      const receipts = "receipts" in args ? args.receipts : [args.receipt];
      return ackAndSettle(engine, dispatcher, address, receipts);
    }),

    "queue:nack": command(QueueNackArgs, "consume", async ({ queue, receipt, requeue, delayMs }, socket) => {
      const address = addressOf(socket, queue);
      return nackAndSettle(engine, dispatcher, address, receipt, { requeue, delayMs });
    }),

    "queue:extend": command(QueueExtendArgs, "consume", async ({ queue, receipt, visibilityMs }, socket) => {
      await engine.extend(addressOf(socket, queue), receipt, visibilityMs);
      dispatcher.extended(receipt, visibilityMs);
      return {};
    }),

    "queue:stats": command(QueueNameArgs, "any", async ({ queue }, socket) => {
      const address = addressOf(socket, queue);
      const [stats, consumers] = await Promise.all([
        engine.stats(address),
        registry.queueConsumers(address.namespace, address.queue),
      ]);
      const { ready, inflight, delayed, deadLettered } = stats;
      return { ready, inflight, delayed, deadLettered, consumers };
    }),

    "queue:purge": command(QueueNameArgs, "admin", async ({ queue }, socket) => ({
      purged: await engine.purge(addressOf(socket, queue)),
    })),

    "queue:redrive": command(QueueNameArgs, "admin", async ({ queue }, socket) => ({
      moved: await engine.redrive(addressOf(socket, queue)),
    })),
  };
}

function addressOf(socket: Socket, queue: string): QueueAddress {
  return queueAddress(socket.nsp.name, queue);
}
