/** `GET /v1/cluster` (docs/protocol.md §6): the live nodes as the registry sees them, and this node's store. */

import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { HttpCluster, HttpError } from "@mailroom/protocol";
import type { FastifyInstance } from "fastify";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";

export interface ClusterRouteOptions {
  registry: ClusterRegistry;
  /** The store of this node ("redis" or "memory"), reported beside the nodes when given. */
  nodeEngine?: string | undefined;
}

export async function clusterRoutes(app: FastifyInstance, { registry, nodeEngine }: ClusterRouteOptions) {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/v1/cluster",
    {
      config: { right: "token" },
      schema: {
        tags: ["cluster"],
        summary: "The live nodes of the cluster",
        response: { 200: HttpCluster, "4xx": HttpError, "5xx": HttpError },
      },
    },
    async () => {
      const nodes = await registry.nodes();
      return nodeEngine === undefined ? { nodes } : { nodes, engine: nodeEngine };
    },
  );
}
