/**
 * `GET /metrics`: the node's Prometheus metrics in the text exposition format. Open like `/healthz`
 * (it declares no right), exempt from the HTTP rate limit, and answered while draining.
 */
import type { FastifyInstance } from "fastify";
import type { NodeMetrics } from "../../metrics/node-metrics.js";

export async function metricsRoute(app: FastifyInstance, metrics: NodeMetrics): Promise<void> {
  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await metrics.scrape();
    return reply.type(contentType).send(body);
  });
}
