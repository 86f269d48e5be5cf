/**
 * Liveness and readiness (docs/protocol.md §6): `/healthz` answers 200 while the process serves;
 * `/readyz` answers 200 only while the store works end to end, else 503 with the reason. Either body
 * also carries what the store wants an operator to see whatever the status (e.g. `dataLoss`, when the
 * node found that Redis had lost its data).
 */
import type { FastifyInstance } from "fastify";

import type { Readiness } from "../../engines/node-store.js";

export async function healthRoutes(app: FastifyInstance, readiness: Readiness): Promise<void> {
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (_request, reply) => {
    const problem = await readiness.problem();
    const notices = readiness.notices?.() ?? {};
    if (problem === undefined) return { ok: true, ...notices };
    return reply.code(503).send({ ok: false, error: { code: "UNAVAILABLE", message: problem }, ...notices });
  });
}
