/**
 * Consumers for the chaos scenarios, all on the `@mailroom/client` SDK (which acks when a handler
 * resolves, nacks when it throws, extends leases meanwhile, and re-registers after a reconnect), each
 * recording what it gets in the History:
 * - `startConsumer`: in this process, with a handler that takes `handleMs`, fails on demand, and counts
 *   how many handlers run at once (never more than the unacked deliveries the node let it hold).
 * - `spawnConsumer`: in a child process (consumer-worker.mjs), so a scenario can SIGKILL it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type MailroomClient, type ReceivedMessage } from "@mailroom/client";
import { onCleanup } from "../helpers/cleanup.js";
import { within } from "../helpers/wait.js";
import type { History } from "./checker.js";

const WORKER = fileURLToPath(new URL("./consumer-worker.mjs", import.meta.url));

export interface ConsumerOptions {
  /** Recorded as the consumer of each delivery. */
  name: string;
  url: string;
  queue: string;
  history: History;
  /** @default 10 */
  prefetch?: number;
  /** @default 30000 */
  visibilityMs?: number;
  /** How long each handler takes. @default 0 */
  handleMs?: number;
}

export interface InProcessConsumerOptions extends ConsumerOptions {
  /** Handlers of the messages it matches throw, so the SDK nacks them. @default none */
  failWhen?: (message: ReceivedMessage) => boolean;
}

export interface InProcessConsumer {
  readonly client: MailroomClient;
  /** Deliveries received. */
  received(): number;
  /** The most handlers that ran at once. */
  mostAtOnce(): number;
  close(): void;
}

export async function startConsumer(options: InProcessConsumerOptions): Promise<InProcessConsumer> {
  const { name, url, queue, history, prefetch = 10, visibilityMs = 30_000, handleMs = 0, failWhen } = options;
  const client = connect(url, { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500 });
  onCleanup(() => client.close());
  let received = 0;
  let running = 0;
  let mostAtOnce = 0;
  client.on("consumeError", (error, failure) => {
    if (failure.operation === "ack" && failure.message) {
      history.ackFailed(failure.message.receipt, error.code === "NOT_FOUND" ? "stale" : "failed");
    }
  });
  await client.ready();
  await client.queue(queue).consume(
    async (message) => {
      received += 1;
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      history.delivered({ ...deliveryOf(message), queue: message.queue, consumer: name, at: Date.now() });
      try {
        if (handleMs > 0) await new Promise((resolve) => setTimeout(resolve, handleMs));
        if (failWhen?.(message)) throw new Error(`${name} fails ${message.id} on purpose`);
        history.handled(message.receipt);
      } finally {
        running -= 1;
      }
    },
    { prefetch, visibilityMs },
  );
  return {
    client,
    received: () => received,
    mostAtOnce: () => mostAtOnce,
    close: () => client.close(),
  };
}

export interface WorkerOptions extends ConsumerOptions {
  /** Handlers never finish: the process holds its deliveries until it dies. @default false */
  hold?: boolean;
}

export interface ConsumerProcess {
  readonly name: string;
  /** Deliveries received. */
  received(): number;
  /** Times the worker's socket connected (1 + reconnects). */
  connects(): number;
  /** SIGKILL: the process dies at once, acks unsent. */
  kill(): Promise<void>;
}

export async function spawnConsumer(options: WorkerOptions): Promise<ConsumerProcess> {
  const { name, history, queue } = options;
  const settings = {
    url: options.url,
    queue,
    prefetch: options.prefetch ?? 10,
    visibilityMs: options.visibilityMs ?? 30_000,
    handleMs: options.handleMs ?? 0,
    hold: options.hold ?? false,
  };
  const child: ChildProcess = fork(WORKER, [JSON.stringify(settings)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let received = 0;
  let connects = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`consumer ${name} exited with ${code} before it was ready`)));
    child.on("message", (message: WorkerMessage) => {
      if (message.type === "ready") resolve();
      else if (message.type === "connected") connects += 1;
      else if (message.type === "delivered") {
        received += 1;
        history.delivered({ ...message, queue, consumer: name });
      } else if (message.type === "handled") history.handled(message.receipt);
      else if (message.type === "ackFailed") history.ackFailed(message.receipt, message.stale ? "stale" : "failed");
    });
  });
  ready.catch(() => {});
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  onCleanup(kill);
  await within(ready, 15_000, `consumer ${name} to be ready`);
  return { name, received: () => received, connects: () => connects, kill };
}

type WorkerMessage =
  | { type: "ready" }
  | { type: "connected" }
  | { type: "delivered"; id: string; receipt: string; attempt: number; at: number }
  | { type: "handled"; receipt: string }
  | { type: "ackFailed"; receipt: string; stale: boolean };

function deliveryOf(message: ReceivedMessage): { id: string; receipt: string; attempt: number; reason?: string } {
  const delivery = { id: message.id, receipt: message.receipt, attempt: message.attempt };
  return message.reason === undefined ? delivery : { ...delivery, reason: message.reason };
}
