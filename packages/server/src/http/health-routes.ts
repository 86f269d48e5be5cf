/**
 * Liveness and readiness (PROTOCOL.md §6): `/healthz` answers 200 while the process serves;
 * `/readyz` answers 200 only while the store works end to end, else 503 with the reason.
 */
import type { FastifyInstance } from "fastify";

export interface Readiness {
  /** Undefined when ready; otherwise why not. */
  problem(): Promise<string | undefined>;
}

export async function healthRoutes(app: FastifyInstance, readiness: Readiness): Promise<void> {
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (_request, reply) => {
    const problem = await readiness.problem();
    if (problem === undefined) return { ok: true };
    return reply.code(503).send({ ok: false, error: { code: "UNAVAILABLE", message: problem } });
  });
}
