/**
 * A node's drain (docs/protocol.md §9, SIGTERM): once it begins, `/readyz` answers 503 so load balancers take
 * the node out, new Socket.IO handshakes are refused (clients retry, through the balancer, elsewhere),
 * and new HTTP API requests are answered 503 `UNAVAILABLE` ("retry") while those already in flight finish.
 * Health, readiness and metrics keep answering. The steps that follow (deliveries stop, leases return to
 * their queues, the transports close) are `MailroomNode.close`'s, in node.ts.
 */
import type { IncomingMessage } from "node:http";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyInstance } from "fastify";
import type { Readiness } from "./engines/node-store.js";

export const DRAINING_MESSAGE = "the node is draining: retry on another node";

export class Draining {
  private started = false;

  get active(): boolean {
    return this.started;
  }

  begin(): void {
    this.started = true;
  }

  /** The store's readiness, not ready once the drain began. */
  readiness(store: Readiness): Readiness {
    const readiness: Readiness = { problem: async () => (this.started ? DRAINING_MESSAGE : store.problem()) };
    if (store.notices) readiness.notices = () => store.notices?.() ?? {};
    return readiness;
  }

  /** Socket.IO's `allowRequest` (asked for handshakes only): refuses new connections while draining. */
  readonly allowRequest = (
    _request: IncomingMessage,
    callback: (error: string | null | undefined, success: boolean) => void,
  ): void => {
    callback(this.started ? DRAINING_MESSAGE : null, !this.started);
  };

  /** Refuses new requests to API routes (those that declare a right) while draining. */
  install(app: FastifyInstance): void {
    app.addHook("onRequest", async (request, reply) => {
      if (!this.started || request.routeOptions.config?.right === undefined) return;
      reply.header("connection", "close");
      throw new MailroomError("UNAVAILABLE", DRAINING_MESSAGE);
    });
  }
}
