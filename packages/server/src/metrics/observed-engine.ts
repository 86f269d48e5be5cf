/**
 * A queue engine that counts what passes through it: messages accepted (duplicates not counted), leased,
 * acked and nacked, for both transports, since every send, receive and settlement goes through the
 * engine. Dead letters and expiries are told by the engine itself (`QueueOutcomes`), since they also
 * happen in its own sweeps.
 */
import type { QueueEngine } from "../engines/queue-engine.js";
import type { NodeMetrics } from "./node-metrics.js";

export function observedEngine(engine: QueueEngine, metrics: NodeMetrics): QueueEngine {
  const observed: QueueEngine = {
    async send(address, messages) {
      const duplicates = await engine.send(address, messages);
      metrics.sent(address, duplicates.filter((duplicate) => !duplicate).length);
      return duplicates;
    },
    async receive(address, max, visibilityMs, byteBudget, standingCredit) {
      const result = await engine.receive(address, max, visibilityMs, byteBudget, standingCredit);
      metrics.delivered(address, result.leases.length);
      return result;
    },
    async ack(address, receipts, mayWait) {
      const result = await engine.ack(address, receipts, mayWait);
      metrics.acked(address, result.acked);
      return result;
    },
    async nack(address, receipt, requeue, delayMs) {
      const result = await engine.nack(address, receipt, requeue, delayMs);
      metrics.nacked(address);
      return result;
    },
    extend: (address, receipt, visibilityMs) => engine.extend(address, receipt, visibilityMs),
    release: (address, receipts) => engine.release(address, receipts),
    stats: (address) => engine.stats(address),
    peek: (address, state, limit) => engine.peek(address, state, limit),
    queueNamespaces: () => engine.queueNamespaces(),
    purge: (address) => engine.purge(address),
    redrive: (address) => engine.redrive(address),
    listQueues: (namespace, consumers) => engine.listQueues(namespace, consumers),
    // Pushed leases count as leased when they reach the node (a push it returns is counted again when next leased).
    watch: (address, listener, pushed) =>
      engine.watch(
        address,
        listener,
        pushed &&
          ((delivery) => {
            metrics.delivered(address, delivery.leases.length);
            pushed(delivery);
          }),
      ),
    giveBack: (address, visibilityMs, receipts) => engine.giveBack(address, visibilityMs, receipts),
    withdraw: (address, visibilityMs) => engine.withdraw(address, visibilityMs),
    start: () => engine.start(),
    close: () => engine.close(),
  };
  return observed;
}
